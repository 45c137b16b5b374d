"""Operator switches set in the environment: read-only mode for maintenance (every write answers
503, reads work) and donations stopped (a new gift answers 503; gifts already started, their
webhooks and monthly charges go on). Both show on /healthz and /readyz. docs/operations.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import translation

from campaign.exceptions import error_body

MESSAGES = {
    "read_only": {
        "de": "Wegen Wartungsarbeiten sind Änderungen gerade nicht möglich. Bitte versuchen Sie es in "
        "wenigen Minuten noch einmal.",
        "en": "We are doing maintenance: changes are paused for a few minutes. Please try again shortly.",
    },
    "signing_paused": {
        "de": "Das Unterschreiben ist bei dieser Petition gerade pausiert. Bitte versuchen Sie es später "
        "noch einmal.",
        "en": "Signing this petition is paused at the moment. Please try again later.",
    },
    "donations_paused": {
        "de": "Spenden sind gerade nicht möglich. Bitte versuchen Sie es später noch einmal.",
        "en": "Donations are paused at the moment. Please try again later.",
    },
}

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def switch_message(code: str) -> str:
    """The supporter's message in the request's language (German unless English)."""
    language = (translation.get_language() or "de").lower()
    return MESSAGES[code]["en" if language.startswith("en") else "de"]


# name -> a function listing what an app paused (petitions: the slugs), for /readyz.
_paused_sources: dict[str, Callable[[], list[str]]] = {}


def paused_source_register(name: str, source: Callable[[], list[str]]) -> None:
    _paused_sources[name] = source


def switches_state() -> dict[str, bool]:
    return {"read_only": settings.READ_ONLY_MODE, "donations_paused": settings.DONATIONS_PAUSED}


def paused_state() -> dict[str, list[str]]:
    """What the apps paused (a database read: /readyz only, after its database check)."""
    return {name: source() for name, source in sorted(_paused_sources.items())}


def read_only_response() -> JsonResponse:
    response = JsonResponse(error_body("read_only", switch_message("read_only")), status=503)
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class ReadOnlyModeMiddleware:
    """With READ_ONLY_MODE on, every request that could write (POST, PUT, PATCH, DELETE)
    answers 503 `{"code": "read_only", "message": ...}` with Retry-After; reads go on."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if settings.READ_ONLY_MODE and request.method not in _SAFE_METHODS:
            return read_only_response()
        return self.get_response(request)
