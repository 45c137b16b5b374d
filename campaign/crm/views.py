from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.audit import audit_record
from campaign.crm.delivery import crm_delivery_retry
from campaign.crm.exports import SUBSCRIBER_HEADER, crm_subscriber_rows
from campaign.crm.models import CrmDelivery
from campaign.crm.serializers import CrmDeliveryListInputSerializer, CrmDeliveryOutputSerializer
from campaign.exceptions import ApplicationError
from campaign.exports import csv_rows_stream, export_response
from campaign.models import ExportLog
from campaign.permissions import EXPORT_PERSONAL_DATA, ORGANISE, PRIVACY_OFFICER, HasStaffPermission

IsPrivacyOfficerOrOrganiser = HasStaffPermission(PRIVACY_OFFICER, ORGANISE)


class CrmDeliveryListView(APIView):
    """Privacy officer or organiser: the CRM webhook deliveries, newest first; `?status=dead`
    is the dead-letter list."""

    permission_classes = [IsPrivacyOfficerOrOrganiser]

    @extend_schema(
        parameters=[CrmDeliveryListInputSerializer], responses=CrmDeliveryOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        serializer = CrmDeliveryListInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        rows = CrmDelivery.objects.all()
        if status := serializer.validated_data.get("status"):
            rows = rows.filter(status=status)
        return Response(CrmDeliveryOutputSerializer(rows[:500], many=True).data)


class CrmDeliveryRetryView(APIView):
    """Privacy officer or organiser: a dead letter gets a fresh set of attempts. Audited."""

    permission_classes = [IsPrivacyOfficerOrOrganiser]

    @extend_schema(request=None, responses={202: CrmDeliveryOutputSerializer})
    def post(self, request: Request, delivery_id: int) -> Response:
        if not crm_delivery_retry(crm_delivery_id=delivery_id):
            exists = CrmDelivery.objects.filter(pk=delivery_id).exists()
            raise ApplicationError(
                "Only a dead letter can be retried." if exists else "No such delivery.",
                code="not_dead" if exists else "not_found",
                status_code=409 if exists else 404,
            )
        audit_record(
            actor=request.user,
            action="crm.delivery_retry",
            object_type="campaign.crmdelivery",
            object_id=delivery_id,
            request=request,
        )
        delivery = CrmDelivery.objects.get(pk=delivery_id)
        return Response(CrmDeliveryOutputSerializer(delivery).data, status=202)


class CrmSubscriberExportView(APIView):
    """Data export: the newsletter subscribers with their consent proof as CSV, for an import
    into the CRM. Recorded in the export log and the audit trail."""

    permission_classes = [HasStaffPermission(EXPORT_PERSONAL_DATA)]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is the file whatever the client accepts; errors are the JSON body.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(request=None, responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request: Request) -> Any:
        return export_response(
            user=request.user,
            kind="crm.subscribers",
            format=ExportLog.Format.CSV,
            filters={},
            filename="newsletter-subscribers.csv",
            stream=lambda counter: csv_rows_stream(
                header=SUBSCRIBER_HEADER, rows=crm_subscriber_rows(), counter=counter
            ),
        )
