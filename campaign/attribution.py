"""The signed reference that links a donation to the petition signing it came from.

The confirmation page of a signing (petitions) puts it into the donate link and the donation
widget; the donation (donations) stores what it names. Neither app imports the other: both use
this core module, and the reference is signed with the project's secret, so nobody can claim
another signing for a donation.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SALT = "campaign.attribution.signing-reference"
# A donation made from the confirmation page follows within minutes; a link opened weeks later
# still counts as coming from that signing, a stale one not.
MAX_AGE_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class SigningReference:
    signature_id: str
    petition_slug: str


def signing_reference_make(*, signature_id: int | str, petition_slug: str) -> str:
    return signing.dumps({"s": str(signature_id), "p": petition_slug}, salt=SALT)


def signing_reference_read(value: str) -> SigningReference | None:
    """The signing a reference names, or None for a forged, altered or expired one."""
    try:
        data = signing.loads(value, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str) or not isinstance(data.get("p"), str):
        return None
    return SigningReference(signature_id=data["s"][:20], petition_slug=data["p"][:80])
