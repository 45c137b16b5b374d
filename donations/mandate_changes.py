"""Changing a monthly gift's amount or day, by the donor (their own page) or by staff (the
admin). Either way the donor is told by mail; for SEPA that mail is the pre-notification the
rulebook asks for: the new amount and the date of the first debit at the new amount, at least
SEPA_PRENOTIFICATION_DAYS ahead, sent before that debit is created."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from donations import stripe_api
from donations.amounts import donation_fee_compute, period_of
from donations.mandate_status import mandate_mail_queue
from donations.models import Donation, Mandate

logger = logging.getLogger(__name__)


def mandate_change(
    mandate: Mandate, *, amount: int | None = None, day_of_month: int | None = None, by: str = "donor"
) -> date | None:
    """Applies the change to a locked, running monthly gift and queues the mail (in the
    caller's transaction). Returns the date of the next debit, or None when nothing changed."""
    if mandate.status not in (Mandate.Status.ACTIVE, Mandate.Status.PENDING):
        raise ApplicationError(_("This monthly donation is not running."), code="mandate_not_running")
    amount = mandate.amount if amount is None else amount
    day = mandate.day_of_month if day_of_month is None else day_of_month
    if not settings.DONATION_MIN_AMOUNT <= amount <= settings.DONATION_MAX_AMOUNT:
        raise ApplicationError(_("Amount out of range."), fields={"amount": [_("Amount out of range.")]})
    if not 1 <= day <= 28:
        raise ApplicationError(_("Day out of range."), fields={"day_of_month": [_("Between 1 and 28.")]})
    if (amount, day) == (mandate.amount, mandate.day_of_month):
        return None
    fee = donation_fee_compute(amount=amount, method=mandate.method) if mandate.fee_amount else 0
    mandate.amount, mandate.fee_amount, mandate.day_of_month = amount, fee, day
    fields = ["amount", "fee_amount", "day_of_month", "updated_at"]
    today = timezone.localdate()
    if mandate.next_charge_on is not None:
        period = mandate.next_period or period_of(mandate.next_charge_on)
        year, month = (int(part) for part in period.split("-"))
        next_on = date(year, month, day)
        if mandate.method == Donation.Method.SEPA_DEBIT:
            # The bank must hear of the new amount this many days before it is debited.
            next_on = max(next_on, today + timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS))
        mandate.next_charge_on = max(next_on, today)
        fields.append("next_charge_on")
    mandate.save(update_fields=fields)
    mandate_mail_queue(
        mandate,
        kind="mandate_changed",
        day_of_month=day,
        next_debit_date=mandate.next_charge_on.isoformat() if mandate.next_charge_on else "",
        by_staff=by == "staff",
    )
    logger.info("mandate %s changed by %s: %s cents on day %s", mandate.pk, by, amount, day)
    return mandate.next_charge_on


MAX_PAUSE_MONTHS = 6


def mandate_pause(mandate: Mandate, *, months: int) -> date:
    """The donor pauses a running monthly gift for 1 to 6 months (locked, in the caller's
    transaction); it resumes by itself on the returned day. Confirmed by mail."""
    from donations.amounts import month_add
    from donations.mandate_status import mandate_set_status

    if mandate.status != Mandate.Status.ACTIVE:
        raise ApplicationError(_("This monthly donation is not running."), code="mandate_not_running")
    if not 1 <= months <= MAX_PAUSE_MONTHS:
        raise ApplicationError(
            _("Between 1 and 6 months."), fields={"months": [_("Between 1 and 6 months.")]}
        )
    until = month_add(timezone.localdate(), months, day_of_month=mandate.day_of_month)
    mandate.paused_until = until
    mandate.next_charge_on = None
    mandate.save(update_fields=["paused_until", "next_charge_on", "updated_at"])
    mandate_set_status(mandate, Mandate.Status.PAUSED)
    _pause_mail(mandate, resumes_on=until, resumed=False)
    return until


def mandate_resume(mandate: Mandate, *, today: date | None = None) -> date:
    """Ends a donor's pause (early from their page, or on its last day from the schedule): the
    next debit is on the monthly day, for SEPA not sooner than the pre-notification allows."""
    from donations.mandate_status import mandate_set_status

    if mandate.status != Mandate.Status.PAUSED or mandate.paused_until is None:
        raise ApplicationError(_("This monthly donation is not paused."), code="mandate_not_paused")
    today = today or timezone.localdate()
    next_on = date(today.year, today.month, mandate.day_of_month)
    if next_on < today:
        from donations.amounts import month_add

        next_on = month_add(today, 1, day_of_month=mandate.day_of_month)
    if mandate.method == Donation.Method.SEPA_DEBIT:
        next_on = max(next_on, today + timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS))
    mandate.paused_until = None
    mandate.next_charge_on = next_on
    mandate.next_period = period_of(next_on)
    mandate.failure_count = 0
    mandate.save(
        update_fields=["paused_until", "next_charge_on", "next_period", "failure_count", "updated_at"]
    )
    mandate_set_status(mandate, Mandate.Status.ACTIVE)
    _pause_mail(mandate, resumes_on=next_on, resumed=True)
    return next_on


def _pause_mail(mandate: Mandate, *, resumes_on: date, resumed: bool) -> None:
    mandate_mail_queue(
        mandate,
        kind="mandate_pause_changed",
        date=resumes_on.isoformat(),
        resumed=resumed,
    )


def mandates_pause_end(*, today: date) -> int:
    """Resumes the donor-paused monthly gifts whose pause ends today or earlier (idempotent:
    a resumed one is no longer paused)."""
    from django.db import transaction

    ids = list(
        Mandate.objects.filter(status=Mandate.Status.PAUSED, paused_until__lte=today).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        with transaction.atomic():
            mandate = Mandate.objects.select_for_update(of=("self",)).select_related("donor").get(pk=pk)
            if (
                mandate.status == Mandate.Status.PAUSED
                and mandate.paused_until
                and mandate.paused_until <= today
            ):
                mandate_resume(mandate, today=today)
    return len(ids)


def mandate_payment_method_setup(mandate: Mandate) -> stripe_api.SetupIntentInfo:
    """Starts replacing the card or IBAN of a monthly gift (running, or paused after failed
    charges): a SetupIntent the donor's browser confirms with the new details."""
    import uuid

    if mandate.status == Mandate.Status.CANCELED:
        raise ApplicationError(_("This monthly donation is not running."), code="mandate_not_running")
    return stripe_api.mandate_setup_intent_create(
        customer_id=mandate.stripe_customer_id,
        method=mandate.method,
        mandate_id=mandate.pk,
        attempt=uuid.uuid4().hex,
    )


def mandate_payment_method_replace(mandate: Mandate, *, setup_intent_id: str) -> date | None:
    """The browser saved the new details: the monthly gift debits them from now on (locked,
    in the caller's transaction). A gift paused after failed charges runs again. For SEPA the
    new mandate's reference is announced with the next debit date (pre-notification)."""
    setup_intent = stripe_api.setup_intent_get(setup_intent_id)
    if (
        setup_intent.status != "succeeded"
        or not setup_intent.payment_method_id
        or setup_intent.customer_id != mandate.stripe_customer_id
        or setup_intent.metadata.get("mandate_id") != str(mandate.pk)
    ):
        raise ApplicationError(_("The payment method has not been saved yet."), code="setup_incomplete")
    if mandate.status == Mandate.Status.CANCELED:
        raise ApplicationError(_("This monthly donation is not running."), code="mandate_not_running")
    mandate.stripe_payment_method_id = setup_intent.payment_method_id
    mandate.stripe_mandate_id = setup_intent.mandate_id
    fields = ["stripe_payment_method_id", "stripe_mandate_id", "updated_at"]
    today = timezone.localdate()
    if mandate.method == Donation.Method.SEPA_DEBIT:
        reference = stripe_api.sepa_mandate_reference(
            mandate_id=setup_intent.mandate_id, payment_method_id=setup_intent.payment_method_id
        )[:35]
        if reference:
            mandate.reference = reference
            fields.append("reference")
    resume = mandate.status == Mandate.Status.PAUSED and mandate.paused_until is None
    if resume:  # paused after failed charges: the new details are the way out
        mandate.failure_count = 0
        mandate.next_charge_on = today
        fields += ["failure_count", "next_charge_on"]
    if mandate.next_charge_on is not None and mandate.method == Donation.Method.SEPA_DEBIT:
        notice = today + timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
        mandate.next_charge_on = max(mandate.next_charge_on, notice)
        fields.append("next_charge_on")
    mandate.save(update_fields=fields)
    if resume:
        from donations.mandate_status import mandate_set_status

        mandate_set_status(mandate, Mandate.Status.ACTIVE)
    mandate_mail_queue(
        mandate,
        kind="mandate_payment_method_changed",
        next_debit_date=mandate.next_charge_on.isoformat() if mandate.next_charge_on else "",
    )
    logger.info("mandate %s: payment method replaced", mandate.pk)
    return mandate.next_charge_on
