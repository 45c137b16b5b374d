"""The petitions' counters (registered through campaign.metrics): signings accepted,
confirmations, signatures flagged by the silent checks."""

from __future__ import annotations

from campaign.metrics import counter

signatures_created = counter(
    "signatures_created",
    "Signings accepted (202): a new signature, or the same address again (a resent mail).",
)
signatures_confirmed = counter("signatures_confirmed", "Signatures confirmed from the mailed link.")
signatures_flagged = counter("signatures_flagged", "Signatures flagged for review, by reason.", ["reason"])


def signature_flagged_count(reason: str) -> None:
    # Reasons are a fixed set of short codes ("honeypot", "domain_rate", ...).
    signatures_flagged.labels(reason[:40] or "unknown").inc()
