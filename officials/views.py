from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api import PublicAPIView
from campaign.exceptions import ApplicationError
from campaign.permissions import (
    EXPORT_PERSONAL_DATA,
    VIEW_REPORTS,
    HasStaffPermission,
    user_has_staff_permission,
)
from officials.handover import handover_report_download
from officials.selectors import (
    constituency_totals_get,
    petition_public_get,
    petition_staff_get,
    postcode_lookup_get,
    region_totals_attribution,
    region_totals_by_state,
)
from officials.serializers import (
    PetitionConstituenciesOutputSerializer,
    PetitionRegionsMapInputSerializer,
    PetitionRegionsOutputSerializer,
    PetitionReportInputSerializer,
    RegionLookupInputSerializer,
    RegionLookupOutputSerializer,
)
from officials.verification import official_address_verify


class PetitionRegionsView(PublicAPIView):
    """Counted signatures by state, plus unassigned postcodes and other countries."""

    @extend_schema(responses=PetitionRegionsOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        regions = {
            **region_totals_by_state(petition=petition),
            "constituencies": constituency_totals_get(petition=petition),
            "attribution": region_totals_attribution(petition=petition),
        }
        data = PetitionRegionsOutputSerializer(regions).data
        response = Response(data)
        # The totals change once per counter pass; caches may serve them a little stale.
        response["Cache-Control"] = "public, max-age=30, stale-while-revalidate=300"
        return response


class PetitionRegionsMapView(PublicAPIView):
    """The map of the counted signatures by Land (or by Wahlkreis) as SVG, with the sources."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is the image whatever the client accepts; errors are the JSON body.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[PetitionRegionsMapInputSerializer],
        responses={(200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        from officials.maps import petition_region_counts, region_map_svg

        serializer = PetitionRegionsMapInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        petition = petition_public_get(slug=slug)
        level, locale = serializer.validated_data["level"], serializer.validated_data["locale"]
        title = (petition.title_en if locale == "en" else "") or petition.title_de
        svg = region_map_svg(
            counts=petition_region_counts(petition=petition, level=level),
            level=level,
            title=title,
            locale=locale,
        )
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Cache-Control"] = "public, max-age=30, stale-while-revalidate=300"
        return response


class StaffPetitionConstituenciesView(APIView):
    permission_classes = [HasStaffPermission(VIEW_REPORTS)]

    @extend_schema(responses=PetitionConstituenciesOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        petition = petition_staff_get(slug=slug)
        regions = region_totals_by_state(petition=petition)
        data = {
            "total": petition.total_count,
            "online": petition.signature_count,
            "constituencies": constituency_totals_get(petition=petition),
            "unassigned": regions["unassigned"],
            "countries": regions["countries"],
        }
        return Response(PetitionConstituenciesOutputSerializer(data).data)


class StaffPetitionReportView(APIView):
    """The handover report as PDF; the download is recorded in the export log."""

    # Totals for viewers; the names of signers only for the data-export role.
    permission_classes = [HasStaffPermission(VIEW_REPORTS, EXPORT_PERSONAL_DATA)]

    @extend_schema(
        operation_id="v1_staff_petitions_report_retrieve",
        parameters=[PetitionReportInputSerializer],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        serializer = PetitionReportInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data.get("names") and not user_has_staff_permission(
            request.user, EXPORT_PERSONAL_DATA
        ):
            raise PermissionDenied("The signers' names need the data-export role.")
        petition = petition_staff_get(slug=slug)
        pdf = handover_report_download(petition=petition, user=request.user, **serializer.validated_data)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="report-{petition.slug}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


class RegionLookupView(PublicAPIView):
    """Which constituencies a postcode lies in and who represents it (no e-mail addresses)."""

    @extend_schema(parameters=[RegionLookupInputSerializer], responses=RegionLookupOutputSerializer)
    def get(self, request: Request) -> Response:
        serializer = RegionLookupInputSerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        found = postcode_lookup_get(**serializer.validated_data)
        if found is None:
            raise ApplicationError(
                "The postcode is not in the mapping.",
                code="not_found",
                status_code=404,
                fields={"postcode": ["Unknown postcode."]},
            )
        response = Response(RegionLookupOutputSerializer(found).data)
        # The mapping changes with a data load, i.e. rarely.
        response["Cache-Control"] = "public, max-age=3600, stale-while-revalidate=86400"
        return response


@csrf_exempt  # the token in the form is the authority; there is no session to protect
def official_address_verify_page(request: HttpRequest) -> HttpResponse:
    """The link of the verification mail: GET asks to confirm (so a mail scanner that opens
    links verifies nothing), POST verifies."""
    lang = "en" if request.GET.get("lang") == "en" else "de"
    token = (request.POST if request.method == "POST" else request.GET).get("token", "")
    context: dict[str, Any] = {"lang": lang, "token": token, "result": "", "official": None}
    if request.method == "POST":
        official = official_address_verify(token=token)
        context.update(result="verified" if official else "invalid", official=official)
    response = render(request, "officials/address_verify.html", context)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
