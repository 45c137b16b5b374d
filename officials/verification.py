"""Verifying an official's e-mail address before any delivery goes to it.

Imported addresses are unverified (the only reachable member list guesses them from a name
pattern). Staff verify an address either by a verification mail whose link the office opens
and confirms, or by recording a manual check (e.g. a phone call to the office) with a note.
Changing the address makes it unverified again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.exceptions import ApplicationError
from campaign.models import OutgoingEmail
from campaign.outbox.queueing import outgoing_email_queue
from officials.models import Official

VERIFICATION_EMAIL_KIND = "officials_address_verification"
VERIFICATION_VALID_FOR = timedelta(days=30)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def official_address_verification_send(*, official_id: int, staff_name: str) -> OutgoingEmail:
    """Mails the office a link to confirm that this address reaches it; the address counts
    as verified only once the link is confirmed. A new mail replaces the previous link."""
    official = Official.objects.select_for_update().get(pk=official_id)
    if official.address_verified:
        raise ApplicationError("The address is already verified.", fields={"official": ["already verified"]})
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    official.address_status = Official.AddressStatus.PENDING
    official.address_verification_token_hash = _token_hash(token)
    official.address_verification_sent_at = now
    official.address_verified_by = staff_name[:150]
    official.save(
        update_fields=[
            "address_status",
            "address_verification_token_hash",
            "address_verification_sent_at",
            "address_verified_by",
            "updated_at",
        ]
    )
    link = f"{settings.PUBLIC_BASE_URL}/officials/verify-address/?{urlencode({'token': token})}"
    return outgoing_email_queue(
        kind=VERIFICATION_EMAIL_KIND,
        to_email=official.email,
        locale=official.language,
        context={"salutation": official.salutation, "name": official.name, "link": link},
        at_most_once=True,
        subject_type="officials.official",
        subject_id=official.pk,
    )


@transaction.atomic
def official_address_verify(*, token: str, now: datetime | None = None) -> Official | None:
    """The office confirmed the link: its address is verified. None for an unknown, used or
    expired link."""
    now = now or timezone.now()
    if not token:
        return None
    official = (
        Official.objects.select_for_update()
        .filter(
            address_verification_token_hash=_token_hash(token), address_status=Official.AddressStatus.PENDING
        )
        .first()
    )
    if official is None or official.address_verification_sent_at is None:
        return None
    if official.address_verification_sent_at < now - VERIFICATION_VALID_FOR:
        return None
    official.address_status = Official.AddressStatus.VERIFIED
    official.address_verification_method = Official.VerificationMethod.MAIL
    official.address_verified_at = now
    official.address_verification_token_hash = ""
    official.address_verification_note = f"link confirmed by the office for {official.email}"
    official.save(
        update_fields=[
            "address_status",
            "address_verification_method",
            "address_verified_at",
            "address_verification_token_hash",
            "address_verification_note",
            "updated_at",
        ]
    )
    return official


@transaction.atomic
def official_address_mark_verified(*, official_id: int, staff_name: str, note: str) -> Official:
    """Records a manual check of the address (who checked, when, how), which verifies it."""
    note = note.strip()
    if not note:
        raise ApplicationError(
            "Say how the address was checked.", fields={"note": ["e.g. confirmed by phone with the office"]}
        )
    official = Official.objects.select_for_update().get(pk=official_id)
    official.address_status = Official.AddressStatus.VERIFIED
    official.address_verification_method = Official.VerificationMethod.MANUAL
    official.address_verified_at = timezone.now()
    official.address_verified_by = staff_name[:150]
    official.address_verification_note = f"{note[:450]} ({official.email})"
    official.address_verification_token_hash = ""
    official.save(
        update_fields=[
            "address_status",
            "address_verification_method",
            "address_verified_at",
            "address_verified_by",
            "address_verification_note",
            "address_verification_token_hash",
            "updated_at",
        ]
    )
    return official


def official_address_reset(*, official: Official) -> None:
    """A changed address is unverified again (call before saving the new address)."""
    official.address_status = Official.AddressStatus.UNVERIFIED
    official.address_verification_method = Official.VerificationMethod.NONE
    official.address_verified_at = None
    official.address_verification_token_hash = ""
