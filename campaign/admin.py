from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest

from campaign.audit import audit_record
from campaign.models import (
    AuditEntry,
    Campaign,
    ErasureReceipt,
    ExportLog,
    Organisation,
    OutgoingEmail,
    PrivacyRequest,
    SuppressedAddress,
)
from campaign.permissions import (
    ORGANISE,
    PRIVACY_OFFICER,
    VIEW_REPORTS,
    RoleAdminMixin,
    user_has_staff_permission,
)

# The admin and staff pages carry the service's organisation's name (ORG_NAME), not Django's:
# one admin serves every campaign.
admin.site.site_header = settings.ORGANISATION["name"]
admin.site.site_title = settings.ORGANISATION["name"]
admin.site.index_title = "Kampagnen-Verwaltung · Campaign administration"


@admin.register(Organisation)
class OrganisationAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    """The organisations behind the campaigns: their imprint and their receipts' tax details."""

    list_display = ["name", "email", "website", "tax_number"]
    search_fields = ["name", "email"]
    # A website typed without a scheme is taken as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (
            "Impressum · Imprint",
            {"fields": ["name", "address", "email", "phone", "website", "register", "representative"]},
        ),
        (
            "Zuwendungsbestätigungen · Donation receipts",
            {
                "description": "Receipts of its campaigns name this organisation once it has a tax "
                "number; until then the service-wide RECEIPT_* settings and organisation apply.",
                "fields": [
                    "tax_office",
                    "tax_number",
                    "exemption_date",
                    "exemption_period",
                    "purpose",
                    "signatory",
                    "place",
                ],
            },
        ),
    ]


@admin.register(Campaign)
class CampaignAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = ["title_de", "slug", "status", "organisation", "starts_at", "ends_at", "donation_goal"]
    list_filter = ["status", "organisation"]
    search_fields = ["slug", "title_de", "title_en"]
    prepopulated_fields = {"slug": ["title_de"]}
    list_select_related = ["organisation"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(RoleAdminMixin, admin.ModelAdmin):
    # Recipients' addresses: organisers and the privacy officer look; nobody edits.
    view_permissions = (ORGANISE, PRIVACY_OFFICER)
    list_display = ["id", "kind", "status", "locale", "attempts", "created_at", "sent_at", "last_error"]
    list_filter = ["status", "kind", "at_most_once"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]
    # The recipient address is personal data: visible on the row, not searchable in bulk lists.
    exclude = ["context"]

    def has_add_permission(self, request: HttpRequest) -> bool:  # the outbox is written by the services only
        return False


@admin.register(ExportLog)
class ExportLogAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (PRIVACY_OFFICER,)
    """The export audit: read-only, written by the exports themselves."""

    list_display = ["created_at", "username", "kind", "format", "row_count", "finished"]
    list_filter = ["kind", "format", "finished"]
    readonly_fields = [f.name for f in ExportLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ExportLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExportLog | None = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(RoleAdminMixin, admin.ModelAdmin):
    """The audit trail, for the privacy officer: read-only, nobody adds, changes or deletes."""

    view_permissions = (PRIVACY_OFFICER,)
    list_display = ["created_at", "actor_username", "action", "object_type", "object_id", "row_count"]
    list_filter = ["action", "object_type", "actor_username", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=actor_username", "=object_id", "=ip_hash"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


User = get_user_model()
ROLE_FLAGS = ("is_active", "is_staff", "is_superuser")


class StaffUserAdmin(UserAdmin):
    """Django's user admin (superusers only), with every change of roles and staff flags in
    the audit trail."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before: dict[str, Any] = (
            User.objects.filter(pk=obj.pk).values(*ROLE_FLAGS).first() if change else None
        ) or {}
        request._audit_groups_before = (  # type: ignore[attr-defined]
            set(obj.groups.values_list("name", flat=True)) if change else set()
        )
        super().save_model(request, obj, form, change)
        flags = {f: getattr(obj, f) for f in ROLE_FLAGS if before.get(f) != getattr(obj, f)}
        if flags:
            audit_record(
                actor=request.user,
                action="role.change",
                object_type="auth.user",
                object_id=obj.pk,
                details={"flags": flags},
                request=request,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        before: set[str] = getattr(request, "_audit_groups_before", set())
        after = set(form.instance.groups.values_list("name", flat=True))
        if before != after:
            audit_record(
                actor=request.user,
                action="role.change",
                object_type="auth.user",
                object_id=form.instance.pk,
                details={"added": sorted(after - before), "removed": sorted(before - after)},
                request=request,
            )


class StaffGroupAdmin(GroupAdmin):
    """Django's group admin (superusers only): a change of a role's permissions is audited."""

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action="role.permissions_change",
            object_type="auth.group",
            object_id=obj.pk,
            details={
                "group": obj.name,
                "permissions": sorted(obj.permissions.values_list("codename", flat=True)),
            },
            request=request,
        )
        return super().log_change(request, obj, message)


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, StaffGroupAdmin)


class _ReadOnlyAdmin(RoleAdminMixin, admin.ModelAdmin):
    """Records written by the privacy services only (campaign/privacy/), for the privacy officer."""

    view_permissions = (PRIVACY_OFFICER,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(_ReadOnlyAdmin):
    list_display = ["id", "created_at", "origin", "requested_by"]
    list_filter = ["origin"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(_ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "created_at", "due_at", "confirmed_at", "completed_at"]
    list_filter = ["kind", "status"]
    exclude = ["email_sealed", "confirm_token_hash", "export_token_hash"]


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(_ReadOnlyAdmin):
    """Deleting an entry lets non-transactional mail reach the address again (e.g. after a
    bounce that turned out to be temporary)."""

    list_display = ["email_hash", "reason", "created_at"]
    list_filter = ["reason"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return user_has_staff_permission(request.user, PRIVACY_OFFICER)


# The CRM webhooks' dead-letter view lives with its sub-domain.
from campaign.crm import admin as crm_admin  # noqa: E402, F401
