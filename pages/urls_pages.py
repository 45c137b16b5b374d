from django.urls import path

from pages import views

urlpatterns: list = [
    path("", views.landing_page, name="landing"),
    # Each public campaign's page; the API has the same path under /api/v1/.
    path("campaigns/<slug:slug>/", views.campaign_page, name="campaign-page"),
]
