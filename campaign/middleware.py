"""Middleware that stays out of the way of the public API.

The public endpoints under /api/v1/ (signing, the live count, donations, ...) use no cookies:
no session, no logged-in user, no messages. The session, authentication and messages middleware
cost time on every request there, and the signing and count endpoints are the hottest paths of
a campaign. (CSRF stays Django's own: its checks are cheap for these views, which are exempt or
read-only, and `check --deploy` looks for it by name.) These subclasses pass
those requests straight through and behave exactly like Django's everywhere else: the admin,
the pages opened from mails, and the staff API under /api/v1/staff/ (token or session auth).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest

PUBLIC_API_PREFIX = "/api/v1/"
STAFF_API_PREFIX = "/api/v1/staff/"


def is_public_api_path(path: str) -> bool:
    return path.startswith(PUBLIC_API_PREFIX) and not path.startswith(STAFF_API_PREFIX)


class _SkippedOnPublicAPI:
    get_response: Callable[[HttpRequest], Any]

    def __call__(self, request: HttpRequest) -> Any:
        if is_public_api_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_SkippedOnPublicAPI, DjangoSessionMiddleware):
    pass


class AuthenticationMiddleware(_SkippedOnPublicAPI, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_SkippedOnPublicAPI, DjangoMessageMiddleware):
    pass


class DatabaseUnavailableMiddleware:
    """The database down or restarting: every request answers the 503 of
    `campaign.availability` (JSON, Retry-After) instead of a 500 with a traceback in the log."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        from campaign.availability import (
            DATABASE_UNAVAILABLE_ERRORS,
            database_unavailable_log,
            service_unavailable_response,
        )

        if isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            database_unavailable_log(request, exception)
            return service_unavailable_response()
        return None


_NUL_MESSAGE = "NUL characters are not allowed."
_BODY_CHECKED_TYPES = ("application/json", "application/x-www-form-urlencoded")


def _nul_in_json(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path or "non_field_errors" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return name.replace("\x00", "")
            found = _nul_in_json(item, name)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in_json(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def nul_byte_field(request: HttpRequest) -> str | None:
    """The name of the first input (path, query parameter, body field) holding a NUL
    character, which PostgreSQL cannot store in text: `None` when there is none. Cheap for
    the usual request: the values are only decoded when the raw input could hold one."""
    if "\x00" in request.path_info:
        return "path"
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "") or "query"
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if request.method in ("POST", "PUT", "PATCH") and content_type in _BODY_CHECKED_TYPES:
        try:
            body = request.body
        except Exception:  # noqa: BLE001 - too large or unreadable: the view's own error handling answers
            return None
        if content_type == "application/json" and b"\\u0000" in body:
            import json

            try:
                return _nul_in_json(json.loads(body), "")
            except ValueError:
                return None
        if content_type != "application/json" and (b"%00" in body or b"\x00" in body):
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return key.replace("\x00", "") or "body"
    return None


class NulByteRejectMiddleware:
    """Every text input with a NUL character is a 400 naming the field (PostgreSQL text cannot
    hold one, so it would otherwise end as a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        field = nul_byte_field(request)
        if field is not None:
            from django.http import JsonResponse

            from campaign.exceptions import error_body

            return JsonResponse(
                error_body("invalid", "The request has invalid fields.", {field: [_NUL_MESSAGE]}), status=400
            )
        return self.get_response(request)
