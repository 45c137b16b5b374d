"""Writes of the donations app: starting and completing a gift, applying what Stripe reports,
monthly charges, cancelling a monthly gift and anonymising a donor.

Status changes happen under `select_for_update` and only along
`Donation.ALLOWED_TRANSITIONS`; Stripe calls go through `donations.stripe_api`.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.exceptions import ApplicationError
from campaign.models import Campaign
from campaign.services import outgoing_email_queue
from donations import stripe_api
from donations.models import Donation, Donor, Mandate, MandateCancelToken

logger = logging.getLogger(__name__)

S = Donation.Status


# --- Helpers --------------------------------------------------------------------------------


def donation_fee_compute(*, amount: int, method: str) -> int:
    """The fee a donor adds with "cover the fees", so that after Stripe's price
    (percent of the charged total plus a fixed part) the NGO receives the whole gift:

        total = ceil((amount + fixed) / (1 - percent / 100)),  fee = total - amount
    """
    if method == Donation.Method.SEPA_DEBIT:
        percent, fixed = Decimal(settings.DONATION_FEE_SEPA_PERCENT), settings.DONATION_FEE_SEPA_FIXED
    else:
        percent, fixed = Decimal(settings.DONATION_FEE_CARD_PERCENT), settings.DONATION_FEE_CARD_FIXED
    total = ((Decimal(amount) + fixed) / (1 - percent / 100)).to_integral_value(rounding=ROUND_CEILING)
    return int(total) - amount


def token_hash(token: str) -> str:
    return hmac.new(
        settings.HASH_SECRET.encode(), f"mandate-cancel:{token}".encode(), hashlib.sha256
    ).hexdigest()


def amount_display(cents: int, locale: str) -> str:
    euros, rest = divmod(cents, 100)
    if locale == "en":
        return f"€{euros:,}.{rest:02d}"
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


def month_add(day: date, months: int, *, day_of_month: int | None = None) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_of_month or day.day, last))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def period_next(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return period_of(month_add(date(year, month, 1), 1))


def _normalize_email(email: str) -> str:
    return email.strip().lower()


# --- Starting a gift ------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationStarted:
    donation: Donation
    client_secret: str


def _donor_create(*, data: dict[str, Any]) -> Donor:
    wants_address = bool(data.get("wants_receipt") or data.get("street"))
    return Donor.objects.create(
        email=data["email"].strip(),
        email_normalized=_normalize_email(data["email"]),
        first_name=data["first_name"],
        last_name=data["last_name"],
        locale=data.get("locale") or "de",
        newsletter_consent=bool(data.get("newsletter_consent")),
        street=data.get("street", "") if wants_address else "",
        postcode=data.get("postcode", "") if wants_address else "",
        city=data.get("city", "") if wants_address else "",
        country=(data.get("country") or "").upper() if wants_address else "",
    )


def donation_start(*, data: dict[str, Any]) -> DonationStarted:
    """Records the gift, then creates the Stripe customer and the SetupIntent the browser
    saves the payment method with. Validated input (the serializer) comes in."""
    campaign = Campaign.objects.filter(slug=data["campaign"], status=Campaign.Status.LIVE).first()
    if campaign is None:
        raise ApplicationError(
            "No open campaign with this slug.", fields={"campaign": ["No open campaign with this slug."]}
        )
    method = data["payment_method"]
    fee = donation_fee_compute(amount=data["amount"], method=method) if data.get("cover_fees") else 0
    with transaction.atomic():
        donor = _donor_create(data=data)
        donation = Donation.objects.create(
            campaign=campaign,
            donor=donor,
            amount=data["amount"],
            fee_amount=fee,
            currency=data["currency"],
            method=method,
            interval=data["interval"],
            wants_receipt=bool(data.get("wants_receipt")),
            utm_source=data.get("utm_source", ""),
            utm_medium=data.get("utm_medium", ""),
            utm_campaign=data.get("utm_campaign", ""),
        )
    # Outside the transaction: a slow Stripe must not hold database locks. Both creates carry
    # idempotency keys derived from the donation id.
    try:
        customer_id = stripe_api.customer_create(
            email=donor.email, name=donor.full_name, donation_id=donation.pk, locale=donor.locale
        )
        setup_intent = stripe_api.setup_intent_create(
            customer_id=customer_id, method=method, donation_id=donation.pk, public_id=str(donation.public_id)
        )
    except (stripe_api.StripeUnavailable, stripe_api.StripeRejected) as exc:
        # Nothing can be charged on this donation: close it, the donor starts again.
        Donation.objects.filter(pk=donation.pk, status=S.CREATED).update(
            status=S.CANCELED, failure_code=type(exc).__name__, updated_at=timezone.now()
        )
        logger.warning("donation %s: could not start payment (%s)", donation.pk, type(exc).__name__)
        if isinstance(exc, stripe_api.StripeRejected):
            raise ApplicationError(
                "The payment provider refused these details.", code="payment_rejected", status_code=400
            ) from exc
        raise ApplicationError(
            "The payment provider is not reachable. Please try again in a moment.",
            code="payment_provider_unavailable",
            status_code=503,
        ) from exc
    Donation.objects.filter(pk=donation.pk).update(
        stripe_customer_id=customer_id, stripe_setup_intent_id=setup_intent.id, updated_at=timezone.now()
    )
    donation.stripe_customer_id = customer_id
    donation.stripe_setup_intent_id = setup_intent.id
    logger.info("donation %s started (%s, %s)", donation.pk, method, donation.interval)
    return DonationStarted(donation=donation, client_secret=setup_intent.client_secret)


# --- Completing a gift: the server charges the saved payment method -----------------------


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
        raise ApplicationError("Not found.", code="not_found", status_code=404)
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
                raise ApplicationError("The payment was not started.", code="not_started", status_code=409)
            setup_intent = stripe_api.setup_intent_get(donation.stripe_setup_intent_id)
            if setup_intent.metadata.get("donation_id") not in (None, str(donation.pk)):
                raise ApplicationError("The payment does not match.", code="mismatch", status_code=409)
            if setup_intent.status != "succeeded" or not setup_intent.payment_method_id:
                raise ApplicationError(
                    "The payment method has not been saved yet.", code="setup_incomplete", status_code=409
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
                "The payment provider is not reachable. Please try again in a moment.",
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


# --- Applying what Stripe reports (complete, webhooks, reconciliation) --------------------

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
        _mandate_set_status(donation.mandate, Mandate.Status.CANCELED)


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
        _mandate_set_status(mandate, Mandate.Status.CANCELED)
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


# --- Monthly gifts ---------------------------------------------------------------------------


def _mandate_set_status(mandate: Mandate, status: str) -> None:
    now = timezone.now()
    mandate.status = status
    fields = ["status", "updated_at"]
    if status == Mandate.Status.PAUSED:
        mandate.paused_at = now
        fields.append("paused_at")
    if status == Mandate.Status.CANCELED:
        mandate.canceled_at = now
        mandate.next_charge_on = None
        fields += ["canceled_at", "next_charge_on"]
    mandate.save(update_fields=fields)
    logger.info("mandate %s: %s", mandate.pk, status)


def mandate_record_failure(mandate: Mandate, donation: Donation, *, today: date) -> None:
    """A monthly charge failed: retry the same month after a few days, a bounded number of
    times, then pause the mandate and tell the donor."""
    mandate.failure_count += 1
    mandate.next_period = donation.period
    donor = mandate.donor
    context = {
        "first_name": donor.first_name,
        "amount": amount_display(mandate.total_amount, donor.locale),
        "period": donation.period,
        "mandate_reference": mandate.reference,
    }
    if mandate.failure_count >= settings.MANDATE_MAX_FAILURES:
        mandate.save(update_fields=["failure_count", "next_period", "updated_at"])
        _mandate_set_status(mandate, Mandate.Status.PAUSED)
        outgoing_email_queue(
            kind="mandate_paused",
            to_email=donor.email,
            locale=donor.locale,
            context=context,
            subject_type="donations.mandate",
            subject_id=mandate.pk,
        )
        return
    mandate.next_charge_on = today + timedelta(days=settings.MANDATE_RETRY_DAYS)
    mandate.save(update_fields=["failure_count", "next_period", "next_charge_on", "updated_at"])
    context["retry_on"] = mandate.next_charge_on.isoformat()
    outgoing_email_queue(
        kind="donation_charge_failed",
        to_email=donor.email,
        locale=donor.locale,
        context=context,
        subject_type="donations.donation",
        subject_id=donation.pk,
    )


def mandates_due(*, today: date) -> list[int]:
    return list(
        Mandate.objects.filter(status=Mandate.Status.ACTIVE, next_charge_on__lte=today)
        .order_by("next_charge_on", "pk")
        .values_list("pk", flat=True)
    )


def mandate_charge(*, mandate_id: int, today: date) -> str:
    """Charges one due mandate off-session for its next month. Safe to run twice: the month's
    donation is unique per mandate, and the idempotency key is fixed per mandate, month and
    attempt. Returns what happened."""
    with transaction.atomic():
        mandate = (
            Mandate.objects.select_for_update(of=("self",))
            .select_related("donor", "campaign")
            .filter(pk=mandate_id)
            .first()
        )
        if mandate is None or mandate.status != Mandate.Status.ACTIVE:
            return "inactive"
        if mandate.next_charge_on is None or mandate.next_charge_on > today:
            return "not_due"
        period = mandate.next_period or period_of(mandate.next_charge_on)
        donation, _ = Donation.objects.select_for_update().get_or_create(
            mandate=mandate,
            period=period,
            defaults={
                "campaign": mandate.campaign,
                "donor": mandate.donor,
                "amount": mandate.amount,
                "fee_amount": mandate.fee_amount,
                "currency": mandate.currency,
                "method": mandate.method,
                "interval": Donation.Interval.MONTH,
                "wants_receipt": mandate.wants_receipt,
                "stripe_customer_id": mandate.stripe_customer_id,
                "stripe_payment_method_id": mandate.stripe_payment_method_id,
            },
        )
        if donation.status in (S.PROCESSING, S.SUCCEEDED):
            _mandate_advance(mandate, period)
            return "already_charged"
        attempt = mandate.failure_count + 1
        try:
            payment_intent = stripe_api.payment_intent_create(
                idempotency_key=f"mandate-{mandate.pk}-{period}-attempt-{attempt}",
                amount=mandate.total_amount,
                currency=mandate.currency,
                customer_id=mandate.stripe_customer_id,
                payment_method_id=mandate.stripe_payment_method_id,
                method=mandate.method,
                metadata={"donation_id": str(donation.pk), "mandate_id": str(mandate.pk), "period": period},
                off_session=True,
                mandate_id=mandate.stripe_mandate_id,
                description=f"Monatsspende {period}",
            )
        except stripe_api.StripeRejected as exc:
            donation.status = S.FAILED
            donation.failure_code = (exc.code or "declined")[:100]
            donation.save(update_fields=["status", "failure_code", "updated_at"])
            mandate_record_failure(mandate, donation, today=today)
            return "failed"
        donation.stripe_payment_intent_id = payment_intent.id
        donation.save(update_fields=["stripe_payment_intent_id", "updated_at"])
        if payment_intent.status == "requires_action":
            # Off-session, nobody can authenticate: a failure for this attempt.
            donation.status = S.FAILED
            donation.failure_code = "authentication_required"
            donation.save(update_fields=["status", "failure_code", "updated_at"])
            mandate_record_failure(mandate, donation, today=today)
            return "failed"
        donation_apply_payment_intent(donation, payment_intent)
        if donation.status == S.FAILED:
            return "failed"  # mandate_record_failure ran
        _mandate_advance(mandate, period)
        return "charged"


def _mandate_advance(mandate: Mandate, period: str) -> None:
    next_period = period_next(period)
    year, month = (int(part) for part in next_period.split("-"))
    mandate.next_period = next_period
    mandate.next_charge_on = date(year, month, min(mandate.day_of_month, 28))
    mandate.failure_count = 0
    mandate.save(update_fields=["next_period", "next_charge_on", "failure_count", "updated_at"])


def mandate_cancel_token_mint(*, mandate_id: int) -> str:
    token = secrets.token_urlsafe(32)
    MandateCancelToken.objects.create(mandate_id=mandate_id, token_hash=token_hash(token))
    return token


def mandate_cancel(*, token: str) -> Mandate:
    """Stops a monthly gift with the token from a mail. Idempotent: the same link again
    answers the canceled mandate."""
    with transaction.atomic():
        row = (
            MandateCancelToken.objects.select_for_update(of=("self",))
            .select_related("mandate")
            .filter(token_hash=token_hash(token))
            .first()
        )
        if row is None:
            raise ApplicationError(
                "This link is not valid.", code="invalid_token", fields={"token": ["This link is not valid."]}
            )
        mandate = (
            Mandate.objects.select_for_update(of=("self",)).select_related("donor").get(pk=row.mandate_id)
        )
        if mandate.status != Mandate.Status.CANCELED:
            _mandate_set_status(mandate, Mandate.Status.CANCELED)
            donor = mandate.donor
            outgoing_email_queue(
                kind="mandate_canceled",
                to_email=donor.email,
                locale=donor.locale,
                context={
                    "first_name": donor.first_name,
                    "mandate_reference": mandate.reference,
                    "amount": amount_display(mandate.total_amount, donor.locale),
                },
                subject_type="donations.mandate",
                subject_id=mandate.pk,
            )
        if row.used_at is None:
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
        return mandate


# --- Data protection -------------------------------------------------------------------------


@transaction.atomic
def donor_anonymise(*, donor_id: int) -> None:
    """Erases a donor's personal data; amounts, statuses and receipt numbers stay for the
    books (issued receipts keep the copy the tax law requires to be retained)."""
    Donor.objects.filter(pk=donor_id).update(
        email="",
        email_normalized="",
        first_name="",
        last_name="",
        street="",
        postcode="",
        city="",
        country="",
        newsletter_consent=False,
        anonymised_at=timezone.now(),
        updated_at=timezone.now(),
    )
    Mandate.objects.filter(donor_id=donor_id).exclude(status=Mandate.Status.CANCELED).update(
        status=Mandate.Status.CANCELED, canceled_at=timezone.now(), next_charge_on=None
    )
    logger.info("donor %s anonymised", donor_id)


def donors_abandoned_purge(*, now: Any = None) -> int:
    """Erases the personal data of donors who never gave: every gift of theirs was abandoned
    (never charged, failed or canceled) and the newest is older than the retention period.
    Nothing else needs these data."""
    from django.db.models import Exists, Max, OuterRef

    now = now or timezone.now()
    before = now - timedelta(days=settings.DONATION_ABANDONED_RETENTION_DAYS)
    unpaid = [S.CREATED, S.REQUIRES_ACTION, S.FAILED, S.CANCELED]
    paid = Donation.objects.filter(donor=OuterRef("pk")).exclude(status__in=unpaid)
    donor_ids = list(
        Donor.objects.filter(anonymised_at__isnull=True, donations__isnull=False)
        .annotate(last_gift=Max("donations__created_at"))
        .filter(last_gift__lt=before)
        .exclude(Exists(paid))
        .exclude(mandates__status__in=[Mandate.Status.ACTIVE, Mandate.Status.PAUSED])
        .values_list("pk", flat=True)[:5000]
    )
    for donor_id in donor_ids:
        donor_anonymise(donor_id=donor_id)
    if donor_ids:
        logger.info("abandoned donations: %d donors anonymised", len(donor_ids))
    return len(donor_ids)


# --- Demo ------------------------------------------------------------------------------------


def donations_demo_load(*, campaign: Campaign) -> None:
    """A few settled gifts for the demo campaign, so the totals show on the landing page."""
    if Donation.objects.filter(campaign=campaign).exists():
        return
    for index, (amount, method) in enumerate([(2500, "card"), (5000, "sepa_debit"), (10000, "card")]):
        donor, _ = Donor.objects.get_or_create(
            email_normalized=f"demo-donor-{index}@example.org",
            defaults={
                "email": f"demo-donor-{index}@example.org",
                "first_name": "Demo",
                "last_name": f"{index}",
            },
        )
        Donation.objects.create(
            campaign=campaign,
            donor=donor,
            amount=amount,
            method=method,
            status=S.SUCCEEDED,
            succeeded_at=timezone.now(),
        )


# --- Reconciliation ---------------------------------------------------------------------------


def payments_reconcile(*, now: Any = None, max_pages: int = 50) -> dict[str, int]:
    """Lists recent PaymentIntents from Stripe and repairs donations whose webhook never
    arrived. Filters by `created` itself: the stand-in ignores the list filter, and pages are
    walked until Stripe says there are no more (bounded)."""
    now = now or timezone.now()
    since = int((now - timedelta(days=settings.STRIPE_RECONCILE_DAYS)).timestamp())
    seen = repaired = 0
    starting_after = ""
    for _ in range(max_pages):
        page = stripe_api.payment_intents_list(starting_after=starting_after, created_gte=since)
        for item in page.items:
            if item.created and item.created < since:
                continue
            donation_id = item.metadata.get("donation_id", "")
            if not donation_id:
                continue  # not ours
            seen += 1
            with transaction.atomic():
                donation = donation_lock_by_stripe(payment_intent_id=item.id, donation_id=donation_id)
                if donation is None:
                    continue
                before = (donation.status, donation.stripe_payment_intent_id)
                donation_apply_payment_intent(donation, stripe_api.payment_intent_get(item.id))
                if (donation.status, donation.stripe_payment_intent_id) != before:
                    repaired += 1
                    logger.info("reconcile: donation %s repaired to %s", donation.pk, donation.status)
        if not page.has_more or not page.items:
            break
        starting_after = page.items[-1].id
    return {"seen": seen, "repaired": repaired}
