from __future__ import annotations

import logging
from itertools import islice
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign import exports
from campaign.audit import audit_entries_list, audit_export_header, audit_export_rows
from campaign.outbox.queueing import outgoing_email_queue
from campaign.permissions import ORGANISE, PRIVACY_OFFICER, HasStaffPermission
from campaign.serializers import (
    AuditEntryListInputSerializer,
    AuditEntryListPageInputSerializer,
    AuditEntryOutputSerializer,
    OutgoingEmailOutputSerializer,
    TestEmailInputSerializer,
)

logger = logging.getLogger(__name__)


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask every host for /favicon.ico: point them at the campaign's SVG icon."""
    return HttpResponseRedirect(static("campaign/favicon.svg"))


class StaffTestEmailView(APIView):
    """Queues a test mail through the outbox, to check the mail set-up end to end."""

    permission_classes = [HasStaffPermission(ORGANISE)]

    @extend_schema(request=TestEmailInputSerializer, responses={202: OutgoingEmailOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = TestEmailInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = outgoing_email_queue(
            kind="test_message",
            to_email=serializer.validated_data["email"],
            locale=serializer.validated_data["locale"],
            context={"name": request.user.get_username()},
        )
        return Response(OutgoingEmailOutputSerializer(email).data, status=status.HTTP_202_ACCEPTED)


class StaffAuditEntryListView(APIView):
    """The audit trail, newest first (privacy officer). Filters `action`, `actor`, `since`."""

    permission_classes = [HasStaffPermission(PRIVACY_OFFICER)]

    @extend_schema(
        parameters=[AuditEntryListPageInputSerializer], responses=AuditEntryOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        serializer = AuditEntryListPageInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        filters = dict(serializer.validated_data)
        limit = filters.pop("limit")
        entries = list(islice(audit_entries_list(**filters), limit))
        return Response(AuditEntryOutputSerializer(entries, many=True).data)


class StaffAuditEntryExportView(APIView):
    """The audit trail as CSV (privacy officer), streamed; the download is audited itself."""

    permission_classes = [HasStaffPermission(PRIVACY_OFFICER)]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[AuditEntryListInputSerializer], responses={(200, "text/csv"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request) -> Any:
        serializer = AuditEntryListInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        filters = dict(serializer.validated_data)
        rows = audit_export_rows(**filters)
        return exports.export_response(
            user=request.user,
            kind="campaign.audit",
            format="csv",
            filters={k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in filters.items()},
            filename="audit.csv",
            stream=lambda counter: exports.csv_rows_stream(
                header=audit_export_header(), rows=rows, counter=counter
            ),
        )


def healthz(request: Any) -> JsonResponse:
    """Liveness: the process answers; the operator switches in force."""
    from campaign.switches import switches_state

    return JsonResponse({"status": "ok", "switches": switches_state()})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    from django.core.cache import cache

    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache read back a different value")


def _check_broker() -> None:
    from django.conf import settings

    if not settings.REDIS_URL:
        return  # tasks run in-process
    from campaign.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


def readyz(request: Any) -> JsonResponse:
    """Readiness: database, cache and broker each answer. 503 names what is down."""
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("cache", _check_cache), ("broker", _check_broker)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "down"
    down = [name for name, result in checks.items() if result != "ok"]
    from campaign.switches import paused_state, switches_state

    body: dict[str, Any] = {
        "status": "ok" if not down else "unavailable",
        "checks": checks,
        "switches": switches_state(),
    }
    if checks["database"] == "ok":
        try:
            body["paused"] = paused_state()
        except Exception as exc:  # noqa: BLE001 - the readiness answer never fails on it
            logger.warning("paused switches unreadable: %s", type(exc).__name__)
    if down:
        body["down"] = down
    return JsonResponse(body, status=200 if not down else 503)
