from __future__ import annotations

from django.urls import path

from donations import pages

urlpatterns = [
    path("donations/cancel/", pages.donation_cancel_page, name="donation-cancel-page"),
]
