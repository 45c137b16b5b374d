from django.urls import path

from campaign.availability import stale_if_error
from pages import views

urlpatterns: list = [
    path("", stale_if_error(views.landing_page), name="landing"),
    # Each public campaign's page; the API has the same path under /api/v1/.
    path("campaigns/<slug:slug>/", stale_if_error(views.campaign_page), name="campaign-page"),
]
