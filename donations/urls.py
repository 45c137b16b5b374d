from __future__ import annotations

from django.urls import path

from donations import views

urlpatterns = [
    path("donations/", views.DonationCreateView.as_view(), name="donation-create"),
    path("donations/cancel/", views.DonationCancelView.as_view(), name="donation-cancel"),
    path("donations/manage-link/", views.DonorManageLinkView.as_view(), name="donation-manage-link"),
    path("donations/<uuid:public_id>/", views.DonationDetailView.as_view(), name="donation-detail"),
    path(
        "donations/<uuid:public_id>/complete/", views.DonationCompleteView.as_view(), name="donation-complete"
    ),
    path("stripe/webhook/", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("staff/donations/summary/", views.StaffDonationSummaryView.as_view(), name="staff-donation-summary"),
    path(
        "staff/donations/export.csv",
        views.StaffDonationExportView.as_view(export_format="csv"),
        name="staff-donation-export-csv",
    ),
    path(
        "staff/donations/export.xlsx",
        views.StaffDonationExportView.as_view(export_format="xlsx"),
        name="staff-donation-export-xlsx",
    ),
    path("staff/donations/receipts.csv", views.StaffReceiptExportView.as_view(), name="staff-receipt-export"),
]
