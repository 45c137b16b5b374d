from django.conf import settings
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from campaign.models import Campaign, ExportLog, Organisation, OutgoingEmail

# The admin and staff pages carry the service's organisation's name (ORG_NAME), not Django's:
# one admin serves every campaign.
admin.site.site_header = settings.ORGANISATION["name"]
admin.site.site_title = settings.ORGANISATION["name"]
admin.site.index_title = "Kampagnen-Verwaltung · Campaign administration"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
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
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title_de", "slug", "status", "organisation", "starts_at", "ends_at", "donation_goal"]
    list_filter = ["status", "organisation"]
    search_fields = ["slug", "title_de", "title_en"]
    prepopulated_fields = {"slug": ["title_de"]}
    list_select_related = ["organisation"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "locale", "attempts", "created_at", "sent_at", "last_error"]
    list_filter = ["status", "kind", "at_most_once"]
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]
    # The recipient address is personal data: visible on the row, not searchable in bulk lists.
    exclude = ["context"]

    def has_add_permission(self, request: HttpRequest) -> bool:  # the outbox is written by the services only
        return False


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
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
