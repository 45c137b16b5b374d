from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api import PublicAPIView
from campaign.attribution import signing_reference_make
from campaign.client_ip import request_client_ip
from campaign.exceptions import ApplicationError, error_body
from campaign.permissions import EXPORT_PERSONAL_DATA, ORGANISE, HasStaffPermission
from campaign.privacy.permissions import IsOrganiser
from campaign.selectors import campaign_organisation_by_id_get
from campaign.throttles import FailOpenScopedRateThrottle
from petitions.confirmation import signature_confirm, signature_withdraw
from petitions.exports import SignatureExportFilters, petition_export_get, signature_export_response
from petitions.invalidation import invalidation_create, invalidation_preview
from petitions.models import SignatureToken
from petitions.proof_of_work import altcha_challenge_create, altcha_verify
from petitions.selectors import (
    petition_count_get,
    petition_detail_get,
    petition_for_signing_get,
    petition_public_get,
    petition_recent_signers_list,
    signature_page_get,
)
from petitions.serializers import (
    InvalidationInputSerializer,
    InvalidationOutputSerializer,
    PetitionCountOutputSerializer,
    PetitionOutputSerializer,
    PetitionUpdateCreateInputSerializer,
    PetitionUpdateOutputSerializer,
    RecentSignerOutputSerializer,
    SignatureAcceptedOutputSerializer,
    SignatureCreateInputSerializer,
    SignatureExportInputSerializer,
    SignatureStatusOutputSerializer,
    SignatureTokenInputSerializer,
)
from petitions.signing import signature_create
from petitions.throttles import SignRateThrottle
from petitions.updates import petition_update_create
from petitions.validation import SignatureInputError, signature_input_validate

# The one answer to every accepted signing: new, repeated and flagged alike.
SIGNATURE_ACCEPTED = {"status": "pending_confirmation"}


class SignatureCreateView(PublicAPIView):
    throttle_classes = [SignRateThrottle]
    throttle_scope = "sign"

    @extend_schema(request=SignatureCreateInputSerializer, responses={202: SignatureAcceptedOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        # Errors speak the form's language (the widget shows them next to the fields).
        locale = request.data.get("locale") if isinstance(request.data, dict) else None
        with translation.override(locale if locale in ("de", "en") else translation.get_language()):
            petition = petition_for_signing_get(slug=slug)
            try:
                data = signature_input_validate(request.data, consent_version=petition.consent_version)
            except SignatureInputError as exc:
                raise ApplicationError(
                    _("The request has invalid fields."), code="invalid", fields=exc.fields
                ) from None
            if petition.altcha_enabled and not altcha_verify(data.altcha):
                raise ApplicationError(
                    _("The proof of work is missing or invalid."),
                    code="invalid",
                    fields={"altcha": [_("Solve the challenge again.")]},
                )
        origin = request.META.get("HTTP_ORIGIN") or request.META.get("HTTP_REFERER", "")
        signature_create(
            petition=petition,
            data=data,
            ip=request_client_ip(request),
            origin=origin,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return Response(SIGNATURE_ACCEPTED, status=status.HTTP_202_ACCEPTED)


class AltchaChallengeView(PublicAPIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        response = Response(altcha_challenge_create())
        response["Cache-Control"] = "no-store"
        return response


class SignatureConfirmView(PublicAPIView):
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=SignatureTokenInputSerializer, responses={200: SignatureStatusOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = SignatureTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signature = signature_confirm(token=serializer.validated_data["token"])
        # The petition's slug lets the confirmation page show its count and the donate step.
        return Response({"status": signature.status, "petition": signature.petition.slug})


class SignatureWithdrawView(PublicAPIView):
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=SignatureTokenInputSerializer, responses={200: SignatureStatusOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = SignatureTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signature = signature_withdraw(token=serializer.validated_data["token"])
        return Response({"status": signature.status})


class PetitionDetailView(PublicAPIView):
    @extend_schema(responses=PetitionOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(PetitionOutputSerializer(petition_detail_get(slug=slug)).data)


class PetitionRecentSignersView(PublicAPIView):
    @extend_schema(responses=RecentSignerOutputSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        signers = petition_recent_signers_list(slug=slug)
        response = Response(RecentSignerOutputSerializer(signers, many=True).data)
        response["Cache-Control"] = f"public, max-age={settings.PETITIONS_COUNT_MAX_AGE}"
        return response


@extend_schema(responses=PetitionCountOutputSerializer)
def petition_count_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The live counter. A plain Django view on purpose: it is the most requested endpoint,
    and DRF's request wrapping would cost more than the cached read itself."""
    if request.method not in ("GET", "HEAD"):
        return JsonResponse(error_body("method_not_allowed", "Method not allowed."), status=405)
    try:
        count = petition_count_get(slug=slug)
    except ApplicationError as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status_code)
    updated_at = count["updated_at"]
    headers = {
        "ETag": count["etag"],
        "Last-Modified": http_date(updated_at.timestamp()),
        "Cache-Control": (
            f"public, max-age={settings.PETITIONS_COUNT_MAX_AGE}, "
            f"stale-while-revalidate={settings.PETITIONS_COUNT_STALE_WHILE_REVALIDATE}, "
            f"stale-if-error={settings.PETITIONS_COUNT_STALE_IF_ERROR}"
        ),
    }
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if_modified_since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    if (if_none_match and count["etag"] in {tag.strip() for tag in if_none_match.split(",")}) or (
        if_none_match is None
        and if_modified_since is not None
        and int(updated_at.timestamp()) <= if_modified_since
    ):
        response = HttpResponse(status=304)
    else:
        response = JsonResponse(
            {
                "signature_count": count["signature_count"],
                "goal": count["goal"],
                "updated_at": updated_at.isoformat().replace("+00:00", "Z"),
            }
        )
    for name, value in headers.items():
        response[name] = value
    return response


class PetitionInvalidationCreateView(APIView):
    """Staff: flag a batch of signatures by IP hash, mail domain and/or time window. The
    default is a dry run that only answers how many would be flagged."""

    permission_classes = [HasStaffPermission(ORGANISE)]

    @extend_schema(
        request=InvalidationInputSerializer,
        responses={200: InvalidationOutputSerializer, 201: InvalidationOutputSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        serializer = InvalidationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        dry_run = values.pop("dry_run", True)
        reason = values.pop("reason", "")
        if dry_run:
            count = invalidation_preview(petition=petition, **values)
            return Response({"id": None, "dry_run": True, "signature_count": count})
        invalidation = invalidation_create(petition=petition, user=request.user, reason=reason, **values)
        return Response(
            {"id": invalidation.pk, "dry_run": False, "signature_count": invalidation.signature_count},
            status=status.HTTP_201_CREATED,
        )


# --- pages opened from mail links ---------------------------------------------------------------

_PAGE_ACTIONS = {"confirm": signature_confirm, "withdraw": signature_withdraw}


_PAGE_PURPOSES = {"confirm": SignatureToken.Purpose.CONFIRM, "withdraw": SignatureToken.Purpose.WITHDRAW}


def _page(request: HttpRequest, action: str) -> HttpResponse:
    """GET shows the page (its script POSTs to the API; mail scanners that open links change
    nothing). POST is the `<noscript>` form's button and performs the action."""
    token = request.POST.get("token", "") if request.method == "POST" else request.GET.get("token", "")
    context: dict[str, Any] = {"action": action, "token": token, "result": None, "error": None}
    status_code = 200
    if request.method == "POST":
        try:
            signature = _PAGE_ACTIONS[action](token=token)
            context["result"] = signature.status
        except ApplicationError as exc:
            context["error"] = exc.code
            status_code = exc.status_code
    elif request.method != "GET":
        return HttpResponse(status=405)
    # The signer's language (from the signature), unless they switched with ?lang=.
    page = signature_page_get(token=token, purpose=_PAGE_PURPOSES[action])
    organisation = campaign_organisation_by_id_get(campaign_id=page.campaign_id if page else None)
    campaign_path = reverse("campaign-page", kwargs={"slug": page.campaign_slug}) if page else "/"
    lang = request.GET.get("lang", "")
    if lang not in {"de", "en"}:
        lang = page.locale if page else ("en" if request.LANGUAGE_CODE == "en" else "de")
    context.update(
        page=page,
        lang=lang,
        other_lang="de" if lang == "en" else "en",
        accent_color=page.accent_color if page else "#b3123a",
        # The signature's own campaign page (by URL name: the page lives in the composition app).
        campaign_path=campaign_path,
        share_url=settings.PUBLIC_BASE_URL.rstrip("/") + campaign_path,
        signer={
            "first_name": page.first_name,
            "last_name": page.last_name,
            "email": page.email,
            "postcode": page.postcode,
            "country": page.country,
        }
        if page and page.email and action == "confirm"
        else None,
        # The imprint of the signature's campaign (the service-wide one for an unknown token).
        organisation=organisation,
        organisation_name=organisation["name"],
        # Links a donation from this page to the signing (signed: see campaign.attribution).
        signing_ref=signing_reference_make(signature_id=page.signature_id, petition_slug=page.petition_slug)
        if page and action == "confirm"
        else "",
    )
    response = render(request, "petitions/signature_action.html", context, status=status_code)
    response["Content-Language"] = lang
    # Keep the token out of caches and out of the Referer of the donation link.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt  # the token in the form is the authority; there is no session to protect
def signature_confirm_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "confirm")


@csrf_exempt
def signature_withdraw_page(request: HttpRequest) -> HttpResponse:
    return _page(request, "withdraw")


class SignatureExportView(APIView):
    """Streams a petition's signatures as CSV or XLSX to staff (token or session); every
    export is recorded in ExportLog. On PostgreSQL the CSV is written by COPY."""

    permission_classes = [HasStaffPermission(EXPORT_PERSONAL_DATA)]
    export_format = "csv"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is the file whatever the client accepts; errors are the JSON body.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[SignatureExportInputSerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request, slug: str) -> Any:
        serializer = SignatureExportInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        return signature_export_response(
            petition=petition_export_get(slug=slug),
            filters=SignatureExportFilters(**serializer.validated_data),
            format=self.export_format,
            user=request.user,
        )


class PetitionUpdateCreateView(APIView):
    """Organiser: a supporter update. `send: false` answers the preview and mails a test to
    the organiser; `send: true` starts the batched mailing to the signers who agreed."""

    permission_classes = [IsOrganiser]

    @extend_schema(
        request=PetitionUpdateCreateInputSerializer,
        responses={200: PetitionUpdateOutputSerializer, 202: PetitionUpdateOutputSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        serializer = PetitionUpdateCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        own_address = getattr(request.user, "email", "")
        if not data["send"] and not own_address:
            raise ApplicationError(
                _("Your account has no e-mail address for the test send."),
                code="invalid",
                fields={"send": [_("Add an e-mail address to your account, or send.")]},
            )
        update = petition_update_create(petition=petition, user=request.user, **data)
        preview = {
            locale: dict(zip(("subject", "body_text"), update.text(locale), strict=True))
            for locale in ("de", "en")
        }
        body = {
            "id": update.pk,
            "status": update.status,
            "recipient_count": update.recipient_count,
            "preview": preview,
            "test_sent_to": "" if data["send"] else own_address,
        }
        code = status.HTTP_202_ACCEPTED if data["send"] else status.HTTP_200_OK
        return Response(PetitionUpdateOutputSerializer(body).data, status=code)
