from __future__ import annotations

from django.urls import path

from petitions import views

urlpatterns: list = [
    path("petitions/<slug:slug>/", views.PetitionDetailView.as_view(), name="petition-detail"),
    path("petitions/<slug:slug>/count/", views.petition_count_view, name="petition-count"),
    path(
        "petitions/<slug:slug>/recent-signers/",
        views.PetitionRecentSignersView.as_view(),
        name="petition-recent-signers",
    ),
    path("petitions/<slug:slug>/signatures/", views.SignatureCreateView.as_view(), name="signature-create"),
    path("altcha/challenge/", views.AltchaChallengeView.as_view(), name="altcha-challenge"),
    path("signatures/confirm/", views.SignatureConfirmView.as_view(), name="signature-confirm"),
    path("signatures/withdraw/", views.SignatureWithdrawView.as_view(), name="signature-withdraw"),
    path(
        "staff/petitions/<slug:slug>/invalidations/",
        views.PetitionInvalidationCreateView.as_view(),
        name="petition-invalidation-create",
    ),
    path(
        "staff/petitions/<slug:slug>/updates/",
        views.PetitionUpdateCreateView.as_view(),
        name="petition-update-create",
    ),
    path(
        "staff/petitions/<slug:slug>/signatures.csv",
        views.SignatureExportView.as_view(export_format="csv"),
        name="signature-export-csv",
    ),
    path(
        "staff/petitions/<slug:slug>/signatures.xlsx",
        views.SignatureExportView.as_view(export_format="xlsx"),
        name="signature-export-xlsx",
    ),
]
