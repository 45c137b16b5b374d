"""The campaign report for staff (viewer role): the server-rendered page with its SVG charts
at /staff/reports/<petition>/ and /staff/reports/campaigns/<campaign>/, the same figures as
JSON under /api/v1/staff/.../report/ and as an audited XLSX download."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.audit import audit_record
from campaign.permissions import (
    VIEW_REPORTS,
    HasStaffPermission,
    request_is_second_factor_verified,
    user_has_staff_permission,
)
from pages.report import campaign_report_get, petition_report_get
from pages.report_charts import report_charts
from pages.report_xlsx import report_xlsx


def _euros(cents: int) -> str:
    return f"{cents / 100:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") + " €"


def _gate(request: HttpRequest) -> HttpResponse | None:
    """Sign-in, second factor and role first (so an unknown slug tells an outsider nothing):
    a redirect to the login or the second step, a 403 without the viewer role, else None."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return HttpResponseRedirect(f"{reverse('staff-login')}?{urlencode({'next': request.path})}")
    if not request_is_second_factor_verified(request):
        return HttpResponseRedirect(f"{reverse('staff-verify')}?{urlencode({'next': request.path})}")
    if not user_has_staff_permission(user, VIEW_REPORTS):
        raise PermissionDenied
    return None


def _page(request: HttpRequest, report: dict[str, Any], *, scope: str) -> HttpResponse:
    prefix = "staff-petition" if scope == "petition" else "staff-campaign"
    slug = report["slug"]
    context = {
        "report": report,
        "charts": report_charts(report),
        "funnel": [{**row, "amount": _euros(row["donated_amount"])} for row in report["funnel"]],
        "donation_sum": _euros(report["donations"]["amount"]),
        "monthly_sum": _euros(report["donations"]["monthly_amount"]),
        "json_url": reverse(f"{prefix}-report-figures", kwargs={"slug": slug}),
        "xlsx_url": reverse(f"{prefix}-report-xlsx", kwargs={"slug": slug}),
        "campaign_url": reverse("staff-campaign-report-page", kwargs={"slug": report["campaign"]})
        if scope == "petition"
        else "",
        "organisation_name": settings.ORGANISATION["name"],
    }
    response = render(request, "pages/staff/report.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
def petition_report_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _gate(request) or _page(request, petition_report_get(slug=slug), scope="petition")


@never_cache
@require_GET
def campaign_report_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _gate(request) or _page(request, campaign_report_get(slug=slug), scope="campaign")


class _ReportFiguresView(APIView):
    permission_classes = [HasStaffPermission(VIEW_REPORTS)]
    scope = "petition"

    def report(self, slug: str) -> dict[str, Any]:
        return petition_report_get(slug=slug) if self.scope == "petition" else campaign_report_get(slug=slug)


class StaffPetitionReportFiguresView(_ReportFiguresView):
    """The figures of a petition's report (docs/staff.md): per day, per Land, top Wahlkreise,
    sources, referring domains, donations and the funnel. No personal data."""

    @extend_schema(operation_id="v1_staff_petitions_report_figures", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, slug: str) -> Response:
        response = Response(self.report(slug))
        response["Cache-Control"] = "private, no-store"
        return response


class StaffCampaignReportFiguresView(StaffPetitionReportFiguresView):
    """The figures of a campaign's report: all its petitions and all its donations."""

    scope = "campaign"

    @extend_schema(operation_id="v1_staff_campaigns_report_figures", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, slug: str) -> Response:
        return super().get(request, slug)


class StaffPetitionReportXlsxView(_ReportFiguresView):
    """The report as an XLSX workbook, one sheet per table; each download is audited."""

    @extend_schema(
        operation_id="v1_staff_petitions_report_xlsx",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY
            )
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        report = self.report(slug)
        audit_record(
            actor=request.user,
            action="report.xlsx",
            object_type="petitions.petition" if self.scope == "petition" else "campaign.campaign",
            object_id=slug,
            row_count=len(report["signatures_by_day"]),
            details={"scope": self.scope},
            request=request,
        )
        response = HttpResponse(
            report_xlsx(report),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="report-{report["slug"]}.xlsx"'
        response["Cache-Control"] = "private, no-store"
        return response


class StaffCampaignReportXlsxView(StaffPetitionReportXlsxView):
    scope = "campaign"

    @extend_schema(
        operation_id="v1_staff_campaigns_report_xlsx",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY
            )
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        return super().get(request, slug)
