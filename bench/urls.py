"""The real URLs plus the bare baselines each benchmark compares against."""

from __future__ import annotations

from django.urls import path

from bench import views
from campaign.urls import handler400, handler403, handler404, handler500  # noqa: F401
from campaign.urls import urlpatterns as campaign_urlpatterns

urlpatterns = [
    path("bench/insert/", views.bare_insert, name="bench-insert"),
    path("bench/json/", views.bare_json, name="bench-json"),
    *campaign_urlpatterns,
]
