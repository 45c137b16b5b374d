from django.urls import path

from campaign import pages

urlpatterns: list = [
    path("", pages.landing_page, name="landing"),
]
