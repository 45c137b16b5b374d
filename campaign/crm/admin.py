"""The dead-letter view of the CRM webhooks for staff (privacy officer or organiser): the
deliveries by status, with a "retry" action for dead letters (imported by campaign.admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from campaign.audit import audit_record
from campaign.crm.delivery import crm_delivery_retry
from campaign.crm.models import CrmDelivery
from campaign.permissions import ORGANISE, PRIVACY_OFFICER, RoleAdminMixin

FIELDS = (
    "event_id",
    "event",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_at",
    "delivered_at",
    "last_error",
)


@admin.register(CrmDelivery)
class CrmDeliveryAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (PRIVACY_OFFICER, ORGANISE)
    list_display = ["id", "event", "status", "attempts", "next_attempt_at", "last_error", "created_at"]
    list_filter = ["status", "event"]
    # No payload: a pending one still holds the address.
    fields = FIELDS
    readonly_fields = FIELDS
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Retry the selected dead letters")
    def retry(self, request: HttpRequest, queryset: Any) -> None:
        retried = 0
        for pk in queryset.filter(status=CrmDelivery.Status.DEAD).values_list("pk", flat=True):
            if crm_delivery_retry(crm_delivery_id=pk):
                audit_record(
                    actor=request.user,
                    action="crm.delivery_retry",
                    object_type="campaign.crmdelivery",
                    object_id=pk,
                    request=request,
                )
                retried += 1
        self.message_user(request, f"{retried} deliveries queued again.", messages.SUCCESS)
