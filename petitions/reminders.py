"""The reminder mail for signatures still unconfirmed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.outbox.queueing import outgoing_email_queue
from petitions.models import Signature
from petitions.signing import SIGNATURE_SUBJECT_TYPE

REMINDER_EMAIL_KIND = "petitions-signature-reminder"


def signature_reminders_send(*, now: datetime | None = None) -> int:
    """One reminder for each signature still unconfirmed after PETITIONS_REMINDER_AFTER_HOURS
    (off unless PETITIONS_REMINDER_ENABLED). Returns the number queued."""
    if not settings.PETITIONS_REMINDER_ENABLED:
        return 0
    now = now or timezone.now()
    due_before = now - timedelta(hours=settings.PETITIONS_REMINDER_AFTER_HOURS)
    not_before = now - timedelta(days=settings.PETITIONS_CONFIRM_TOKEN_DAYS)
    ids = list(
        Signature.objects.filter(
            status=Signature.Status.PENDING,
            reminder_sent_at__isnull=True,
            created_at__lte=due_before,
            created_at__gt=not_before,
        ).values_list("id", flat=True)[:1000]
    )
    queued = 0
    for signature_id in ids:
        with transaction.atomic():
            if not Signature.objects.filter(
                pk=signature_id, status=Signature.Status.PENDING, reminder_sent_at__isnull=True
            ).update(reminder_sent_at=now):
                continue
            signature = (
                Signature.objects.select_related("petition")
                .only("email", "locale", "petition__campaign_id")
                .get(pk=signature_id)
            )
            outgoing_email_queue(
                kind=REMINDER_EMAIL_KIND,
                to_email=signature.email,
                locale=signature.locale,
                context={"signature_id": signature_id},
                subject_type=SIGNATURE_SUBJECT_TYPE,
                subject_id=signature_id,
                campaign_id=signature.petition.campaign_id,
            )
            queued += 1
    return queued
