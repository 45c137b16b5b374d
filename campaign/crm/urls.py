from __future__ import annotations

from django.urls import path

from campaign.crm import views

urlpatterns: list = [
    path("staff/crm/deliveries/", views.CrmDeliveryListView.as_view(), name="crm-delivery-list"),
    path(
        "staff/crm/deliveries/<int:delivery_id>/retry/",
        views.CrmDeliveryRetryView.as_view(),
        name="crm-delivery-retry",
    ),
    path("staff/crm/subscribers.csv", views.CrmSubscriberExportView.as_view(), name="crm-subscriber-export"),
]
