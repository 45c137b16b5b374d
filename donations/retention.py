"""Data protection: anonymising a donor, and purging the personal data of donors whose
gifts were all abandoned."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from donations.models import Donation, Donor, Mandate

logger = logging.getLogger(__name__)

S = Donation.Status


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
