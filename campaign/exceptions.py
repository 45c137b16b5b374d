"""Errors and the one exception handler that gives every API error the contract's body:
`{"code": "...", "message": "...", "fields": {"<field>": ["..."]}}` (`fields` only for
validation errors)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business rule said no. Services raise it; the API answers with its status and code."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        status_code: int = 400,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.fields = fields


_CODES_BY_EXCEPTION: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, "parse_error"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.Throttled, "throttled"),
]


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return body


def field_errors(detail: Any) -> dict[str, list[str]]:
    """A serializer's errors in the contract's `fields` form."""
    return _flatten_field_errors(detail)


def _flatten_field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF error details (nested dicts and lists) -> {"field": ["message", ...]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key in {"non_field_errors", "__all__"} else str(key)
            name = f"{prefix}.{name}" if prefix else name
            if isinstance(value, dict):
                fields.update(_flatten_field_errors(value, name))
            else:
                values = value if isinstance(value, list) else [value]
                messages = [str(v) for v in values if not isinstance(v, (dict, list))]
                for nested in (v for v in values if isinstance(v, (dict, list))):
                    fields.update(_flatten_field_errors(nested, name))
                if messages:
                    fields.setdefault(name, []).extend(messages)
    elif isinstance(detail, list):
        fields.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in detail)
    else:
        fields.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return fields


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        answer = Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
        if exc.status_code == 503:  # a part we depend on (Stripe, ...) is down: try again later
            answer["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
        return answer
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(error_body("request_too_large", "The request body is too large."), status=413)
    elif isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request could not be processed."), status=400)

    response = exception_handler(exc, context)
    if response is not None and response.status_code == 503 and not response.has_header("Retry-After"):
        response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    if response is None:
        return None  # a real bug: Django's 500 handling (and logging) takes over

    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_field_errors(exc.detail)
        response.data = error_body("invalid", "The request has invalid fields.", fields)
        return response

    code = next((c for cls, c in _CODES_BY_EXCEPTION if isinstance(exc, cls)), None)
    if code is None:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else "error"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(code, str(detail))
    return response


# Django-level handlers, for errors raised before DRF sees the request (URL not found, bad
# Host header, oversized body). They answer in the API's JSON error format.
def handler400(request: Any, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body("request_too_large", "The request body is too large."), status=413)
    return JsonResponse(error_body("bad_request", "Bad request."), status=status.HTTP_400_BAD_REQUEST)


def handler403(request: Any, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)


def handler404(request: Any, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def handler500(request: Any) -> JsonResponse:
    # The database went away outside a view (in a middleware): the same 503 as in a view.
    from campaign.availability import (
        DATABASE_UNAVAILABLE_ERRORS,
        database_unavailable_log,
        service_unavailable_response,
    )

    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        database_unavailable_log(request, exc)
        return service_unavailable_response()
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)
