"""gunicorn's settings beyond its command line (gunicorn reads this file from the working
directory): with LOG_FORMAT=json its own log lines are JSON objects too, like the app's."""

import os

from campaign.logs import logging_config

if os.environ.get("LOG_FORMAT") == "json":
    _level = os.environ.get("LOG_LEVEL") or "INFO"
    logconfig_dict = logging_config(level=_level, log_format="json")
    # The access log (the compose file's format: peer address, method, path without the query,
    # status) and gunicorn's own lines go through the same handler and filters as the app's.
    # gunicorn does not let its loggers propagate, so they name the handler themselves.
    _gunicorn_logger = {"handlers": ["console"], "propagate": False}
    logconfig_dict["loggers"].update(
        {
            "gunicorn.error": {**_gunicorn_logger, "level": _level},
            "gunicorn.access": {**_gunicorn_logger, "level": "INFO"},
        }
    )


def on_starting(server: object) -> None:
    """Metrics in multiprocess mode: start from an empty directory (the last run's files would
    otherwise be summed in)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server: object, worker: object) -> None:
    """A worker gone: its live gauges no longer count (its counters stay in the sums)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
