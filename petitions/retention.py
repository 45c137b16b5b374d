"""Data retention: purging unconfirmed signatures, erasing the personal data of ended petitions."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from campaign.models import OutgoingEmail
from petitions.models import Petition, Signature, SignatureToken
from petitions.report_rollup import signature_report_rollup_release
from petitions.signing import SIGNATURE_SUBJECT_TYPE

logger = logging.getLogger(__name__)


def signatures_unconfirmed_purge(*, now: datetime | None = None) -> int:
    """Deletes signatures never confirmed within PETITIONS_UNCONFIRMED_RETENTION_DAYS, with their
    tokens, and blanks the address in their outbox rows (the mail promises this). They never
    counted, so no count changes. Returns the number deleted."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.PETITIONS_UNCONFIRMED_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Signature.objects.select_for_update(skip_locked=True)
                .filter(status=Signature.Status.PENDING, counted=False, created_at__lt=before)
                .values_list("id", flat=True)[:1000]
            )
            if not ids:
                break
            OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id__in=ids).update(
                to_email="", context={}, updated_at=now
            )
            signature_report_rollup_release(signature_ids=ids)
            Signature.objects.filter(pk__in=ids, status=Signature.Status.PENDING, counted=False).delete()
            deleted += len(ids)
    # Expired tokens are of no use to anyone (a link past its expiry answers "expired" only
    # while its row exists; after that, "invalid").
    expired, _ = SignatureToken.objects.filter(expires_at__lt=now - timedelta(days=7)).delete()
    if deleted or expired:
        logger.info("purged %d unconfirmed signatures and %d expired tokens", deleted, expired)
    return deleted


def signatures_retention_apply(*, now: datetime | None = None, batch_size: int = 2000) -> int:
    """Erases the personal data of every signature of a petition that ended more than
    PETITIONS_RETENTION_DAYS ago (0: never): names, e-mail (a tombstone), mail domain, city, IP
    hash, origin, referrer, and the address in its outbox rows. Status, counts, postcode and
    country stay, so totals and per-region totals do not change. Returns the number erased."""
    if settings.PETITIONS_RETENTION_DAYS <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PETITIONS_RETENTION_DAYS)
    ended = Petition.objects.filter(
        Q(closes_at__lt=cutoff)
        | Q(status=Petition.Status.CLOSED, closes_at__isnull=True, updated_at__lt=cutoff)
    ).values("id")
    not_erased = ~Q(email="") | ~Q(first_name="") | ~Q(last_name="")
    erased = 0
    while True:
        with transaction.atomic():
            ids = list(
                Signature.objects.select_for_update(skip_locked=True)
                .filter(not_erased, petition_id__in=ended)
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            signature_report_rollup_release(signature_ids=ids)  # the referrer goes
            Signature.objects.filter(pk__in=ids).update(
                first_name="",
                last_name="",
                email="",
                email_normalized=Concat(Value("erased:"), Cast("id", output_field=CharField())),
                email_domain="",
                city="",
                ip_hash="",
                user_agent_hash="",
                consent_origin="",
                referrer="",
                updated_at=now,
            )
            SignatureToken.objects.filter(signature_id__in=ids).delete()
            OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id__in=ids).update(
                to_email="", context={}, updated_at=now
            )
            erased += len(ids)
    if erased:
        logger.info("retention: erased the personal data of %d signatures", erased)
    return erased
