from __future__ import annotations

from django.urls import path

from donations import views

urlpatterns = [
    path("donations/", views.DonationCreateView.as_view(), name="donation-create"),
    path("donations/cancel/", views.DonationCancelView.as_view(), name="donation-cancel"),
    path("donations/<uuid:public_id>/", views.DonationDetailView.as_view(), name="donation-detail"),
    path(
        "donations/<uuid:public_id>/complete/", views.DonationCompleteView.as_view(), name="donation-complete"
    ),
    path("stripe/webhook/", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("staff/donations/export/", views.StaffDonationExportView.as_view(), name="staff-donation-export"),
]
