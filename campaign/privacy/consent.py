"""Consent per purpose (the petition's double opt-in, petition updates, the newsletter): each
recorded with its text version and hash, time, origin and confirmation, ended by a withdrawal,
an unsubscribe or an erasure, and exportable as proof for one address (UWG §7, GDPR Art. 7(1)).

Apps record a consent once it is confirmed (`consent_record`); the core ends consents when an
address unsubscribes or is erased. Records name the person by the keyed hash of the address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from campaign.crm.events import crm_subscribe_queue, crm_unsubscribes_queue
from campaign.models import ConsentRecord
from campaign.privacy.hashing import address_hash

Purpose = ConsentRecord.Purpose
# What an unsubscribe ends: the mail purposes, not the signature itself.
MAIL_PURPOSES: list[str] = [Purpose.UPDATES, Purpose.NEWSLETTER]


def consent_record(
    *,
    purpose: str,
    subject_type: str,
    subject_id: int,
    email: str,
    scope: str,
    text_version: str,
    text_sha256: str,
    given_at: datetime,
    origin: str,
    confirmed_at: datetime,
) -> ConsentRecord:
    """Records a confirmed consent; once per (purpose, subject): a repeated confirmation keeps
    the first record."""
    record, created = ConsentRecord.objects.get_or_create(
        purpose=purpose,
        subject_type=subject_type,
        subject_id=subject_id,
        defaults={
            "email_hash": address_hash(email),
            "scope": scope[:80],
            "text_version": text_version[:40],
            "text_sha256": text_sha256,
            "given_at": given_at,
            "origin": origin[:500],
            "confirmed_at": confirmed_at,
        },
    )
    if created and purpose == Purpose.NEWSLETTER:
        crm_subscribe_queue(record=record, email=email)  # the CRM hand-over (off when unset)
    return record


def consents_withdraw(
    *,
    how: str,
    email_hash: str = "",
    subject_type: str = "",
    subject_ids: list[int] | None = None,
    purposes: list[str] | None = None,
    now: datetime | None = None,
) -> int:
    """Ends the open consents of an address (by its hash) or of subjects; returns how many."""
    match = (
        Q(email_hash=email_hash)
        if email_hash
        else Q(subject_type=subject_type, subject_id__in=subject_ids or [])
    )
    rows = ConsentRecord.objects.filter(match, withdrawn_at__isnull=True)
    if purposes:
        rows = rows.filter(purpose__in=purposes)
    # An erasure tells the CRM itself (campaign.crm.events.crm_erase); anything else that ends
    # the last newsletter consent of an address is an unsubscribe there.
    newsletter_hashes = (
        []
        if how == "erased"
        else list(rows.filter(purpose=Purpose.NEWSLETTER).values_list("email_hash", flat=True).distinct())
    )
    ended = rows.update(withdrawn_at=now or timezone.now(), withdrawn_how=how)
    crm_unsubscribes_queue(email_hashes=newsletter_hashes, how=how)
    return ended


def consent_proof_rows(email: str) -> list[dict[str, Any]]:
    """The proof of every consent of the address, oldest first (staff export)."""
    return [
        {
            "purpose": r.purpose,
            "scope": r.scope,
            "text_version": r.text_version,
            "text_sha256": r.text_sha256,
            "given_at": r.given_at,
            "origin": r.origin,
            "confirmed_at": r.confirmed_at,
            "withdrawn_at": r.withdrawn_at,
            "withdrawn_how": r.withdrawn_how,
        }
        for r in ConsentRecord.objects.filter(email_hash=address_hash(email)).order_by("given_at", "pk")
    ]
