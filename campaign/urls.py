from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from campaign import pages, views

handler400 = "campaign.exceptions.handler400"
handler403 = "campaign.exceptions.handler403"
handler404 = "campaign.exceptions.handler404"
handler500 = "campaign.exceptions.handler500"

api_v1 = [
    path("campaigns/<slug:slug>/", views.CampaignDetailView.as_view(), name="campaign-detail"),
    path("staff/test-email/", views.StaffTestEmailView.as_view(), name="staff-test-email"),
    path("widget/config/", pages.WidgetConfigView.as_view(), name="widget-config"),
    path("", include("petitions.urls")),
    path("", include("donations.urls")),
    path("", include("officials.urls")),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # Pages people open from mails and the demo landing page.
    path("", include("petitions.urls_pages")),
    path("", include("donations.urls_pages")),
    path("", include("campaign.urls_pages")),
]
