from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

from campaign.models import (
    Campaign,
    ErasureReceipt,
    ExportLog,
    OutgoingEmail,
    PrivacyRequest,
    SuppressedAddress,
)

# The admin and staff pages carry the campaign organisation's name, not Django's.
admin.site.site_header = settings.ORGANISATION["name"]
admin.site.site_title = settings.ORGANISATION["name"]
admin.site.index_title = "Kampagnen-Verwaltung · Campaign administration"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title_de", "slug", "status", "starts_at", "ends_at", "donation_goal"]
    list_filter = ["status"]
    search_fields = ["slug", "title_de", "title_en"]
    prepopulated_fields = {"slug": ["title_de"]}


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


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the privacy services only (campaign/privacy/)."""

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
