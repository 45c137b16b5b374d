"""Erasure of a person by e-mail address (GDPR Art. 17), across every app.

Each app registers an eraser in its AppConfig.ready (`eraser_register("petitions", fn)`); the
core knows no app. `person_erase` runs every eraser, then the core's own part (the outbox), and
stores an `ErasureReceipt` that holds a keyed hash of the address, never the address: what was
erased, what was kept and why.

An eraser is `fn(email) -> ErasureOutcome`. It finds what its app holds about the address by its
own normalisation rule, owns its transactions, and must be idempotent: a second run finds
nothing left and erases nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from campaign.audit import audit_record
from campaign.crm.events import crm_erase
from campaign.models import ErasureReceipt, OutgoingEmail, PrivacyRequest, SuppressedAddress
from campaign.privacy.consent import consents_withdraw
from campaign.privacy.hashing import address_clean, address_hash

logger = logging.getLogger(__name__)


@dataclass
class KeptRecord:
    """Something an eraser had to keep, and the reason (a legal duty)."""

    what: str
    count: int
    why: str


@dataclass
class ErasureOutcome:
    erased: dict[str, int] = field(default_factory=dict)
    kept: list[KeptRecord] = field(default_factory=list)


Eraser = Callable[[str], ErasureOutcome]
_erasers: dict[str, Eraser] = {}


def eraser_register(name: str, fn: Eraser) -> None:
    """Registers (or replaces) the eraser of an app; called from its AppConfig.ready."""
    _erasers[name] = fn


def erasers_registered() -> list[str]:
    return list(_erasers)


def outbox_erase(email: str) -> ErasureOutcome:
    """The core's part: mails not sent yet are deleted; sent ones stay as a record that a mail
    went out, with recipient and content blanked. Apps blank the rows about their objects
    (subject_type/subject_id) themselves; this catches every row addressed to the person."""
    now = timezone.now()
    clean = address_clean(email)
    with transaction.atomic():
        rows = OutgoingEmail.objects.filter(to_email__iexact=clean)
        unsent = rows.exclude(status__in=[OutgoingEmail.Status.SENT, OutgoingEmail.Status.NEEDS_REVIEW])
        deleted, _ = unsent.delete()
        blanked = rows.update(to_email="", context={}, last_error="", updated_at=now)
    return ErasureOutcome(erased={"unsent_mails_deleted": deleted, "sent_mails_blanked": blanked})


def person_erase(
    *, email: str, origin: str = ErasureReceipt.Origin.STAFF, requested_by: str = ""
) -> ErasureReceipt:
    """Erases everything the apps hold about the address and returns the stored receipt.
    Idempotent; run again after a failure (e.g. Stripe unreachable), it finishes the work."""
    erased: dict[str, dict[str, int]] = {}
    kept: list[dict[str, object]] = []
    for name, fn in [*_erasers.items(), ("outbox", outbox_erase)]:
        outcome = fn(email)
        erased[name] = outcome.erased
        kept += [{"area": name, "what": k.what, "count": k.count, "why": k.why} for k in outcome.kept]
    email_hash = address_hash(email)
    with transaction.atomic():
        # The CRM is told to delete the contact, if it ever got it (campaign.crm.events).
        erased["crm"] = crm_erase(email=email, email_hash=email_hash)
        receipt = ErasureReceipt.objects.create(
            email_hash=email_hash, origin=origin, requested_by=requested_by[:150], erased=erased, kept=kept
        )
        # Erased, but still never to be mailed again (e.g. by an old list re-imported).
        SuppressedAddress.objects.get_or_create(
            email_hash=email_hash, defaults={"reason": SuppressedAddress.Reason.ERASED}
        )
        # Other requests of the person lose the sealed address: nothing is left to export.
        PrivacyRequest.objects.filter(email_hash=email_hash, status=PrivacyRequest.Status.PENDING).update(
            status=PrivacyRequest.Status.EXPIRED, email_sealed=""
        )
        PrivacyRequest.objects.filter(email_hash=email_hash).exclude(email_sealed="").update(email_sealed="")
        # The consents end; their records stay as proof (they hold the keyed hash only).
        consents_withdraw(how="erased", email_hash=email_hash)
    # The audit entry of the staff roles (issue 13) is written here, once per erasure.
    privacy_audit_record(action="privacy.erasure", object_id=receipt.pk, actor=requested_by)
    logger.info("erasure receipt %s recorded", receipt.pk)
    return receipt


def privacy_audit_record(*, action: str, object_id: int, actor: str) -> None:
    """The audit trail's entry of a privacy action: the record's id and the staff account
    (empty for the person's own request), never the address."""
    user = get_user_model().objects.filter(username=actor).first() if actor else None
    object_type = "campaign.erasurereceipt" if action == "privacy.erasure" else "campaign.privacyrequest"
    audit_record(actor=user, action=action, object_type=object_type, object_id=object_id)
