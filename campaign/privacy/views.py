from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api import PublicAPIView
from campaign.exceptions import ApplicationError
from campaign.models import ErasureReceipt, PrivacyRequest
from campaign.privacy.bounces import mail_event_record, mail_events_signature_valid
from campaign.privacy.consent import consent_proof_rows
from campaign.privacy.erasure import person_erase
from campaign.privacy.permissions import IsPrivacyOfficer
from campaign.privacy.requests import privacy_request_create
from campaign.privacy.serializers import (
    ConsentProofInputSerializer,
    ConsentProofOutputSerializer,
    ErasureCreateInputSerializer,
    ErasureReceiptOutputSerializer,
    MailEventsInputSerializer,
    MailEventsOutputSerializer,
    PrivacyRequestAcceptedOutputSerializer,
    PrivacyRequestCreateInputSerializer,
    PrivacyRequestOutputSerializer,
)
from campaign.throttles import FailOpenScopedRateThrottle


class ErasureCreateView(APIView):
    """Privacy officer: erase everything held about an e-mail address; answers the receipt."""

    permission_classes = [IsPrivacyOfficer]

    @extend_schema(request=ErasureCreateInputSerializer, responses={201: ErasureReceiptOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = ErasureCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        receipt = person_erase(
            email=serializer.validated_data["email"],
            origin=ErasureReceipt.Origin.STAFF,
            requested_by=request.user.get_username() if request.user else "",
        )
        return Response(ErasureReceiptOutputSerializer(receipt).data, status=status.HTTP_201_CREATED)


# The one answer to every request, known address or not.
REQUEST_ACCEPTED = {"status": "received"}


class PrivacyRequestCreateView(PublicAPIView):
    """A person asks for a copy of their data or its erasure. Always 202 with the same body;
    a confirmation mail goes out only when something is held about the address."""

    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "privacy_request"

    @extend_schema(
        request=PrivacyRequestCreateInputSerializer, responses={202: PrivacyRequestAcceptedOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = PrivacyRequestCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        privacy_request_create(**serializer.validated_data)
        return Response(REQUEST_ACCEPTED, status=status.HTTP_202_ACCEPTED)


class PrivacyRequestListView(APIView):
    """Privacy officer: the requests by persons, newest first, with their due dates."""

    permission_classes = [IsPrivacyOfficer]

    @extend_schema(responses=PrivacyRequestOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = PrivacyRequest.objects.all()[:500]
        return Response(PrivacyRequestOutputSerializer(rows, many=True).data)


class MailEventsWebhookView(PublicAPIView):
    """Delivery events of a mail provider anymail does not cover (or a bounce-mailbox script),
    in the generic signed JSON format (docs/privacy.md): hard bounces, complaints and
    unsubscribes go on the suppression list."""

    @extend_schema(request=MailEventsInputSerializer, responses={200: MailEventsOutputSerializer})
    def post(self, request: Request) -> Response:
        body = request.body  # read before request.data: the signature covers the raw bytes
        if not mail_events_signature_valid(body, request.META.get("HTTP_X_MAIL_EVENTS_SIGNATURE", "")):
            raise ApplicationError(
                "Missing or wrong signature.",
                code="signature_invalid",
                status_code=403,
                fields={"X-Mail-Events-Signature": ["Missing or wrong signature."]},
            )
        serializer = MailEventsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = serializer.validated_data["events"]
        suppressed = sum(mail_event_record(event_type=e["type"], email=e["email"]) for e in events)
        return Response({"received": len(events), "suppressed": suppressed})


class ConsentProofView(APIView):
    """Privacy officer: the proof of every consent given with an address (`?email=`), per
    purpose, with text version and hash, time, origin, confirmation and end."""

    permission_classes = [IsPrivacyOfficer]

    @extend_schema(
        parameters=[ConsentProofInputSerializer], responses=ConsentProofOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        serializer = ConsentProofInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        rows = consent_proof_rows(serializer.validated_data["email"])
        return Response(ConsentProofOutputSerializer(rows, many=True).data)
