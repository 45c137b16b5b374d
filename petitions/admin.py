from __future__ import annotations

from typing import Any

from django.contrib import admin

from petitions.models import Invalidation, Milestone, Petition, Signature
from petitions.validation import email_normalize


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 1
    fields = ["target", "reached_at"]
    readonly_fields = ["reached_at"]


@admin.register(Petition)
class PetitionAdmin(admin.ModelAdmin):
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
        ("Counts", {"fields": ["signature_count", "offline_count", "counts_updated_at"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["petition", "target", "reached_at"]
    list_filter = ["petition"]
    readonly_fields = ["reached_at"]


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: Any) -> bool:
        return False  # signatures come only through the signing flow (consent record)

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> tuple[Any, bool]:
        term = search_term.strip()
        if "@" in term and " " not in term:
            # Find the signature under any spelling of the address, as the dedupe does.
            return queryset.filter(email_normalized=email_normalize(term)[0]), False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description="Flag selected signatures (they stop counting at the next pass)")
    def flag_selected(self, request: Any, queryset: Any) -> None:
        updated = queryset.update(is_flagged=True, flag_reason="staff")
        self.message_user(request, f"{updated} signatures flagged.")

    @admin.action(description="Unflag selected signatures")
    def unflag_selected(self, request: Any, queryset: Any) -> None:
        updated = queryset.update(is_flagged=False, flag_reason="")
        self.message_user(request, f"{updated} signatures unflagged.")

    @admin.action(description="Export selected signatures as CSV")
    def export_csv(self, request: Any, queryset: Any) -> Any:
        from petitions.exports import signature_queryset_export_response

        return signature_queryset_export_response(queryset=queryset, format="csv", user=request.user)

    @admin.action(description="Export selected signatures as XLSX")
    def export_xlsx(self, request: Any, queryset: Any) -> Any:
        from petitions.exports import signature_queryset_export_response

        return signature_queryset_export_response(queryset=queryset, format="xlsx", user=request.user)


@admin.register(Invalidation)
class InvalidationAdmin(admin.ModelAdmin):
    list_display = ["id", "petition", "created_by", "signature_count", "reason", "created_at"]
    list_filter = ["petition"]
    readonly_fields = [
        "petition",
        "created_by",
        "ip_hash",
        "email_domain",
        "created_from",
        "created_to",
        "reason",
        "signature_count",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False  # through the staff API, which shows a preview count first
