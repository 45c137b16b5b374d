from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.models import ErasureReceipt
from campaign.privacy.erasure import person_erase
from campaign.privacy.permissions import IsPrivacyOfficer
from campaign.privacy.serializers import ErasureCreateInputSerializer, ErasureReceiptOutputSerializer


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
