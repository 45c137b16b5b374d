from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api import PublicAPIView
from campaign.models import ErasureReceipt, PrivacyRequest
from campaign.privacy.erasure import person_erase
from campaign.privacy.permissions import IsPrivacyOfficer
from campaign.privacy.requests import privacy_request_create
from campaign.privacy.serializers import (
    ErasureCreateInputSerializer,
    ErasureReceiptOutputSerializer,
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
