from __future__ import annotations

from django.urls import path

from officials import views

urlpatterns: list = [
    path(
        "officials/verify-address/", views.official_address_verify_page, name="official-address-verify-page"
    ),
]
