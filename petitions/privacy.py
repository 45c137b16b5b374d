"""What petitions do for a person's privacy requests (registered with the core in
PetitionsConfig.ready): erasure by e-mail address and the access export.

Erasing anonymises each signature of the address instead of deleting it, so it keeps
counting: status, `counted`, the flag, petition, timestamps, country and (for a signature
that is in the counts) the postcode stay, which is all the totals, the per-region totals and the
milestones are computed from, so a recount agrees with the stored counts. Names, e-mail
(replaced by the tombstone `erased:<id>`), mail domain, city, IP hash, origin, referrer and
every opt-in go; link tokens are deleted; mails about the signatures not sent yet are deleted,
sent ones keep no recipient or content.

The handover reports' digest covers `<id>\\t<normalised e-mail>` of each counted signature: a
report made before an erasure verifies against the list of that time, and the erasure receipt
(time and number of signatures per petition) explains why a digest computed afterwards
differs. The number of lines, like every count, stays the same.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaign.models import OutgoingEmail
from campaign.privacy.erasure import ErasureOutcome, KeptRecord
from petitions.models import Petition, Signature, SignatureToken
from petitions.report_rollup import signature_report_rollup_release
from petitions.selectors import petition_count_cache_clear
from petitions.signing import SIGNATURE_SUBJECT_TYPE
from petitions.validation import email_normalize

logger = logging.getLogger(__name__)


def _signatures_of(email: str) -> Q:
    cleaned = (email or "").strip().lower()
    if "@" not in cleaned:
        return Q(pk__in=[])  # never match the blanked rows of earlier erasures
    normalized, _ = email_normalize(cleaned)
    # Per petition, so PostgreSQL looks the address up in the unique (petition, normalised
    # e-mail) index instead of scanning every signature (this also runs for public requests).
    return Q(petition_id__in=Petition.objects.values("id"), email_normalized=normalized)


@transaction.atomic
def signatures_erase(email: str) -> ErasureOutcome:
    """Anonymises every signature of the address (see the module docstring). Idempotent."""
    now = timezone.now()
    signatures = list(
        Signature.objects.select_for_update()
        .filter(_signatures_of(email))
        .only("id", "petition_id", "counted")
    )
    ids = [s.pk for s in signatures]
    if not ids:
        return ErasureOutcome(erased={"signatures_anonymised": 0})
    signature_report_rollup_release(signature_ids=ids)  # the referrer goes
    for signature in signatures:
        Signature.objects.filter(pk=signature.pk).update(
            first_name="",
            last_name="",
            email="",
            email_normalized=f"erased:{signature.pk}",
            email_domain="",
            city="",
            # A signature that is in the counts keeps its postcode: the per-region totals (and
            # their recount) are computed from it. Any other one has no use for it.
            **({} if signature.counted else {"postcode": ""}),
            ip_hash="",
            user_agent_hash="",
            consent_origin="",
            referrer="",
            newsletter_consent=False,
            updates_consent=False,
            show_name_publicly=False,
            share_name_with_officials=False,
            updated_at=now,
        )
    tokens, _ = SignatureToken.objects.filter(signature_id__in=ids).delete()
    mails = OutgoingEmail.objects.filter(subject_type=SIGNATURE_SUBJECT_TYPE, subject_id__in=ids)
    unsent, _ = mails.exclude(
        status__in=[OutgoingEmail.Status.SENT, OutgoingEmail.Status.NEEDS_REVIEW]
    ).delete()
    blanked = mails.update(to_email="", context={}, last_error="", updated_at=now)
    # A name shown among the recent signers must leave this process's cache now.
    transaction.on_commit(petition_count_cache_clear)
    per_petition = Counter(s.petition_id for s in signatures)
    counted = sum(1 for s in signatures if s.counted)
    logger.info("erasure: %d signatures anonymised over %d petitions", len(ids), len(per_petition))
    return ErasureOutcome(
        erased={
            "signatures_anonymised": len(ids),
            "tokens_deleted": tokens,
            "update_subscriptions_ended": len(ids),
            "unsent_mails_deleted": unsent,
            "sent_mails_blanked": blanked,
        },
        kept=[
            KeptRecord(
                what="anonymised signatures (status, time, country; postcode while counted)",
                count=counted,
                why="they stay in the published totals, per-region totals and milestones "
                f"(petitions {', '.join(str(p) for p in sorted(per_petition))})",
            )
        ]
        if counted
        else [],
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def signatures_export(email: str) -> list[dict[str, Any]]:
    """The person's signatures with their consent records (access request)."""
    rows = Signature.objects.filter(_signatures_of(email)).select_related("petition").order_by("created_at")
    return [
        {
            "petition": s.petition.slug,
            "petition_title": s.petition.title_de,
            "status": s.status,
            "first_name": s.first_name,
            "last_name": s.last_name,
            "email": s.email,
            "postcode": s.postcode,
            "country": s.country,
            "city": s.city,
            "language": s.locale,
            "signed_at": _iso(s.created_at),
            "confirmed_at": _iso(s.confirmed_at),
            "withdrawn_at": _iso(s.withdrawn_at),
            "consent": {
                "version": s.consent_version,
                "text_sha256": s.consent_text_hash,
                "given_at": _iso(s.consent_at),
                "origin": s.consent_origin,
            },
            "newsletter_consent": s.newsletter_consent,
            "updates_consent": s.updates_consent,
            "show_name_publicly": s.show_name_publicly,
            "share_name_with_officials": s.share_name_with_officials,
            "utm_source": s.utm_source,
            "referrer": s.referrer,
        }
        for s in rows
    ]


def signature_addresses(signature_ids: list[int]) -> dict[int, str]:
    """The addresses of confirmed signatures (the CRM subscriber export); erased and withdrawn
    ones have none and are left out."""
    rows = Signature.objects.filter(pk__in=signature_ids, status=Signature.Status.CONFIRMED).exclude(email="")
    return dict(rows.values_list("pk", "email"))
