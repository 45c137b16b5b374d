"""Logging: plain text for development, one JSON object a line in production (`LOG_FORMAT=json`,
python-json-logger), each record with the request id (taken from or set as `X-Request-ID`) or
the Celery task id, and never personal data.

Log messages carry ids, not people (the house rule); as a second line of defence every record
goes through `PersonalDataFilter`, which masks anything shaped like an e-mail or IP address in
the message and in a logged traceback. Names and postcodes have no shape a filter could know,
so the loggers that would write request data at DEBUG stay at INFO whatever LOG_LEVEL says:
`django.db.backends` (every SQL statement with its parameters) and `stripe` (the bodies of its
requests and answers). tests/integration/test_no_personal_data_in_logs.py runs every flow at
DEBUG and checks the output of web, worker and beat (docs/privacy.md#logs).
This module imports no Django settings: `campaign/settings.py` builds LOGGING from it, and
gunicorn's config (`gunicorn.conf.py`) uses it before Django is loaded.
"""

from __future__ import annotations

import contextvars
import ipaddress
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
# Anything shaped like an IPv6 address, also compressed (`2001:db8::17`, `::1`); a candidate is
# masked only when it parses as one (so `18:43:40` stays).
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")

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


def _ipv6_mask(match: re.Match[str]) -> str:
    try:
        ipaddress.IPv6Address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[ip]"


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _IPV4.sub("[ip]", text)
    return _IPV6.sub(_ipv6_mask, text)


class PersonalDataFilter(logging.Filter):
    """Masks e-mail and IP addresses in the message and the traceback, whatever logged it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave it to the handler
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_info:
            # An exception's text may quote the data (a unique violation names the key's value):
            # the handler prints this masked text instead of formatting the exception itself.
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
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
            # Through our handler only: Django's default console handler (with DEBUG on) would
            # print the same lines again, unfiltered, and its mail_admins handler (DEBUG off)
            # would mail a 500's request, body included.
            "django": {"handlers": [], "level": "INFO"},
            # Every SQL statement with its parameters (addresses, names, postcodes): never,
            # even at LOG_LEVEL=DEBUG.
            "django.db.backends": {"level": "INFO"},
            # The runserver's request lines (the local run) with the full path; ours carry no
            # personal data, but keep the noise down.
            "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            # At DEBUG the SDK logs each request's form data and each answer's body (the donor's
            # name and address); at INFO only method, path and status.
            "stripe": {"level": "INFO"},
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
