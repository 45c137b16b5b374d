"""The staff pages of the petitions app (mounted at /staff/review/)."""

from django.urls import path

from petitions import review_pages

urlpatterns: list = [
    path("<slug:slug>/", review_pages.petition_review_page, name="staff-review-page"),
]
