"""The access export (GDPR Art. 15): everything held about an e-mail address, gathered from
every app. Each app registers an exporter in its AppConfig.ready (`exporter_register`), as
with erasers; the core adds the mails sent and the suppression status.

An exporter is `fn(email) -> list[dict]`: one JSON-ready dict per record, empty when the app
knows nothing about the address. "Known" means some exporter returned a record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campaign.models import CrmDelivery, OutgoingEmail, SuppressedAddress
from campaign.privacy.consent import consent_proof_rows
from campaign.privacy.hashing import address_clean, address_hash

Exporter = Callable[[str], list[dict[str, Any]]]
_exporters: dict[str, Exporter] = {}


def exporter_register(name: str, fn: Exporter) -> None:
    _exporters[name] = fn


def _mails(email: str) -> list[dict[str, Any]]:
    rows = OutgoingEmail.objects.filter(to_email__iexact=address_clean(email)).order_by("created_at")
    return [
        {
            "kind": row.kind,
            "status": row.status,
            "queued_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        }
        for row in rows
    ]


def _suppression(email: str) -> list[dict[str, Any]]:
    row = SuppressedAddress.objects.filter(email_hash=address_hash(email)).first()
    return [{"reason": row.reason, "since": row.created_at.isoformat()}] if row else []


def _crm_handovers(email: str) -> list[dict[str, Any]]:
    """What was handed to the organisation's CRM about the address (campaign/crm/)."""
    rows = CrmDelivery.objects.filter(email_hash=address_hash(email)).order_by("created_at", "pk")
    return [
        {
            "event": row.event,
            "status": row.status,
            "queued_at": row.created_at.isoformat(),
            "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        }
        for row in rows
    ]


def person_export(email: str) -> dict[str, list[dict[str, Any]]]:
    """{area: records} for every area, the core's mails and suppression included."""
    sections = {name: fn(email) for name, fn in _exporters.items()}
    sections["mails"] = _mails(email)
    sections["suppression"] = _suppression(email)
    sections["crm"] = _crm_handovers(email)
    sections["consents"] = [
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        for row in consent_proof_rows(email)
    ]
    return sections


def person_is_known(email: str) -> bool:
    """Whether anything is held about the address (mails and suppression entries alone do
    not count: they exist for addresses staff typed, too)."""
    return any(fn(email) for fn in _exporters.values())
