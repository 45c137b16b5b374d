from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.models import ErasureReceipt, SuppressedAddress
from campaign.privacy.erasure import person_erase
from campaign.privacy.permissions import IsPrivacyOfficer
from campaign.privacy.serializers import ErasureCreateInputSerializer, ErasureReceiptOutputSerializer
from campaign.privacy.suppression import address_suppress, unsubscribe_token_read


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


@csrf_exempt  # RFC 8058: mail clients POST without a session or CSRF token; the token decides
def unsubscribe_page(request: HttpRequest) -> HttpResponse:
    """GET shows a confirm button (mail scanners open links and must change nothing); POST, the
    button or a mail client's one-click request, unsubscribes. Idempotent."""
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    token = request.GET.get("t", "")
    found = unsubscribe_token_read(token)
    lang = request.GET.get("lang", "")
    if lang not in ("de", "en"):
        lang = found[1] if found else ("en" if request.LANGUAGE_CODE == "en" else "de")
    status_code = 200
    if found is None:
        state, status_code = "invalid", 400
    elif request.method == "POST":
        address_suppress(email_hash=found[0], reason=SuppressedAddress.Reason.UNSUBSCRIBED)
        state = "done"
    else:
        state = "confirm"
    context = {
        "state": state,
        "token": token if found else "",
        "lang": lang,
        "other_lang": "de" if lang == "en" else "en",
        "accent_color": "#b3123a",
        "organisation_name": settings.ORGANISATION["name"],
    }
    response = render(request, "privacy/unsubscribe.html", context, status=status_code)
    response["Content-Language"] = lang
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
