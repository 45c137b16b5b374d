from __future__ import annotations

from django.urls import path

from campaign.privacy import views

urlpatterns: list = [
    path("staff/privacy/erasures/", views.ErasureCreateView.as_view(), name="privacy-erasure-create"),
    path("staff/privacy/consents/", views.ConsentProofView.as_view(), name="privacy-consent-proof"),
    path("staff/privacy/requests/", views.PrivacyRequestListView.as_view(), name="privacy-request-list"),
    path("privacy/requests/", views.PrivacyRequestCreateView.as_view(), name="privacy-request-create"),
    path("mail/events/", views.MailEventsWebhookView.as_view(), name="mail-events-webhook"),
]
