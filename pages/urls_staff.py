"""The staff report pages (mounted at /staff/reports/)."""

from django.urls import path

from pages import report_views

urlpatterns: list = [
    path("campaigns/<slug:slug>/", report_views.campaign_report_page, name="staff-campaign-report-page"),
    path("<slug:slug>/", report_views.petition_report_page, name="staff-petition-report-page"),
]
