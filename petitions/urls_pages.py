from __future__ import annotations

from django.urls import path

from petitions import views

urlpatterns: list = [
    path("signatures/confirm/", views.signature_confirm_page, name="signature-confirm-page"),
    path("signatures/withdraw/", views.signature_withdraw_page, name="signature-withdraw-page"),
]
