"""Double opt-in and withdrawal of a signature through its mail links."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.exceptions import ApplicationError
from campaign.models import ConsentRecord, OutgoingEmail
from campaign.privacy.consent import consent_record, consents_withdraw
from petitions.hashing import consent_text_hash
from petitions.metrics import signatures_confirmed
from petitions.models import Signature, SignatureToken
from petitions.selectors import petition_count_cache_clear
from petitions.signing import SIGNATURE_SUBJECT_TYPE
from petitions.tasks import petition_counts_update_task
from petitions.tokens import signature_token_get

logger = logging.getLogger(__name__)


def _counts_refresh_in_process() -> None:
    """Where no beat runs the counter pass (the embedded default), it runs right after a
    confirmation or withdrawal commits."""
    if settings.PETITION_COUNTS_AFTER_EACH_CHANGE:
        transaction.on_commit(petition_counts_update_task.delay, robust=True)


@transaction.atomic
def signature_confirm(*, token: str) -> Signature:
    """Confirms the signature of a confirm token. Idempotent: an already confirmed signature
    answers the same. A flagged signature is confirmed too, but never counts."""
    now = timezone.now()
    found = signature_token_get(token, SignatureToken.Purpose.CONFIRM)
    signature = Signature.objects.select_for_update().get(pk=found.signature_id)
    if signature.status == Signature.Status.CONFIRMED:
        return signature
    if signature.status == Signature.Status.WITHDRAWN:
        raise ApplicationError(
            _("This signature was withdrawn."), code="signature_withdrawn", status_code=409
        )
    if found.expires_at <= now:
        raise ApplicationError(
            _("This confirmation link has expired. Please sign again to get a new one."),
            code="token_expired",
            status_code=400,
        )
    signature.status = Signature.Status.CONFIRMED
    signature.confirmed_at = now
    signature.save(update_fields=["status", "confirmed_at", "updated_at"])
    transaction.on_commit(signatures_confirmed.inc)
    SignatureToken.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now)
    _consents_record(signature, confirmed_at=now)
    logger.info("signature %s confirmed", signature.pk)
    _counts_refresh_in_process()
    return signature


def _consents_record(signature: Signature, *, confirmed_at: Any) -> None:
    """One consent record per purpose the signer agreed to, each with the hash of its own
    text. The confirmation mail names each opt-in, so its link confirms them all."""
    petition = signature.petition
    english = signature.locale == "en"

    def text(de: str, en: str) -> str:
        return (en or de) if english else de

    purposes: list[tuple[str, str]] = [(ConsentRecord.Purpose.PETITION, signature.consent_text_hash)]
    if signature.updates_consent:
        updates_text = text(petition.updates_consent_text_de, petition.updates_consent_text_en)
        purposes.append((ConsentRecord.Purpose.UPDATES, consent_text_hash(updates_text)))
    if signature.newsletter_consent:
        newsletter_text = text(petition.newsletter_consent_text_de, petition.newsletter_consent_text_en)
        purposes.append((ConsentRecord.Purpose.NEWSLETTER, consent_text_hash(newsletter_text)))
    for purpose, text_hash in purposes:
        consent_record(
            purpose=purpose,
            subject_type=SIGNATURE_SUBJECT_TYPE,
            subject_id=signature.pk,
            email=signature.email,
            scope=petition.slug,
            text_version=signature.consent_version,
            text_sha256=text_hash,
            given_at=signature.consent_at or signature.created_at,
            origin=signature.consent_origin,
            confirmed_at=confirmed_at,
        )


@transaction.atomic
def signature_withdraw(*, token: str) -> Signature:
    """Withdraws a signature and erases its personal data. Idempotent.

    Kept: the row (so the next counter pass subtracts it), petition, status, timestamps, the
    consent version and hash, UTM source fields, country, and, for a counted signature, the
    postcode until the counter pass has subtracted it from the per-region totals (the pass then
    blanks it). Erased: names, e-mail (replaced by a tombstone that keeps the unique constraint
    satisfied and lets the address sign again), mail domain, city, IP hash, origin, referrer,
    all opt-ins, open tokens, and the address in the outbox rows about this signature.
    """
    now = timezone.now()
    found = signature_token_get(token, SignatureToken.Purpose.WITHDRAW)
    signature = Signature.objects.select_for_update().get(pk=found.signature_id)
    if signature.status == Signature.Status.WITHDRAWN:
        return signature
    if found.expires_at <= now:
        raise ApplicationError(_("This link has expired."), code="token_expired", status_code=400)
    signature.status = Signature.Status.WITHDRAWN
    signature.withdrawn_at = now
    signature.first_name = ""
    signature.last_name = ""
    signature.email = ""
    signature.email_normalized = f"withdrawn:{signature.pk}"
    signature.email_domain = ""
    signature.city = ""
    signature.ip_hash = ""
    signature.user_agent_hash = ""
    signature.consent_origin = ""
    signature.referrer = ""
    signature.newsletter_consent = False
    signature.show_name_publicly = False
    signature.share_name_with_officials = False
    if not signature.counted:
        # Never in the region totals (or already out of them): the postcode can go now. A
        # counted one keeps it until the counter pass has subtracted it (under this row lock,
        # the pass cannot flip it meanwhile).
        signature.postcode = ""
    signature.save(
        update_fields=[
            "postcode",
            "status",
            "withdrawn_at",
            "first_name",
            "last_name",
            "email",
            "email_normalized",
            "email_domain",
            "city",
            "ip_hash",
            "user_agent_hash",
            "consent_origin",
            "referrer",
            "newsletter_consent",
            "show_name_publicly",
            "share_name_with_officials",
            "updated_at",
        ]
    )
    consents_withdraw(
        how="withdrawn", subject_type=SIGNATURE_SUBJECT_TYPE, subject_ids=[signature.pk], now=now
    )
    SignatureToken.objects.filter(signature_id=signature.pk).exclude(pk=found.pk).delete()
    SignatureToken.objects.filter(pk=found.pk).update(used_at=now)
    emails = OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id=signature.pk)
    emails.filter(status=OutgoingEmail.Status.QUEUED).update(
        status=OutgoingEmail.Status.CANCELED, updated_at=now
    )
    emails.update(to_email="", context={}, updated_at=now)
    logger.info("signature %s withdrawn", signature.pk)
    # The name must leave this process's recent-signers cache now (others refresh within
    # PETITIONS_COUNT_CACHE_SECONDS).
    transaction.on_commit(petition_count_cache_clear)
    _counts_refresh_in_process()
    return signature
