from django.urls import path

from officials import views

urlpatterns = [
    path("regions/lookup/", views.RegionLookupView.as_view(), name="region-lookup"),
    path("petitions/<slug:slug>/regions/", views.PetitionRegionsView.as_view(), name="petition-regions"),
    path(
        "petitions/<slug:slug>/regions/map.svg",
        views.PetitionRegionsMapView.as_view(),
        name="petition-regions-map",
    ),
    path(
        "staff/petitions/<slug:slug>/constituencies/",
        views.StaffPetitionConstituenciesView.as_view(),
        name="staff-petition-constituencies",
    ),
    path(
        "staff/petitions/<slug:slug>/report.pdf",
        views.StaffPetitionReportView.as_view(),
        name="staff-petition-report",
    ),
]
