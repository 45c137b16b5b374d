from __future__ import annotations

from django.urls import path

from donations import donor_pages, pages

urlpatterns = [
    path("donations/cancel/", pages.donation_cancel_page, name="donation-cancel-page"),
    path("donations/manage/", donor_pages.donor_manage_page, name="donor-manage-page"),
    path(
        ".well-known/apple-developer-merchantid-domain-association",
        pages.apple_pay_domain_association,
        name="apple-pay-domain-association",
    ),
]
