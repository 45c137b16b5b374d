from django.urls import path

from pages import views

urlpatterns: list = [
    path("campaigns/<slug:slug>/", views.CampaignDetailView.as_view(), name="campaign-detail"),
    path("widget/config/", views.WidgetConfigView.as_view(), name="widget-config"),
]
