"""Status changes of a monthly gift shared by charging and the mandate schedule: setting a
status, and recording a failed monthly charge (retry or pause)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaign.outbox.queueing import outgoing_email_queue
from donations.amounts import amount_display
from donations.models import Donation, Mandate

logger = logging.getLogger(__name__)


def mandate_set_status(mandate: Mandate, status: str) -> None:
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


def mandates_stop(mandates: QuerySet[Mandate], *, reason: str) -> int:
    """Cancels the monthly gifts that can no longer be charged (Stripe revoked the mandate,
    detached the payment method or deleted the customer). Idempotent: canceled ones stay."""
    with transaction.atomic():
        rows = list(mandates.select_for_update().exclude(status=Mandate.Status.CANCELED))
        for mandate in rows:
            mandate_set_status(mandate, Mandate.Status.CANCELED)
            logger.info("mandate %s stopped: %s", mandate.pk, reason)
    return len(rows)


def mandate_mail_queue(
    mandate: Mandate, *, kind: str, subject: tuple[str, int] | None = None, **context: Any
) -> None:
    """Queues a mail to the donor about their monthly gift: its reference, amount and, for
    SEPA, the creditor id always; `context` adds what the kind's template needs."""
    donor = mandate.donor
    subject_type, subject_id = subject or ("donations.mandate", mandate.pk)
    outgoing_email_queue(
        kind=kind,
        to_email=donor.email,
        locale=donor.locale,
        context={
            "first_name": donor.first_name,
            "mandate_reference": mandate.reference,
            "amount": amount_display(mandate.total_amount, donor.locale),
            "is_sepa": mandate.method == Donation.Method.SEPA_DEBIT,
            "creditor_id": settings.SEPA_CREDITOR_ID,
            **context,
        },
        subject_type=subject_type,
        subject_id=subject_id,
        campaign_id=mandate.campaign_id,
    )


def mandate_record_failure(mandate: Mandate, donation: Donation, *, today: date) -> None:
    """A monthly charge failed: retry the same month after a few days, a bounded number of
    times, then pause the mandate and tell the donor."""
    mandate.failure_count += 1
    mandate.next_period = donation.period
    if mandate.failure_count >= settings.MANDATE_MAX_FAILURES:
        mandate.save(update_fields=["failure_count", "next_period", "updated_at"])
        mandate_set_status(mandate, Mandate.Status.PAUSED)
        mandate_mail_queue(mandate, kind="mandate_paused", period=donation.period)
        return
    mandate.next_charge_on = today + timedelta(days=settings.MANDATE_RETRY_DAYS)
    mandate.save(update_fields=["failure_count", "next_period", "next_charge_on", "updated_at"])
    mandate_mail_queue(
        mandate,
        kind="donation_charge_failed",
        subject=("donations.donation", donation.pk),
        period=donation.period,
        retry_on=mandate.next_charge_on.isoformat(),
    )
