from __future__ import annotations

from typing import Any

from django.contrib import admin

from campaign.audit import audit_record, audit_selection
from campaign.permissions import MANAGE_FINANCE, PRIVACY_OFFICER, RoleAdminMixin, user_has_staff_permission
from donations.models import Donation, Donor, Mandate, Receipt, StripeEvent


@admin.register(Donor)
class DonorAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = (PRIVACY_OFFICER,)
    change_permissions = (MANAGE_FINANCE,)
    audit_reads = True
    list_display = ["id", "first_name", "last_name", "email", "city", "anonymised_at", "created_at"]
    search_fields = ["email_normalized", "last_name"]
    readonly_fields = ["email_normalized", "anonymised_at", "created_at", "updated_at"]
    actions = ["anonymise"]

    def has_erase_permission(self, request: Any) -> bool:
        return user_has_staff_permission(request.user, PRIVACY_OFFICER)

    @admin.action(
        description="Erase personal data (erasure request) and stop monthly gifts", permissions=["erase"]
    )
    def anonymise(self, request: Any, queryset: Any) -> None:
        from donations.retention import donor_anonymise

        ids = list(queryset.values_list("pk", flat=True))
        for donor_id in ids:
            donor_anonymise(donor_id=donor_id)
        audit_selection(request, "donor.erase", "donations.donor", ids, len(ids))
        self.message_user(request, f"{len(ids)} donor(s) anonymised.")


@admin.register(Donation)
class DonationAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = ()
    change_permissions = (MANAGE_FINANCE,)
    list_display = ["id", "campaign", "amount", "fee_amount", "method", "interval", "status", "created_at"]
    list_filter = ["status", "method", "interval", "campaign"]
    search_fields = ["public_id", "stripe_payment_intent_id", "stripe_charge_id"]
    list_select_related = ["campaign"]
    raw_id_fields = ["donor", "mandate", "receipt"]
    # Money state comes from Stripe; staff look, they do not edit.
    readonly_fields = [f.name for f in Donation._meta.fields]
    actions = ["refund", "receipt_on_request"]

    @admin.action(description="Issue a receipt on the donor's request (one-off now, past years collectively)")
    def receipt_on_request(self, request: Any, queryset: Any) -> None:
        from donations.collective_receipts import receipt_request

        issued = [receipt_request(donation_id=pk) for pk in queryset.values_list("pk", flat=True)]
        numbers = sorted({r.number for r in issued if r is not None})
        self.message_user(request, f"Receipt(s) {', '.join(numbers) or 'none yet (collective in January)'}.")

    @admin.action(description="Refund in full at Stripe (the status follows from Stripe's event)")
    def refund(self, request: Any, queryset: Any) -> None:
        from donations.charging import donation_refund
        from donations.stripe_api import StripeRejected, StripeUnavailable

        done = 0
        ids = list(queryset.values_list("pk", flat=True))
        for donation_id in ids:
            try:
                done += donation_refund(donation_id=donation_id)
            except (StripeRejected, StripeUnavailable) as exc:
                self.message_user(request, f"Donation {donation_id}: {exc}", level="error")
        audit_selection(request, "donation.refund", "donations.donation", ids, done)
        self.message_user(request, f"{done} refund(s) requested.")

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Mandate)
class MandateAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = ()
    change_permissions = (MANAGE_FINANCE,)
    list_display = ["reference", "campaign", "amount", "method", "status", "next_charge_on", "failure_count"]
    list_filter = ["status", "method"]
    search_fields = ["reference"]
    raw_id_fields = ["donor"]
    readonly_fields = [
        "public_id",
        "stripe_customer_id",
        "stripe_payment_method_id",
        "stripe_mandate_id",
        "failure_count",
        "paused_at",
        "canceled_at",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request: Any, obj: Mandate, form: Any, change: bool) -> None:
        """A change of amount or day goes through the service, which tells the donor (for SEPA
        the pre-notification); the admin's history records who did it."""
        changed = set(form.changed_data)
        if not change or not changed & {"amount", "day_of_month"}:
            super().save_model(request, obj, form, change)
            return
        from django.db import transaction

        from campaign.exceptions import ApplicationError
        from donations.mandate_changes import mandate_change

        with transaction.atomic():
            locked = Mandate.objects.select_for_update(of=("self",)).select_related("donor").get(pk=obj.pk)
            try:
                mandate_change(locked, amount=obj.amount, day_of_month=obj.day_of_month, by="staff")
            except ApplicationError as exc:
                self.message_user(request, f"Not changed: {exc.message}", level="error")
                return
            others = sorted(changed - {"amount", "day_of_month", "fee_amount", "next_charge_on"})
            if others:
                obj.save(update_fields=[*others, "updated_at"])


@admin.register(StripeEvent)
class StripeEventAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = ()
    change_permissions = (MANAGE_FINANCE,)
    list_display = ["event_id", "type", "status", "outcome", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Receipt)
class ReceiptAdmin(RoleAdminMixin, admin.ModelAdmin):
    view_permissions = ()
    change_permissions = (MANAGE_FINANCE,)
    list_display = ["number", "kind", "status", "amount", "donated_on", "issued_at", "voided_at"]
    list_filter = ["kind", "status", "year"]
    search_fields = ["number"]
    raw_id_fields = ["donor"]
    readonly_fields = [f.name for f in Receipt._meta.fields]
    actions = ["send_again"]

    def get_urls(self) -> list:
        from django.urls import path

        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="donations_receipt_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request: Any, pk: int) -> Any:
        """The receipt as PDF, for staff answering a donor or an auditor."""
        from django.http import Http404, HttpResponse

        from donations.receipts import receipt_pdf_render

        if not self.has_view_permission(request):
            raise Http404
        receipt = Receipt.objects.filter(pk=pk).first()
        if receipt is None:
            raise Http404
        # The PDF carries the donor's name and address: a read of personal data.
        audit_record(actor=request.user, action="receipt.view", object_type="donations.receipt", object_id=pk)
        response = HttpResponse(receipt_pdf_render(receipt), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="Zuwendungsbestaetigung-{receipt.number}.pdf"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Send the receipt to the donor again")
    def send_again(self, request: Any, queryset: Any) -> None:
        from donations.receipts import receipt_mail_again

        ids = list(queryset.values_list("pk", flat=True))
        sent = sum(receipt_mail_again(receipt_id=pk) for pk in ids)
        audit_selection(request, "receipt.send_again", "donations.receipt", ids, sent)
        self.message_user(request, f"{sent} receipt(s) queued for sending.")

    def has_add_permission(self, request: object) -> bool:
        return False
