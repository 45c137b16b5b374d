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
