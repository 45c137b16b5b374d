"""The events handed to the CRM, each written in the caller's transaction and sent after it
commits. Nothing is written while CRM_WEBHOOK_URL is unset.

- `subscribe`: a newsletter consent was confirmed (called by campaign.privacy.consent when it
  records one): the address, its keyed hash and the consent proof.
- `unsubscribe`: the last open newsletter consent of an address ended (one-click unsubscribe,
  withdrawal of the signature): the keyed hash only, which the CRM got with the subscribe.
- `erasure`: the address was erased (campaign.privacy.erasure) and had been a subscriber: the
  keyed hash and the address, so the CRM can find and delete the contact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from campaign.crm.delivery import crm_delivery_publish, crm_enabled
from campaign.crm.models import CrmDelivery
from campaign.models import ConsentRecord
from campaign.privacy.hashing import address_clean

Event = CrmDelivery.Event


def crm_event_queue(*, event: str, email_hash: str, payload: dict[str, Any]) -> CrmDelivery | None:
    """Writes one delivery row and hands it to a worker after commit; None while the CRM
    hand-over is off."""
    if not crm_enabled():
        return None
    delivery = CrmDelivery.objects.create(
        event=event,
        email_hash=email_hash,
        payload={"email_hash": email_hash, "occurred_at": timezone.now().isoformat(), **payload},
        next_attempt_at=timezone.now(),
    )
    crm_delivery_publish(delivery.pk)
    return delivery


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def crm_subscribe_queue(*, record: ConsentRecord, email: str) -> CrmDelivery | None:
    return crm_event_queue(
        event=Event.SUBSCRIBE,
        email_hash=record.email_hash,
        payload={
            "email": address_clean(email),
            "consent": {
                "scope": record.scope,
                "text_version": record.text_version,
                "text_sha256": record.text_sha256,
                "given_at": _iso(record.given_at),
                "origin": record.origin,
                "confirmed_at": _iso(record.confirmed_at),
            },
        },
    )


def crm_unsubscribes_queue(*, email_hashes: list[str], how: str) -> int:
    """An unsubscribe for each address whose newsletter consents have all ended now."""
    if not crm_enabled() or not email_hashes:
        return 0
    still_open = set(
        ConsentRecord.objects.filter(
            purpose=ConsentRecord.Purpose.NEWSLETTER, email_hash__in=email_hashes, withdrawn_at__isnull=True
        ).values_list("email_hash", flat=True)
    )
    queued = 0
    for email_hash in sorted(set(email_hashes) - still_open - {""}):
        crm_event_queue(event=Event.UNSUBSCRIBE, email_hash=email_hash, payload={"how": how})
        queued += 1
    return queued


def crm_erase(*, email: str, email_hash: str) -> dict[str, int]:
    """The CRM's part of an erasure: deliveries not made yet about the address are dropped, the
    address leaves the rows kept, and, if it was ever a newsletter subscriber (so the CRM may
    hold it, from a webhook or a CSV export), an `erasure` goes out."""
    rows = CrmDelivery.objects.filter(email_hash=email_hash)
    dropped, _ = rows.exclude(status=CrmDelivery.Status.DELIVERED).exclude(event=Event.ERASURE).delete()
    blanked = 0
    for row in rows.filter(payload__has_key="email"):
        row.payload = {k: v for k, v in row.payload.items() if k != "email"}
        row.save(update_fields=["payload", "updated_at"])
        blanked += 1
    was_subscriber = ConsentRecord.objects.filter(
        purpose=ConsentRecord.Purpose.NEWSLETTER, email_hash=email_hash
    ).exists()
    queued = 0
    if was_subscriber and crm_event_queue(
        event=Event.ERASURE, email_hash=email_hash, payload={"email": address_clean(email)}
    ):
        queued = 1
    return {
        "crm_deliveries_dropped": dropped,
        "crm_deliveries_blanked": blanked,
        "crm_erasure_queued": queued,
    }
