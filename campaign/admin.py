from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

from campaign.models import Campaign, ExportLog, OutgoingEmail
from campaign.permissions import ORGANISE, PRIVACY_OFFICER, VIEW_REPORTS, RoleAdminMixin

# The admin and staff pages carry the campaign organisation's name, not Django's.
admin.site.site_header = settings.ORGANISATION["name"]
admin.site.site_title = settings.ORGANISATION["name"]
admin.site.index_title = "Kampagnen-Verwaltung · Campaign administration"


@admin.register(Campaign)
class CampaignAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = ["title_de", "slug", "status", "starts_at", "ends_at", "donation_goal"]
    list_filter = ["status"]
    search_fields = ["slug", "title_de", "title_en"]
    prepopulated_fields = {"slug": ["title_de"]}


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
