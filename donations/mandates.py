"""Monthly gifts: which mandates are due, charging one for its next month, and cancelling
one with the token from a mail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from donations import stripe_api
from donations.amounts import period_next, period_of
from donations.charging import donation_apply_payment_intent
from donations.mandate_status import mandate_mail_queue, mandate_record_failure, mandate_set_status
from donations.models import Donation, Mandate, MandateCancelToken

S = Donation.Status


def token_hash(token: str) -> str:
    return hmac.new(
        settings.HASH_SECRET.encode(), f"mandate-cancel:{token}".encode(), hashlib.sha256
    ).hexdigest()


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


def mandate_cancel_locked(mandate: Mandate) -> None:
    """Stops a locked monthly gift at the donor's wish and confirms it by mail."""
    mandate_set_status(mandate, Mandate.Status.CANCELED)
    mandate_mail_queue(
        mandate,
        kind="mandate_canceled",
    )


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
                _("This link is not valid."),
                code="invalid_token",
                fields={"token": [_("This link is not valid.")]},
            )
        mandate = (
            Mandate.objects.select_for_update(of=("self",)).select_related("donor").get(pk=row.mandate_id)
        )
        if mandate.status != Mandate.Status.CANCELED:
            mandate_cancel_locked(mandate)
        if row.used_at is None:
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
        return mandate
