from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from campaign import export_job_views, views
from campaign.metrics import metrics_view
from campaign.privacy import pages as privacy_pages

handler400 = "campaign.exceptions.handler400"
handler403 = "campaign.exceptions.handler403"
handler404 = "campaign.exceptions.handler404"
handler500 = "campaign.exceptions.handler500"

api_v1: list[URLPattern | URLResolver] = [
    # First: signing and the count are the hottest requests, and Django tries the patterns in
    # order (no pattern here overlaps another, so the order changes only the time to match).
    path("", include("petitions.urls")),
    path("", include("pages.urls")),  # campaigns/<slug>/ and widget/config/
    path("staff/test-email/", views.StaffTestEmailView.as_view(), name="staff-test-email"),
    path("staff/audit/", views.StaffAuditEntryListView.as_view(), name="staff-audit-list"),
    path("staff/audit.csv", views.StaffAuditEntryExportView.as_view(), name="staff-audit-export-csv"),
    path("staff/exports/", export_job_views.ExportJobListView.as_view(), name="staff-export-list"),
    path(
        "staff/exports/<int:export_job_id>/",
        export_job_views.ExportJobDetailView.as_view(),
        name="staff-export-detail",
    ),
    path(
        "staff/exports/<int:export_job_id>/download",
        export_job_views.ExportJobDownloadView.as_view(),
        name="staff-export-download",
    ),
    path("", include("campaign.privacy.urls")),
    path("", include("campaign.crm.urls")),
    path("", include("donations.urls")),
    path("", include("officials.urls")),
]

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # The staff login with its second factor, the enrolment and the API tokens.
    path("staff/", include("campaign.staff_urls")),
    # The campaign report pages (viewer role).
    path("staff/reports/", include("pages.urls_staff")),
    # The fraud review queue page (organiser role).
    path("staff/review/", include("petitions.urls_staff")),
    # Delivery events (bounces, complaints) of the common mail providers; docs/privacy.md.
    path("mail/anymail/", include("anymail.urls")),
    # Pages people open from mails and the demo landing page.
    path("unsubscribe/", privacy_pages.unsubscribe_page, name="unsubscribe-page"),
    path("privacy/confirm/", privacy_pages.privacy_request_confirm_page, name="privacy-confirm-page"),
    path("privacy/export/", privacy_pages.privacy_export_page, name="privacy-export-page"),
    path("", include("petitions.urls_pages")),
    path("", include("donations.urls_pages")),
    path("", include("officials.urls_pages")),
    path("", include("pages.urls_pages")),
]
