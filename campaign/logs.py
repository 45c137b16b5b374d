"""Logging: plain text for development, one JSON object a line in production (`LOG_FORMAT=json`,
python-json-logger), each record with the request id (taken from or set as `X-Request-ID`) or
the Celery task id, and never personal data.

Log messages carry ids, not people (the house rule); as a second line of defence every record
goes through `PersonalDataFilter`, which masks anything shaped like an e-mail or IP address.
This module imports no Django settings: `campaign/settings.py` builds LOGGING from it, and
gunicorn's config (`gunicorn.conf.py`) uses it before Django is loaded.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
from collections.abc import Callable
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy or client sent is kept when it is short and plain (it ends up in every line).
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}\b")

JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _current_task_id() -> str:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return ""
    task = current_task
    request = getattr(task, "request", None) if task else None
    return str(getattr(request, "id", "") or "")


class ContextFilter(logging.Filter):
    """Adds `request_id` (the web request being served) and `task_id` (the Celery task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        if not getattr(record, "task_id", ""):
            record.task_id = _current_task_id()
        return True


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _IPV4.sub("[ip]", text)
    return _IPV6.sub("[ip]", text)


class PersonalDataFilter(logging.Filter):
    """Masks e-mail and IP addresses in the message, whatever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave it to the handler
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """The LOGGING dict: `log_format` is `plain` or `json`."""
    if log_format not in {"plain", "json"}:
        raise ValueError(f"LOG_FORMAT must be plain or json, got {log_format!r}")
    formatters: dict[str, Any] = {
        "plain": {"format": PLAIN_FORMAT},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            # Django hands the request object to its log records; it must not be serialised.
            "reserved_attrs": [*RESERVED_ATTRS, "request", "server_time"],
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "campaign.logs.ContextFilter"},
            "personal_data": {"()": "campaign.logs.PersonalDataFilter"},
        },
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "personal_data"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django logs request lines with the full path; ours carry no personal data, but keep
            # the noise down.
            "django.server": {"level": "WARNING"},
            # Python warnings (Django routes them to logging) in the same format.
            "py.warnings": {"handlers": ["console"], "propagate": False},
        },
    }


def request_id_from(header: str | None) -> str:
    if header and _REQUEST_ID_OK.match(header):
        return header
    # 32 hex digits like uuid4().hex, from the process's PRNG instead of an os.urandom system
    # call on every request (the id is a log correlation key, not a secret; Python reseeds
    # `random` in each forked worker).
    return f"{random.getrandbits(128):032x}"  # noqa: S311


class RequestIdMiddleware:
    """Takes the request id from `X-Request-ID` (a proxy's) or makes one, puts it on every log
    line of the request, and echoes it in the response."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        # Not reset when the view returns: Django logs 4xx and 5xx answers after the middleware;
        # `request_id_clear` (on request_finished) empties it.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def request_id_clear(**kwargs: Any) -> None:
    request_id_var.set("")
