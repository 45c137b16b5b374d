"""What the service answers while a part it depends on is down.

- The database unreachable: `service_unavailable_response()`, a 503 JSON body with
  `Retry-After` (the middleware in `campaign/middleware.py` and the DRF exception handler use
  it), never a traceback.
- `stale_if_error`: wraps a public read view (the counter, the widget config, the campaign
  API and page, the landing page) so that while the database is down it keeps answering 200 with the last body it served
  for the same URL. The last body is kept in this process and, when it changes, in the shared
  cache (Redis), so a web worker that never served the URL before has it too. When neither has
  it, the view answers the 503.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from hashlib import sha256
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from campaign.exceptions import error_body

logger = logging.getLogger(__name__)

# What the database driver raises when the server is down, restarting or unreachable (Django
# wraps psycopg's errors in these). IntegrityError and friends are bugs or rule violations.
DATABASE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

# The headers a stale answer carries over from the fresh one.
_KEPT_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "ETag",
    "Last-Modified",
    "Content-Language",
    "Content-Security-Policy",
    "Vary",
)
_LOCAL_MAX_ENTRIES = 1000
StaleEntry = tuple[bytes, dict[str, str]]
_local: OrderedDict[str, StaleEntry] = OrderedDict()

View = TypeVar("View", bound=Callable[..., Any])


def service_unavailable_response(part: str = "database") -> JsonResponse:
    """The one 503: `{"code": "service_unavailable", ...}` with Retry-After."""
    response = JsonResponse(
        {
            **error_body("service_unavailable", "The service is briefly unavailable; try again shortly."),
            "unavailable": part,
        },
        status=503,
    )
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Already logged in one line by the caller: Django's request log would repeat it.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def database_unavailable_log(request: HttpRequest, exc: BaseException) -> None:
    logger.warning(
        "database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.path_info
    )


def _key(request: HttpRequest) -> str:
    # The path and the language only: any other query string must not grow the store (a
    # request with a made-up parameter is the same answer).
    lang = request.GET.get("lang", "")
    raw = f"{request.path_info}?lang={lang if lang in ('de', 'en') else ''}"
    return "stale:" + sha256(raw.encode()).hexdigest()[:40]


def _remember(key: str, response: HttpResponse) -> None:
    entry: StaleEntry = (
        bytes(response.content),
        {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)},
    )
    if _local.get(key) == entry:
        _local.move_to_end(key)
        return
    _local[key] = entry
    if len(_local) > _LOCAL_MAX_ENTRIES:
        _local.popitem(last=False)
    with contextlib.suppress(Exception):  # Redis down: this process still has it
        cache.set(key, entry, timeout=settings.STALE_IF_ERROR_SECONDS)


def _recall(key: str) -> StaleEntry | None:
    entry = _local.get(key)
    if entry is None:
        with contextlib.suppress(Exception):
            found = cache.get(key)
            if isinstance(found, tuple) and len(found) == 2:
                entry = (bytes(found[0]), dict(found[1]))
    return entry


def stale_response(request: HttpRequest, entry: StaleEntry) -> HttpResponse:
    content, headers = entry
    etag = headers.get("ETag")
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH", "")
    if etag and etag in {tag.strip() for tag in if_none_match.split(",")}:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(content, status=200)
    for name, value in headers.items():
        response[name] = value
    response["X-Served-Stale"] = "database-unavailable"
    return response


def stale_if_error(view: View) -> View:
    """Serves the last 200 of a GET view while the database is unavailable."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        key = _key(request)
        try:
            response = view(request, *args, **kwargs)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            database_unavailable_log(request, exc)
            entry = _recall(key)
            if entry is None:
                return service_unavailable_response()
            return stale_response(request, entry)
        if response.status_code == 200 and not getattr(response, "streaming", False):
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                response = render()
            _remember(key, response)
        return response

    return wrapper  # type: ignore[return-value]
