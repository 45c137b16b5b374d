from django.urls import path

from pages import views

urlpatterns: list = [
    path("", views.landing_page, name="landing"),
]
