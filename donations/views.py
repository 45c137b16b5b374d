from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api import PublicAPIView
from campaign.exceptions import ApplicationError, field_errors
from campaign.permissions import MANAGE_FINANCE, VIEW_REPORTS, HasStaffPermission
from campaign.schema import SLUG_PATTERN
from campaign.throttles import FailOpenScopedRateThrottle
from donations import charging, donor_access, mandates, selectors, starting
from donations.models import Donation
from donations.serializers import (
    DonationCompleteOutputSerializer,
    DonationCreateInputSerializer,
    DonationCreateOutputSerializer,
    DonationOutputSerializer,
    ManageLinkInputSerializer,
    MandateCancelOutputSerializer,
    TokenInputSerializer,
    WebhookOutputSerializer,
)
from donations.webhooks import WebhookRejected, stripe_event_receive

logger = logging.getLogger(__name__)

LOCALES = ("de", "en")


class DonationAPIView(PublicAPIView):
    """Donation endpoints answer errors in the donor's language: the body's (or the query's)
    `locale` if given, else Accept-Language (LocaleMiddleware), German by default. The codes
    stay the same in every language."""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Whatever `initial` activates ends with the request.
        with translation.override(translation.get_language()):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        locale = request.query_params.get("locale")
        if request.method not in ("GET", "HEAD") and isinstance(request.data, dict):
            locale = request.data.get("locale", locale)
        if locale in LOCALES:
            translation.activate(locale)
        super().initial(request, *args, **kwargs)


def input_validate(serializer_class: type[Any], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ApplicationError(
            _("The request has invalid fields."), code="invalid", fields=field_errors(serializer.errors)
        )
    return dict(serializer.validated_data)


class DonationCreateView(DonationAPIView):
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "donate"

    @extend_schema(request=DonationCreateInputSerializer, responses={201: DonationCreateOutputSerializer})
    def post(self, request: Request) -> Response:
        started = starting.donation_start(data=input_validate(DonationCreateInputSerializer, request.data))
        donation = started.donation
        data = {
            "id": donation.public_id,
            "intent_type": "setup",
            "client_secret": started.client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY or "",
            "amount": donation.amount,
            "fee_amount": donation.fee_amount,
            "total_amount": donation.total_amount,
            "status": donation.status,
        }
        return Response(DonationCreateOutputSerializer(data).data, status=status.HTTP_201_CREATED)


class DonationCompleteView(DonationAPIView):
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "donate"

    @extend_schema(request=None, responses=DonationCompleteOutputSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        completed = charging.donation_complete(public_id=public_id)
        data = {
            **selectors.donation_output(completed.donation),
            "client_secret": completed.client_secret or None,
        }
        return Response(DonationCompleteOutputSerializer(data).data)


class DonationDetailView(DonationAPIView):
    @extend_schema(responses=DonationOutputSerializer)
    def get(self, request: Request, public_id: Any) -> Response:
        donation = selectors.donation_public_get(public_id=public_id)
        if donation is None:
            raise ApplicationError(_("Not found."), code="not_found", status_code=404)
        response = Response(DonationOutputSerializer(selectors.donation_output(donation)).data)
        response["Cache-Control"] = "no-store"
        return response


class DonationCancelView(DonationAPIView):
    """Stops a monthly gift with the token from the mail."""

    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenInputSerializer, responses=MandateCancelOutputSerializer)
    def post(self, request: Request) -> Response:
        mandate = mandates.mandate_cancel(token=input_validate(TokenInputSerializer, request.data)["token"])
        return Response({"status": mandate.status})


class DonorManageLinkView(DonationAPIView):
    """A donor asks for the link to their own page. Always 202, whether anyone gave with the
    address or not (no enumeration); throttled per IP."""

    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "manage_link"

    @extend_schema(request=ManageLinkInputSerializer, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = input_validate(ManageLinkInputSerializer, request.data)
        locale = data.get("locale") or translation.get_language() or "de"
        donor_access.donor_manage_link_request(email=data["email"], locale=locale[:2])
        return Response({"status": "accepted"}, status=status.HTTP_202_ACCEPTED)


class StripeWebhookView(PublicAPIView):
    """Stripe's events. The signature is checked on the raw body: `request.data` is never
    touched, so no parser reads the body first."""

    # Stripe's events can be larger than the public API's body limit; they are read here with
    # their own cap (and only a valid signature gets them stored).
    max_body = 1024 * 1024

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: WebhookOutputSerializer})
    def post(self, request: Request) -> Response:
        payload = request._request.read(self.max_body + 1)
        if len(payload) > self.max_body:
            raise ApplicationError(_("The body is too large."), code="request_too_large", status_code=413)
        try:
            _event, created = stripe_event_receive(
                payload=payload, signature=request.headers.get("Stripe-Signature", "")
            )
        except WebhookRejected as exc:
            logger.warning("stripe webhook rejected: %s", exc)
            raise ApplicationError(
                _("The webhook could not be verified."), code="invalid_signature", status_code=400
            ) from exc
        return Response({"status": "received" if created else "duplicate"})


# A campaign's slug; one that names no campaign is a 400 naming the field.
_CAMPAIGN_SLUG = {"type": "string", "minLength": 1, "maxLength": 80, "pattern": SLUG_PATTERN}


class StaffDonationSummaryView(APIView):
    """Staff figures of a campaign's donations: totals, by day, by source, by method."""

    permission_classes = [HasStaffPermission(VIEW_REPORTS, MANAGE_FINANCE)]

    @extend_schema(
        parameters=[OpenApiParameter("campaign", _CAMPAIGN_SLUG, required=True)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        from campaign.models import Campaign

        slug = request.query_params.get("campaign", "")
        campaign = Campaign.objects.filter(slug=slug).first() if slug else None
        if campaign is None:
            raise ApplicationError(_("Unknown campaign."), fields={"campaign": [_("Unknown campaign.")]})
        return Response(selectors.donation_summary_get(campaign=campaign))


class StaffDonationExportView(APIView):
    """Staff export of donations (CSV or XLSX), streamed, formula-safe, logged in ExportLog."""

    permission_classes = [HasStaffPermission(MANAGE_FINANCE)]
    export_format = "csv"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is the file whatever the client accepts; errors are the JSON body.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("campaign", _CAMPAIGN_SLUG),
            OpenApiParameter("status", {"type": "string", "enum": list(Donation.Status.values)}),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request) -> Any:
        from campaign import exports
        from campaign.models import Campaign
        from donations.models import Donation

        unknown = sorted(set(request.query_params) - {"campaign", "status"})
        if unknown:
            raise ApplicationError(
                _("Unknown parameters."), fields={name: [_("Unknown parameter.")] for name in unknown}
            )
        campaign = None
        slug = request.query_params.get("campaign", "")
        if slug:
            campaign = Campaign.objects.filter(slug=slug).first()
            if campaign is None:
                raise ApplicationError(_("Unknown campaign."), fields={"campaign": [_("Unknown campaign.")]})
        status_filter = request.query_params.get("status", "")
        if status_filter and status_filter not in Donation.Status.values:
            raise ApplicationError(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        rows = selectors.donation_export_rows(campaign=campaign, status=status_filter)
        header = selectors.donation_export_header()
        fmt = self.export_format
        stream = (
            partial(exports.csv_rows_stream, header=header, rows=rows)
            if fmt == "csv"
            else partial(exports.xlsx_rows_stream, header=header, rows=rows, sheet_name="Donations")
        )
        return exports.export_response(
            user=request.user,
            kind="donations.donations",
            format=fmt,
            filters={"campaign": slug, "status": status_filter},
            filename=f"donations.{fmt}",
            stream=lambda counter: stream(counter=counter),
        )


class StaffReceiptExportView(APIView):
    """The finance team's list of a year's receipts (CSV): issued, voided and corrected, every
    number of the year in order."""

    permission_classes = [HasStaffPermission(MANAGE_FINANCE)]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, required=True)
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request) -> Any:
        from campaign import exports
        from donations.exports import RECEIPT_EXPORT_HEADER, receipt_export_rows

        unknown = sorted(set(request.query_params) - {"year"})
        if unknown:
            raise ApplicationError(
                _("Unknown parameters."), fields={name: [_("Unknown parameter.")] for name in unknown}
            )
        raw = request.query_params.get("year", "")
        if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
            raise ApplicationError(_("A year is required."), fields={"year": [_("A year is required.")]})
        year = int(raw)
        rows = receipt_export_rows(year=year)
        return exports.export_response(
            user=request.user,
            kind="donations.receipts",
            format="csv",
            filters={"year": year},
            filename=f"receipts-{year}.csv",
            stream=lambda counter: exports.csv_rows_stream(
                header=RECEIPT_EXPORT_HEADER, rows=rows, counter=counter
            ),
        )
