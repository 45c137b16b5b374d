from django.urls import path

from campaign.availability import stale_if_error
from pages import views

urlpatterns: list = [
    path(
        "campaigns/<slug:slug>/", stale_if_error(views.CampaignDetailView.as_view()), name="campaign-detail"
    ),
    path("widget/config/", stale_if_error(views.WidgetConfigView.as_view()), name="widget-config"),
]
