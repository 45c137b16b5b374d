from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from campaign.audit import audit_record, audit_selection
from campaign.permissions import (
    EXPORT_PERSONAL_DATA,
    ORGANISE,
    PRIVACY_OFFICER,
    VIEW_REPORTS,
    RoleAdminMixin,
    user_has_staff_permission,
)
from petitions.models import Invalidation, Milestone, Petition, Signature
from petitions.validation import email_normalize


class MilestoneInline(RoleAdminMixin, admin.TabularInline):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    model = Milestone
    extra = 1
    fields = ["target", "reached_at"]
    readonly_fields = ["reached_at"]


@admin.register(Petition)
class PetitionAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = [
        "slug",
        "title_de",
        "campaign",
        "status",
        "signature_count",
        "offline_count",
        "opens_at",
        "closes_at",
    ]
    list_filter = ["status", "campaign"]
    search_fields = ["slug", "title_de", "title_en"]
    prepopulated_fields = {"slug": ["title_de"]}
    readonly_fields = ["signature_count", "counts_updated_at", "created_at", "updated_at"]
    inlines = [MilestoneInline]
    fieldsets = [
        (None, {"fields": ["campaign", "slug", "status", "opens_at", "closes_at"]}),
        ("Text", {"fields": ["title_de", "title_en", "text_de", "text_en"]}),
        (
            "Consent",
            {
                "fields": [
                    "consent_text_de",
                    "consent_text_en",
                    "updates_consent_text_de",
                    "updates_consent_text_en",
                    "newsletter_consent_text_de",
                    "newsletter_consent_text_en",
                    "consent_version",
                    "altcha_enabled",
                ]
            },
        ),
        (
            "Operator switch",
            {"fields": ["signing_paused", "signing_paused_message_de", "signing_paused_message_en"]},
        ),
        ("Counts", {"fields": ["signature_count", "offline_count", "counts_updated_at"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Pausing or resuming signing is audited (who, when, which petition)."""
        before = Petition.objects.filter(pk=obj.pk).values_list("signing_paused", flat=True).first()
        super().save_model(request, obj, form, change)
        if bool(before) != obj.signing_paused:
            audit_record(
                actor=request.user,
                action="petition.signing_paused" if obj.signing_paused else "petition.signing_resumed",
                object_type="petitions.petition",
                object_id=obj.pk,
                request=request,
            )


@admin.register(Milestone)
class MilestoneAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = ["petition", "target", "reached_at"]
    list_filter = ["petition"]
    readonly_fields = ["reached_at"]


@admin.register(Signature)
class SignatureAdmin(RoleAdminMixin, admin.ModelAdmin):
    # Personal data: the data-export role and the privacy officer look; organisers who may also
    # look flag and unflag; only the data-export role exports.
    view_permissions = (EXPORT_PERSONAL_DATA, PRIVACY_OFFICER)
    audit_reads = True
    list_display = [
        "id",
        "petition",
        "status",
        "is_flagged",
        "flag_reason",
        "country",
        "postcode",
        "created_at",
    ]
    list_filter = ["petition", "status", "is_flagged", "country", "newsletter_consent", "show_name_publicly"]
    search_fields = ["=email", "=email_normalized", "=ip_hash", "email_domain"]
    search_help_text = (
        "An e-mail address (any spelling of it: case, +tag, Gmail dots), an IP hash or a mail domain."
    )
    date_hierarchy = "created_at"
    list_select_related = ["petition"]
    show_full_result_count = False  # a COUNT(*) over a million rows on every page load is slow
    readonly_fields = [
        f.name
        for f in Signature._meta.get_fields()
        if f.concrete and f.name not in {"is_flagged", "flag_reason"}
    ]
    actions = ["flag_selected", "unflag_selected", "export_csv", "export_xlsx"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return self.has_view_permission(request) and user_has_staff_permission(request.user, ORGANISE)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # erasure goes through the retention services, never a row delete

    def has_export_permission(self, request: Any) -> bool:
        return user_has_staff_permission(request.user, EXPORT_PERSONAL_DATA)

    def has_add_permission(self, request: Any) -> bool:
        return False  # signatures come only through the signing flow (consent record)

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> tuple[Any, bool]:
        term = search_term.strip()
        if "@" in term and " " not in term:
            # Find the signature under any spelling of the address, as the dedupe does.
            return queryset.filter(email_normalized=email_normalize(term)[0]), False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(
        description="Flag selected signatures (they stop counting at the next pass)", permissions=["change"]
    )
    def flag_selected(self, request: Any, queryset: Any) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        updated = Signature.objects.filter(pk__in=ids).update(is_flagged=True, flag_reason="staff")
        audit_selection(request, "signature.flag", "petitions.signature", ids, updated)
        self.message_user(request, f"{updated} signatures flagged.")

    @admin.action(description="Unflag selected signatures", permissions=["change"])
    def unflag_selected(self, request: Any, queryset: Any) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        updated = Signature.objects.filter(pk__in=ids).update(is_flagged=False, flag_reason="")
        audit_selection(request, "signature.unflag", "petitions.signature", ids, updated)
        self.message_user(request, f"{updated} signatures unflagged.")

    @admin.action(description="Export selected signatures as CSV", permissions=["export"])
    def export_csv(self, request: Any, queryset: Any) -> Any:
        from petitions.exports import signature_queryset_export_response

        return signature_queryset_export_response(queryset=queryset, format="csv", user=request.user)

    @admin.action(description="Export selected signatures as XLSX", permissions=["export"])
    def export_xlsx(self, request: Any, queryset: Any) -> Any:
        from petitions.exports import signature_queryset_export_response

        return signature_queryset_export_response(queryset=queryset, format="xlsx", user=request.user)


@admin.register(Invalidation)
class InvalidationAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (ORGANISE, PRIVACY_OFFICER)
    list_display = ["id", "petition", "created_by", "signature_count", "reason", "created_at", "undone_at"]
    list_filter = ["petition"]
    readonly_fields = [
        "petition",
        "created_by",
        "ip_hash",
        "email_domain",
        "created_from",
        "created_to",
        "flag_reason",
        "reason",
        "signature_count",
        "undone_at",
        "undone_by",
        "undone_count",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False  # through the staff API, which shows a preview count first
