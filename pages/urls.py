from django.urls import path

from campaign.availability import stale_if_error
from pages import report_views, views

urlpatterns: list = [
    path(
        "campaigns/<slug:slug>/", stale_if_error(views.CampaignDetailView.as_view()), name="campaign-detail"
    ),
    path("widget/config/", stale_if_error(views.WidgetConfigView.as_view()), name="widget-config"),
    # The campaign report's figures (docs/staff.md); report.pdf in officials is the handover.
    path(
        "staff/petitions/<slug:slug>/report/",
        report_views.StaffPetitionReportFiguresView.as_view(),
        name="staff-petition-report-figures",
    ),
    path(
        "staff/petitions/<slug:slug>/report.xlsx",
        report_views.StaffPetitionReportXlsxView.as_view(),
        name="staff-petition-report-xlsx",
    ),
    path(
        "staff/campaigns/<slug:slug>/report/",
        report_views.StaffCampaignReportFiguresView.as_view(),
        name="staff-campaign-report-figures",
    ),
    path(
        "staff/campaigns/<slug:slug>/report.xlsx",
        report_views.StaffCampaignReportXlsxView.as_view(),
        name="staff-campaign-report-xlsx",
    ),
]
