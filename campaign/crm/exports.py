"""The CSV export of the newsletter subscribers with their consent proof (staff, data export
role). Consent records name a person by the keyed hash only; the address is read from what the
consent was given with (a signature), through a resolver each app registers in its
AppConfig.ready (`subscriber_address_resolver_register`), as with erasers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from campaign.models import ConsentRecord

# fn(subject ids) -> {subject id: address}; an erased or withdrawn subject is left out.
AddressResolver = Callable[[list[int]], dict[int, str]]
_resolvers: dict[str, AddressResolver] = {}

SUBSCRIBER_HEADER = [
    "email",
    "email_hash",
    "scope",
    "text_version",
    "text_sha256",
    "given_at",
    "origin",
    "confirmed_at",
]
BATCH = 2000


def subscriber_address_resolver_register(subject_type: str, fn: AddressResolver) -> None:
    _resolvers[subject_type] = fn


def _open_newsletter_consents() -> Any:
    return ConsentRecord.objects.filter(
        purpose=ConsentRecord.Purpose.NEWSLETTER, withdrawn_at__isnull=True, confirmed_at__isnull=False
    ).order_by("given_at", "pk")


def crm_subscriber_rows() -> Iterator[list[Any]]:
    """One row per subscribed address: its earliest open newsletter consent, oldest first."""
    seen: set[str] = set()
    records = _open_newsletter_consents().iterator(chunk_size=BATCH)
    while True:
        batch = [r for _, r in zip(range(BATCH), records, strict=False)]
        if not batch:
            return
        addresses: dict[tuple[str, int], str] = {}
        for subject_type in {r.subject_type for r in batch}:
            resolver = _resolvers.get(subject_type)
            ids = [r.subject_id for r in batch if r.subject_type == subject_type]
            found = resolver(ids) if resolver else {}
            addresses.update({(subject_type, pk): email for pk, email in found.items()})
        for r in batch:
            email = addresses.get((r.subject_type, r.subject_id), "")
            if not email or r.email_hash in seen:
                continue
            seen.add(r.email_hash)
            yield [
                email,
                r.email_hash,
                r.scope,
                r.text_version,
                r.text_sha256,
                r.given_at,
                r.origin,
                r.confirmed_at,
            ]
