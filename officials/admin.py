from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from campaign.audit import audit_record, audit_selection
from campaign.exceptions import ApplicationError
from campaign.permissions import ORGANISE, VIEW_REPORTS, RoleAdminMixin, user_has_staff_permission
from officials.deliveries import delivery_cancel, delivery_resend
from officials.imports import constituencies_import, csv_rows_read, officials_import, postcode_areas_import
from officials.models import (
    Constituency,
    Delivery,
    DeliveryPlan,
    Official,
    PostcodeArea,
    RegionTotal,
)
from officials.recipients import delivery_plan_recipient_counts
from officials.verification import (
    official_address_mark_verified,
    official_address_reset,
    official_address_verification_send,
)

if TYPE_CHECKING:
    from django.template.response import _TemplateForResponseT


class CSVImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8, comma or semicolon separated, with a header row.")
    replace = forms.BooleanField(
        required=False,
        help_text="Postcodes only: delete the existing mapping of the imported countries first.",
    )


class CSVImportMixin:
    """An "Import CSV" page on the change list, calling the same service as the command."""

    # Typed as ModelAdmin types it: a mutable attribute must match both bases exactly.
    change_list_template: ClassVar[_TemplateForResponseT | None] = (
        "admin/officials/change_list_with_import.html"
    )
    import_columns: tuple[str, ...] = ()
    import_help = ""

    def import_rows(self, rows: list[dict[str, str]], replace: bool) -> dict[str, int]:
        raise NotImplementedError

    def get_urls(self) -> list[Any]:
        info = self.model._meta.app_label, self.model._meta.model_name  # type: ignore[attr-defined]
        return [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),  # type: ignore[attr-defined]
                name="{}_{}_import_csv".format(*info),
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        opts = self.model._meta  # type: ignore[attr-defined]
        if not self.has_add_permission(request):  # type: ignore[attr-defined]
            messages.error(request, "You may not add these records.")
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        form = CSVImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                rows = csv_rows_read(text=text, required=self.import_columns)
                result = self.import_rows(rows, form.cleaned_data["replace"])
                audit_record(
                    actor=request.user,
                    action="import",
                    object_type=opts.label_lower,
                    row_count=len(rows),
                    details={"result": result, "replace": form.cleaned_data["replace"]},
                    request=request,
                )
            except UnicodeDecodeError:
                messages.error(request, "The file is not UTF-8 encoded.")
            except ApplicationError as exc:
                details = "; ".join(f"{k}: {', '.join(v)}" for k, v in (exc.fields or {}).items())
                messages.error(request, f"{exc.message} {details}")
            else:
                messages.success(request, "Imported: " + ", ".join(f"{k} {v}" for k, v in result.items()))
                return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": opts,
            "form": form,
            "title": f"Import {opts.verbose_name_plural} from CSV",
            "columns": ", ".join(self.import_columns),
            "import_help": self.import_help,
        }
        return TemplateResponse(request, "admin/officials/import_csv.html", context)


@admin.register(Constituency)
class ConstituencyAdmin(RoleAdminMixin, CSVImportMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = ["parliament", "term", "number", "name", "state"]
    list_filter = ["parliament", "term", "state"]
    search_fields = ["name", "state", "=number"]
    import_columns = ("parliament", "number", "name", "state")
    import_help = "Optional column: term (e.g. 2025): numbers are matched within a term."

    def import_rows(self, rows: list[dict[str, str]], replace: bool) -> dict[str, int]:
        return constituencies_import(rows=rows)


@admin.register(PostcodeArea)
class PostcodeAreaAdmin(RoleAdminMixin, CSVImportMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = ["country", "postcode", "constituency", "share"]
    list_filter = ["country", "constituency__parliament"]
    search_fields = ["postcode", "constituency__name"]
    autocomplete_fields = ["constituency"]
    list_select_related = ["constituency"]
    import_columns = ("country", "postcode", "parliament", "constituency_number")
    import_help = "Optional column share (0..1, default 1). Import the constituencies first."

    def import_rows(self, rows: list[dict[str, str]], replace: bool) -> dict[str, int]:
        return postcode_areas_import(rows=rows, replace=replace)


class OfficialAdminForm(forms.ModelForm):
    manual_check = forms.CharField(
        required=False,
        max_length=450,
        label="Record a manual check",
        help_text="How you verified the address, e.g. “confirmed by phone with the office on 3 Dec”. "
        "Saving with a note marks the address verified; mails go only to verified addresses.",
    )

    class Meta:
        model = Official
        fields = [
            "name",
            "salutation",
            "email",
            "role",
            "organisation",
            "parliament",
            "state",
            "mandate",
            "constituency",
            "office_address",
            "language",
            "active",
        ]


@admin.register(Official)
class OfficialAdmin(RoleAdminMixin, CSVImportMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    form = OfficialAdminForm
    list_display = ["name", "organisation", "mandate", "state", "constituency", "address_status", "active"]
    list_filter = ["active", "address_status", "mandate", "state", "parliament", "organisation", "language"]
    search_fields = ["name", "email", "organisation", "constituency__name", "external_id"]
    autocomplete_fields = ["constituency"]
    list_select_related = ["constituency"]
    actions = ["send_verification_mails"]
    readonly_fields = [
        "external_id",
        "address_status",
        "address_verification_method",
        "address_verified_at",
        "address_verified_by",
        "address_verification_note",
        "address_verification_sent_at",
    ]
    import_columns = ("name", "email")
    import_help = (
        "Optional columns: salutation, role, organisation, parliament, term, constituency_number, "
        "language (de/en), active (true/false). Officials are matched by e-mail address; imported "
        "addresses are unverified until staff verify them."
    )

    def import_rows(self, rows: list[dict[str, str]], replace: bool) -> dict[str, int]:
        return officials_import(rows=rows)

    def save_model(self, request: HttpRequest, obj: Official, form: forms.ModelForm, change: bool) -> None:
        if change and "email" in form.changed_data:
            official_address_reset(official=obj)  # a new address is unverified again
        super().save_model(request, obj, form, change)
        note = form.cleaned_data.get("manual_check", "")
        if note:
            official_address_mark_verified(
                official_id=obj.pk, staff_name=request.user.get_username(), note=note
            )

    @admin.action(description="Send a verification mail to the selected officials' addresses")
    def send_verification_mails(self, request: HttpRequest, queryset: QuerySet[Official]) -> None:
        pending = queryset.exclude(address_status=Official.AddressStatus.VERIFIED).filter(active=True)
        sent = 0
        for pk in pending.values_list("pk", flat=True):
            official_address_verification_send(official_id=pk, staff_name=request.user.get_username())
            sent += 1
        self.message_user(request, f"{sent} verification mails queued.", messages.SUCCESS)


@admin.register(DeliveryPlan)
class DeliveryPlanAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    change_permissions = (ORGANISE,)
    list_display = [
        "name",
        "petition",
        "active",
        "parliament",
        "milestones",
        "schedule",
        "recipients",
        "include_names",
        "hourly_cap",
    ]
    list_filter = ["active", "include_names", "petition"]
    filter_horizontal = ["officials"]
    readonly_fields = ["recipients", "last_period", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["petition", "name", "active"]}),
        ("Recipients", {"fields": ["officials", "parliament", "direct_only", "state", "recipients"]}),
        ("Milestones", {"fields": ["milestones"]}),
        (
            "Weekly schedule",
            {
                "fields": [
                    "schedule_weekday",
                    "schedule_time",
                    "schedule_timezone",
                    "only_when_changed",
                    "last_period",
                ]
            },
        ),
        (
            "Content and pace",
            {
                "fields": ["include_names", "hourly_cap"],
                "description": "Names are passed on only when this box is ticked, and only of signers "
                "who agreed to it; they go into the report attached to milestone mails.",
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="recipients (active)")
    def recipients(self, plan: DeliveryPlan) -> str:
        if not plan.pk:
            return "—"
        counts = delivery_plan_recipient_counts(plan=plan)
        if not counts["unverified"]:
            return f"{counts['verified']} verified"
        # Unverified addresses receive nothing until staff verify them (Officials > verify).
        return f"{counts['verified']} verified, {counts['unverified']} unverified (not mailed)"

    @admin.display(description="schedule")
    def schedule(self, plan: DeliveryPlan) -> str:
        if plan.schedule_weekday is None:
            return "—"
        return f"{plan.get_schedule_weekday_display()} {plan.schedule_time:%H:%M} {plan.schedule_timezone}"


@admin.register(Delivery)
class DeliveryAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    """What was sent to whom and when, with the exact totals the mail stated. Nothing here is
    editable; a delivery is sent again only by the explicit resend action."""

    list_display = [
        "created_at",
        "official",
        "petition",
        "trigger",
        "status",
        "total",
        "released_at",
        "sent_at",
    ]
    list_filter = ["status", "petition", "campaign"]
    search_fields = ["official__name", "official__email", "trigger", "message_id"]
    list_select_related = ["official", "petition"]
    date_hierarchy = "created_at"
    actions = ["resend_deliveries", "cancel_deliveries"]
    readonly_fields = [
        "official",
        "petition",
        "campaign",
        "plan",
        "trigger",
        "status",
        "totals_sent",
        "include_names",
        "released_at",
        "sent_at",
        "message_id",
        "outgoing_email_link",
        "resend_count",
        "created_at",
        "updated_at",
    ]
    exclude = ["totals", "outgoing_email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what was sent stays as it was

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return user_has_staff_permission(request.user, ORGANISE)

    @admin.display(description="total")
    def total(self, delivery: Delivery) -> Any:
        return delivery.totals.get("total")

    @admin.display(description="totals sent")
    def totals_sent(self, delivery: Delivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.totals, indent=2, ensure_ascii=False))

    @admin.display(description="outgoing email")
    def outgoing_email_link(self, delivery: Delivery) -> str:
        if not delivery.outgoing_email_id:
            return "—"
        url = reverse("admin:campaign_outgoingemail_change", args=[delivery.outgoing_email_id])
        return format_html('<a href="{}">#{}</a>', url, delivery.outgoing_email_id)

    @admin.action(
        description="Resend selected deliveries that failed or need review (check with the office first)",
        permissions=["resend"],
    )
    def resend_deliveries(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> HttpResponse | None:
        eligible = queryset.filter(status__in=[Delivery.Status.NEEDS_REVIEW, Delivery.Status.FAILED])
        if request.POST.get("confirm") != "yes":
            # A second, explicit step: the mail may have arrived before the worker died.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Resend deliveries?",
                "deliveries": eligible.select_related("official", "petition"),
                "skipped": queryset.count() - eligible.count(),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "action": "resend_deliveries",
            }
            return TemplateResponse(request, "admin/officials/delivery_resend_confirm.html", context)
        ids = list(eligible.values_list("pk", flat=True))
        resent = sum(delivery_resend(delivery_id=pk) for pk in ids)
        audit_selection(request, "delivery.resend", "officials.delivery", ids, resent)
        self.message_user(request, f"{resent} deliveries queued again.", messages.SUCCESS)
        return None

    @admin.action(description="Cancel selected deliveries that are still scheduled", permissions=["resend"])
    def cancel_deliveries(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        canceled = sum(delivery_cancel(delivery_id=pk) for pk in ids)
        audit_selection(request, "delivery.cancel", "officials.delivery", ids, canceled)
        self.message_user(request, f"{canceled} deliveries canceled.", messages.SUCCESS)


@admin.register(RegionTotal)
class RegionTotalAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (VIEW_REPORTS,)
    """Maintained by the counter pass; read-only here."""

    list_display = ["petition", "bucket", "constituency", "country", "state", "count", "updated_at"]
    list_filter = ["petition", "country", "state"]
    list_select_related = ["petition", "constituency"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
