"""Celery's side of the metrics: failures per task (from Celery's signals, in the worker), the
last run of each beat task (django-celery-beat's table, read at scrape time), and the files of
a finished prefork child marked dead (multiprocess mode)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import Metric

from campaign.metrics import counter, gauge

logger = logging.getLogger(__name__)

task_failures = counter("task_failures", "Celery tasks that ended in an exception.", ["task"])
task_retries = counter("task_retries", "Celery tasks sent back for a retry.", ["task"])


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")[:200]


def task_failure_count(sender: Any = None, **kwargs: Any) -> None:
    task_failures.labels(_task_name(sender)).inc()


def task_retry_count(sender: Any = None, **kwargs: Any) -> None:
    task_retries.labels(_task_name(sender)).inc()


def worker_process_dead(**kwargs: Any) -> None:
    """A prefork child exits: its live gauges stop counting (counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


def worker_metrics_serve(**kwargs: Any) -> None:
    """In the worker's main process, with METRICS_WORKER_PORT set: its counters (mails, task
    failures; summed over the prefork children through PROMETHEUS_MULTIPROC_DIR, a directory
    of its own) on http://<worker>:<port>/ for Prometheus, on the internal network only. The
    database gauges are on the web's /metrics alone, so nothing is counted twice."""
    from django.conf import settings

    port = settings.METRICS_WORKER_PORT
    if not port:
        return
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
    logger.info("worker metrics on port %s", port)


def celery_signals_connect() -> None:
    from celery.signals import task_failure, task_retry, worker_process_shutdown, worker_ready

    worker_ready.connect(worker_metrics_serve, dispatch_uid="campaign.metrics.serve", weak=False)

    task_failure.connect(task_failure_count, dispatch_uid="campaign.metrics.task_failure", weak=False)
    task_retry.connect(task_retry_count, dispatch_uid="campaign.metrics.task_retry", weak=False)
    worker_process_shutdown.connect(worker_process_dead, dispatch_uid="campaign.metrics.dead", weak=False)


def beat_gauges() -> Iterator[Metric]:
    from django_celery_beat.models import PeriodicTask

    last_run = gauge(
        "beat_last_run_timestamp_seconds",
        "When beat last sent each periodic task (Unix time; 0 = never).",
        ["task"],
    )
    for name, task, at in PeriodicTask.objects.filter(enabled=True).values_list(
        "name", "task", "last_run_at"
    ):
        if name == "celery.backend_cleanup":
            continue
        last_run.add_metric([name or task], at.timestamp() if at else 0.0)
    yield last_run
