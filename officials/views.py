from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api import PublicAPIView
from campaign.permissions import (
    EXPORT_PERSONAL_DATA,
    VIEW_REPORTS,
    HasStaffPermission,
    user_has_staff_permission,
)
from officials.deliveries import handover_report_download
from officials.selectors import (
    constituency_totals_get,
    petition_public_get,
    petition_staff_get,
    region_totals_by_state,
)
from officials.serializers import (
    PetitionConstituenciesOutputSerializer,
    PetitionRegionsOutputSerializer,
    PetitionReportInputSerializer,
)


class PetitionRegionsView(PublicAPIView):
    """Counted signatures by state, plus unassigned postcodes and other countries."""

    @extend_schema(responses=PetitionRegionsOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        petition = petition_public_get(slug=slug)
        data = PetitionRegionsOutputSerializer(region_totals_by_state(petition=petition)).data
        response = Response(data)
        # The totals change once per counter pass; caches may serve them a little stale.
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
