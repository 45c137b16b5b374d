"""Where a donation came from: the petition it started from, the signing that led to it (the
signed reference of the confirmation page), the utm_* parameters and the referring page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from campaign.attribution import signing_reference_read


def referrer_clean(value: str) -> str:
    """The referring page's origin and path: the query and fragment are dropped (they can
    carry tokens or personal data), and anything but an http(s) address is dropped whole."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))[:500]


def donation_attribution(data: dict[str, Any]) -> dict[str, str]:
    """The attribution fields of a new donation from validated input. A signing reference
    counts only for its own petition: with another `petition` given, it is left out."""
    petition_slug = data.get("petition") or ""
    signature_ref = ""
    reference = signing_reference_read(data["signing_ref"]) if data.get("signing_ref") else None
    if reference is not None and petition_slug in ("", reference.petition_slug):
        petition_slug = reference.petition_slug
        signature_ref = reference.signature_id
    return {
        "utm_term": data.get("utm_term", ""),
        "utm_content": data.get("utm_content", ""),
        "referrer": referrer_clean(data.get("referrer", "")),
        "petition_slug": petition_slug,
        "signature_ref": signature_ref,
    }
