"""Completing a gift and applying what Stripe reports (complete, webhooks, reconciliation):
payment intents, refunds, disputes, and locking a donation by its Stripe ids.

Status changes happen under `select_for_update` and only along
`Donation.ALLOWED_TRANSITIONS`; Stripe calls go through `donations.stripe_api`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from campaign.outbox.queueing import outgoing_email_queue
from donations import stripe_api
from donations.amounts import amount_display, month_add, period_next, period_of
from donations.mandate_status import mandate_record_failure, mandate_set_status
from donations.models import Donation, Mandate

logger = logging.getLogger(__name__)

S = Donation.Status


@dataclass(frozen=True)
class DonationCompleted:
    donation: Donation
    client_secret: str  # the PaymentIntent's, only when the bank asks for authentication


def _donation_locked(public_id: Any) -> Donation:
    donation = (
        Donation.objects.select_for_update(of=("self",))
        .select_related("donor", "mandate")
        .filter(public_id=public_id)
        .first()
    )
    if donation is None:
        raise ApplicationError(_("Not found."), code="not_found", status_code=404)
    return donation


def donation_complete(*, public_id: Any) -> DonationCompleted:
    """Verifies the SetupIntent with Stripe and charges the saved payment method once. A
    second call (or a call after the webhook) changes nothing and answers the status."""
    with transaction.atomic():
        # The row lock makes concurrent calls wait: only the first creates a PaymentIntent.
        donation = _donation_locked(public_id)
        try:
            if donation.stripe_payment_intent_id:
                payment_intent = stripe_api.payment_intent_get(donation.stripe_payment_intent_id)
                donation_apply_payment_intent(donation, payment_intent)
                return _completed(donation, payment_intent)
            if donation.status != S.CREATED:
                return DonationCompleted(donation=donation, client_secret="")
            if not donation.stripe_setup_intent_id:
                raise ApplicationError(_("The payment was not started."), code="not_started", status_code=409)
            setup_intent = stripe_api.setup_intent_get(donation.stripe_setup_intent_id)
            if setup_intent.metadata.get("donation_id") not in (None, str(donation.pk)):
                raise ApplicationError(_("The payment does not match."), code="mismatch", status_code=409)
            if setup_intent.status != "succeeded" or not setup_intent.payment_method_id:
                raise ApplicationError(
                    _("The payment method has not been saved yet."), code="setup_incomplete", status_code=409
                )
            donation.stripe_payment_method_id = setup_intent.payment_method_id
            if donation.method == Donation.Method.SEPA_DEBIT:
                donation.sepa_mandate_reference = stripe_api.sepa_mandate_reference(
                    mandate_id=setup_intent.mandate_id, payment_method_id=setup_intent.payment_method_id
                )[:35]
            donation.save(update_fields=["stripe_payment_method_id", "sepa_mandate_reference", "updated_at"])
            if donation.interval == Donation.Interval.MONTH and donation.mandate_id is None:
                _mandate_create(donation, setup_intent)
            try:
                payment_intent = stripe_api.payment_intent_create(
                    idempotency_key=f"donation-{donation.pk}-payment-intent",
                    amount=donation.total_amount,
                    currency=donation.currency,
                    customer_id=donation.stripe_customer_id,
                    payment_method_id=donation.stripe_payment_method_id,
                    method=donation.method,
                    metadata={"donation_id": str(donation.pk), "donation_public_id": str(donation.public_id)},
                    off_session=False,
                    mandate_id=setup_intent.mandate_id,
                    description=f"Spende {donation.campaign.slug}"[:100],
                )
            except stripe_api.StripeRejected as exc:
                _donation_fail(donation, code=exc.code or "declined")
                return DonationCompleted(donation=donation, client_secret="")
            donation.stripe_payment_intent_id = payment_intent.id
            donation.save(update_fields=["stripe_payment_intent_id", "updated_at"])
            donation_apply_payment_intent(donation, payment_intent)
            return _completed(donation, payment_intent)
        except stripe_api.StripeUnavailable as exc:
            raise ApplicationError(
                _("The payment provider is not reachable. Please try again in a moment."),
                code="payment_provider_unavailable",
                status_code=503,
            ) from exc


def _completed(donation: Donation, payment_intent: stripe_api.PaymentIntentInfo) -> DonationCompleted:
    secret = payment_intent.client_secret if donation.status == S.REQUIRES_ACTION else ""
    return DonationCompleted(donation=donation, client_secret=secret)


def _mandate_create(donation: Donation, setup_intent: stripe_api.SetupIntentInfo) -> Mandate:
    mandate = Mandate.objects.create(
        campaign=donation.campaign,
        donor=donation.donor,
        amount=donation.amount,
        fee_amount=donation.fee_amount,
        currency=donation.currency,
        method=donation.method,
        wants_receipt=donation.wants_receipt,
        # The bank's mandate reference for SEPA; our own for cards (quoted in mails).
        reference=donation.sepa_mandate_reference or f"SPENDE-{secrets.token_hex(6).upper()}",
        stripe_customer_id=donation.stripe_customer_id,
        stripe_payment_method_id=setup_intent.payment_method_id,
        stripe_mandate_id=setup_intent.mandate_id,
    )
    donation.mandate = mandate
    donation.period = period_of(timezone.localdate())
    donation.save(update_fields=["mandate", "period", "updated_at"])
    return mandate


_PAYMENT_INTENT_STATUS = {
    "succeeded": S.SUCCEEDED,
    "processing": S.PROCESSING,
    "requires_action": S.REQUIRES_ACTION,
    "canceled": S.CANCELED,
}


def _donation_move(donation: Donation, status: str) -> bool:
    """Moves a locked donation to `status` if the transition is allowed."""
    if donation.status == status or not donation.can_move_to(status):
        return False
    logger.info("donation %s: %s -> %s", donation.pk, donation.status, status)
    donation.status = status
    donation.save(update_fields=["status", "updated_at"])
    return True


def donation_apply_payment_intent(donation: Donation, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    """Brings a locked donation in line with the PaymentIntent as Stripe reports it now."""
    if payment_intent.id and donation.stripe_payment_intent_id not in ("", payment_intent.id):
        # An older attempt (a monthly retry replaced it): its news no longer applies.
        return
    if (payment_intent.amount, payment_intent.currency) != (donation.total_amount, donation.currency):
        # Not the charge this donation asked for: never book it as this gift.
        logger.error("donation %s: payment intent %s does not match the gift", donation.pk, payment_intent.id)
        return
    if payment_intent.id and not donation.stripe_payment_intent_id:
        # The charge was created but our write of its id was lost (a crash): adopt it.
        donation.stripe_payment_intent_id = payment_intent.id
        donation.save(update_fields=["stripe_payment_intent_id", "updated_at"])
    if payment_intent.charge_id and not donation.stripe_charge_id:
        donation.stripe_charge_id = payment_intent.charge_id
        donation.save(update_fields=["stripe_charge_id", "updated_at"])
    if payment_intent.status == "requires_payment_method":
        if payment_intent.failure_code or donation.status in (S.PROCESSING, S.REQUIRES_ACTION):
            _donation_fail(donation, code=payment_intent.failure_code or "payment_failed")
        return
    status = _PAYMENT_INTENT_STATUS.get(payment_intent.status)
    if status is None:
        return
    if status == S.SUCCEEDED and donation.status == S.SUCCEEDED and donation.stripe_fee is None:
        _donation_record_fee(donation, payment_intent)
    if not _donation_move(donation, status):
        return
    if status == S.PROCESSING:
        _donation_on_accepted(donation)
    elif status == S.SUCCEEDED:
        donation.succeeded_at = timezone.now()
        donation.failure_code = ""
        donation.save(update_fields=["succeeded_at", "failure_code", "updated_at"])
        _donation_record_fee(donation, payment_intent)
        _donation_on_accepted(donation)
        _donation_on_succeeded(donation)
        if payment_intent.amount_refunded:
            donation_apply_refund(
                donation, amount_refunded=payment_intent.amount_refunded, amount=payment_intent.amount
            )
    elif (
        status == S.CANCELED
        and donation.mandate is not None
        and donation.mandate.status == Mandate.Status.PENDING
    ):
        mandate_set_status(donation.mandate, Mandate.Status.CANCELED)


def _donation_record_fee(donation: Donation, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    if payment_intent.fee is None:
        return
    donation.stripe_fee = payment_intent.fee
    donation.net_amount = (
        payment_intent.net if payment_intent.net is not None else (donation.total_amount - payment_intent.fee)
    )
    donation.save(update_fields=["stripe_fee", "net_amount", "updated_at"])


def _donation_fail(donation: Donation, *, code: str) -> None:
    if not _donation_move(donation, S.FAILED):
        return
    donation.failure_code = code[:100]
    donation.save(update_fields=["failure_code", "updated_at"])
    mandate = donation.mandate
    if mandate is None:
        return
    if mandate.status == Mandate.Status.PENDING:
        # The first charge of a monthly gift failed: the gift never started.
        mandate_set_status(mandate, Mandate.Status.CANCELED)
    elif mandate.status == Mandate.Status.ACTIVE and donation.period:
        mandate_record_failure(mandate, donation, today=timezone.localdate())


def _donation_on_accepted(donation: Donation) -> None:
    """The payment is under way (SEPA) or done: thank the donor once; for SEPA the mail is
    also the pre-notification of the debit(s). A monthly gift starts here."""
    mandate = donation.mandate
    first_of_mandate = mandate is not None and mandate.status == Mandate.Status.PENDING
    if first_of_mandate and mandate is not None:  # (implied by first_of_mandate; for the type)
        today = timezone.localdate()
        mandate.status = Mandate.Status.ACTIVE
        mandate.day_of_month = min(today.day, 28)
        mandate.next_period = period_next(donation.period or period_of(today))
        mandate.next_charge_on = month_add(today, 1, day_of_month=mandate.day_of_month)
        mandate.save(update_fields=["status", "day_of_month", "next_period", "next_charge_on", "updated_at"])
    if donation.thanked_at is not None or (mandate is not None and not first_of_mandate and donation.period):
        # Monthly charges after the first are announced by the first mail's schedule.
        return
    donation.thanked_at = timezone.now()
    donation.save(update_fields=["thanked_at", "updated_at"])
    donor = donation.donor
    locale = donor.locale
    today = timezone.localdate()
    context: dict[str, Any] = {
        "first_name": donor.first_name,
        "amount": amount_display(donation.total_amount, locale),
        "interval": donation.interval,
        "method": donation.method,
        "is_sepa": donation.method == Donation.Method.SEPA_DEBIT,
        "donation_public_id": str(donation.public_id),
        "creditor_id": settings.SEPA_CREDITOR_ID,
        "first_debit_date": (today + timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)).isoformat(),
        "wants_receipt": donation.wants_receipt,
    }
    if donation.sepa_mandate_reference:
        context["mandate_reference"] = donation.sepa_mandate_reference
    if mandate is not None:
        context.update(
            mandate_id=mandate.pk,
            mandate_reference=mandate.reference,
            monthly_day=mandate.day_of_month,
            next_charge_on=mandate.next_charge_on.isoformat() if mandate.next_charge_on else "",
        )
    outgoing_email_queue(
        kind="donation_thanks",
        to_email=donor.email,
        locale=locale,
        context=context,
        subject_type="donations.donation",
        subject_id=donation.pk,
        campaign_id=donation.campaign_id,
    )


def _donation_on_succeeded(donation: Donation) -> None:
    from donations.receipts import receipt_issue_for_donation

    if donation.interval == Donation.Interval.ONCE and donation.wants_receipt and donation.receipt_id is None:
        receipt_issue_for_donation(donation)


def donation_apply_refund(donation: Donation, *, amount_refunded: int, amount: int) -> None:
    """A refund (full or partial) as Stripe reports it on the charge; a receipt is voided."""
    from donations.receipts import receipt_withdraw

    if amount_refunded <= donation.amount_refunded:
        return  # old news (a duplicate or an event that arrived late)
    donation.amount_refunded = amount_refunded
    donation.save(update_fields=["amount_refunded", "updated_at"])
    target = S.REFUNDED if amount_refunded >= amount else S.PARTIALLY_REFUNDED
    if donation.status == S.DISPUTED and target == S.PARTIALLY_REFUNDED:
        return  # stays disputed; the amount is recorded
    _donation_move(donation, target)
    receipt_withdraw(donation, reason="refund")


CLOSED_DISPUTE = ("won", "lost", "warning_closed")


def donation_apply_dispute(donation: Donation, *, dispute_id: str, dispute_status: str, closed: bool) -> None:
    """Disputes: "lost" takes the money back; any other closing status ("won",
    "warning_closed") leaves it with us."""
    from donations.receipts import receipt_withdraw

    if donation.stripe_dispute_id == dispute_id and donation.dispute_status in CLOSED_DISPUTE and not closed:
        return  # a late "created" after the dispute was closed
    donation.stripe_dispute_id = dispute_id
    donation.dispute_status = dispute_status[:40]
    donation.save(update_fields=["stripe_dispute_id", "dispute_status", "updated_at"])
    if not closed:
        _donation_move(donation, S.DISPUTED)
        return
    if dispute_status == "lost":
        _donation_move(donation, S.DISPUTE_LOST)
        receipt_withdraw(donation, reason="dispute_lost")
    elif donation.status == S.DISPUTED:
        _donation_move(donation, S.PARTIALLY_REFUNDED if donation.amount_refunded else S.SUCCEEDED)


def donation_lock_by_stripe(
    *, payment_intent_id: str = "", charge_id: str = "", donation_id: str = ""
) -> Donation | None:
    """Finds and locks the donation a Stripe object belongs to (caller holds a transaction)."""
    queryset = Donation.objects.select_for_update(of=("self",)).select_related("donor", "mandate", "receipt")
    if payment_intent_id:
        found = queryset.filter(stripe_payment_intent_id=payment_intent_id).first()
        if found:
            return found
    if charge_id:
        found = queryset.filter(stripe_charge_id=charge_id).first()
        if found:
            return found
    if donation_id.isdigit():
        found = queryset.filter(pk=int(donation_id)).first()
        # With no charge id of its own, the donation may adopt this one (checked when applied).
        if found and (not payment_intent_id or found.stripe_payment_intent_id in ("", payment_intent_id)):
            return found
    return None


def donation_refund(*, donation_id: int) -> bool:
    """Staff refund a settled gift in full at Stripe. The state (and voiding the receipt)
    follows from Stripe's charge.refunded event, like a refund made in the Stripe dashboard."""
    donation = Donation.objects.filter(pk=donation_id).first()
    refundable = (S.SUCCEEDED, S.PARTIALLY_REFUNDED)
    if donation is None or donation.status not in refundable or not donation.stripe_payment_intent_id:
        return False
    stripe_api.refund_create(payment_intent_id=donation.stripe_payment_intent_id, donation_id=donation.pk)
    logger.info("donation %s: refund requested by staff", donation.pk)
    return True
