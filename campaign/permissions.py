"""Staff roles and the permissions every staff endpoint and admin page checks.

A role is a Django group holding some of the five custom permissions defined on the core's
`Campaign` model (so every app can name them without importing another app). Being `is_staff`
only lets an account log in; what it may see or do comes from its roles. A superuser holds
every permission. The groups are created by the data migration
`campaign/migrations/0006_staff_roles.py`; `staff_roles_ensure()` puts them back (tests that
flush the database, a deployment where someone deleted one).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

VIEW_REPORTS = "campaign.view_reports"
ORGANISE = "campaign.organise"
EXPORT_PERSONAL_DATA = "campaign.export_personal_data"
MANAGE_FINANCE = "campaign.manage_finance"
PRIVACY_OFFICER = "campaign.privacy_officer"

# codename -> description, as in Campaign.Meta.permissions.
PERMISSIONS: dict[str, str] = {
    "view_reports": "View counts, charts, regional totals and the delivery log (no personal data)",
    "organise": "Manage petitions, milestones, delivery plans, officials and supporter updates",
    "export_personal_data": "Download signer lists with personal data",
    "manage_finance": "Manage donations, refunds, receipts and mandates",
    "privacy_officer": "Handle erasure and access requests; read the audit trail",
}

# group name -> the permissions (app_label.codename) it holds.
ROLES: dict[str, tuple[str, ...]] = {
    "viewer": (VIEW_REPORTS,),
    "organiser": (VIEW_REPORTS, ORGANISE),
    "data export": (EXPORT_PERSONAL_DATA,),
    "finance": (MANAGE_FINANCE,),
    "privacy officer": (PRIVACY_OFFICER,),
}


def staff_roles_ensure() -> None:
    """Creates the role groups and their permissions if missing (idempotent)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from campaign.models import Campaign

    content_type = ContentType.objects.get_for_model(Campaign)
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMISSIONS.items()
    }
    for group_name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(permissions[perm.split(".", 1)[1]] for perm in perms))


def user_has_staff_permission(user: Any, *perms: str) -> bool:
    """An active staff account holding at least one of `perms` (through a role, or superuser)."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return any(user.has_perm(perm) for perm in perms)


def request_is_second_factor_verified(request: Any) -> bool:
    """A staff token (issued only from a verified session) or a session verified with the
    second factor (django-otp's middleware sets `is_verified`)."""
    from campaign.models import StaffToken

    if isinstance(getattr(request, "auth", None), StaffToken):
        return True
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


class _StaffPermission(BasePermission):
    perms: tuple[str, ...] = ()
    message = "Your staff roles do not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not user_has_staff_permission(request.user, *self.perms):
            return False
        if not request_is_second_factor_verified(request):
            self.message = "Verify the login with your second factor first."
            return False
        return True


def HasStaffPermission(*perms: str) -> type[BasePermission]:  # noqa: N802 - reads as a class
    """A DRF permission class: the request's staff account holds any one of `perms`.
    Anonymous requests get 401 (the token scheme's challenge), others without it 403."""
    if not perms:
        raise ValueError("name at least one permission")
    return type(f"HasStaffPermission[{'|'.join(perms)}]", (_StaffPermission,), {"perms": perms})


class RoleAdminMixin:
    """ModelAdmin permissions from the staff roles instead of Django's per-model permissions:
    `view_permissions` may look, `change_permissions` may add, change and delete (where the
    admin allows that at all; its own has_*_permission methods still win)."""

    view_permissions: tuple[str, ...] = ()
    change_permissions: tuple[str, ...] = ()
    # Models holding personal data: looking at their lists and rows is audited too.
    audit_reads = False

    def changelist_view(self, request: Any, extra_context: Any = None) -> Any:
        if self.audit_reads and request.method == "GET":
            # The parameter names only: a search term may be an e-mail address.
            _admin_read_audit(request, "admin.list", self, "", {"params": sorted(request.GET.keys())})
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def change_view(self, request: Any, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        if self.audit_reads and request.method == "GET":
            _admin_read_audit(request, "admin.view", self, object_id, {})
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def has_module_permission(self, request: Any) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return user_has_staff_permission(request.user, *self.view_permissions, *self.change_permissions)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return bool(self.change_permissions) and user_has_staff_permission(
            request.user, *self.change_permissions
        )

    def has_add_permission(self, request: Any, *args: Any) -> bool:
        return self.has_change_permission(request)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return self.has_change_permission(request)

    # Every change made through the admin's forms goes to the audit trail too (the field
    # names changed, never their values). Admin actions record their own entries.
    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        _admin_audit(request, "admin.add", obj, message)
        return super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        _admin_audit(request, "admin.change", obj, message)
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        for obj in queryset:
            _admin_audit(request, "admin.delete", obj, [])
        return super().log_deletions(request, queryset)  # type: ignore[misc]


def _admin_audit(request: Any, action: str, obj: Any, message: Any) -> None:
    from campaign.audit import audit_record

    audit_record(
        actor=request.user,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=obj.pk,
        details={"change": message} if isinstance(message, list) else {},
        request=request,
    )


def _admin_read_audit(request: Any, action: str, model_admin: Any, object_id: str, details: dict) -> None:
    from campaign.audit import audit_record

    if not model_admin.has_view_permission(request):
        return  # Django answers 403; nothing was read
    audit_record(
        actor=request.user,
        action=action,
        object_type=model_admin.model._meta.label_lower,
        object_id=object_id,
        details=details,
        request=request,
    )
