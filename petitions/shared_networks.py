"""Many people behind one address: a school class, an office, a conference on one NAT address.

The per-IP defences (the sign throttle and the IP flags of petitions.fraud) must not hit them,
and must still hit a script signing from one address. What tells them apart (docs/petitions.md,
"Shared networks"):

- networks the campaign names (`PETITIONS_IP_ALLOWLIST`, CIDR ranges) skip the per-IP windows;
- a signer with an address at a big mail provider (`PETITIONS_MAIL_PROVIDERS`) does not count
  against the per-IP window of the throttle and of the sustained flag: such a mailbox costs a
  sign-up, and a signature counts only once confirmed from it;
- in a burst from one address, a crowd has many different names and addresses; a script repeats
  itself: numbered addresses (a1@, a2@, a3@, or name+1@) from one user agent, or one name with
  many addresses. Only such a pattern flags a burst.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db.models import QuerySet

from campaign.client_ip import address_in_ranges
from petitions.models import Signature

_DIGITS = re.compile(r"\d+")
# The most signatures of one burst the pattern check reads (the throttle keeps a burst from one
# address far below this).
BURST_ROWS_MAX = 2000


def ip_is_allowlisted(ip: str) -> bool:
    """Whether the address is in one of the networks of `PETITIONS_IP_ALLOWLIST`."""
    return address_in_ranges(ip, settings.PETITIONS_IP_ALLOWLIST)


@lru_cache(maxsize=4)
def _providers(domains: tuple[str, ...]) -> frozenset[str]:
    return frozenset(domain.strip().lower() for domain in domains)


def email_domain_is_provider(domain: str) -> bool:
    """Whether the (lower-case) domain is one of the big mail providers."""
    return bool(domain) and domain in _providers(tuple(settings.PETITIONS_MAIL_PROVIDERS))


def without_providers(signatures: QuerySet[Signature]) -> QuerySet[Signature]:
    """The signatures whose mail domain is not one of the big providers."""
    return signatures.exclude(email_domain__in=_providers(tuple(settings.PETITIONS_MAIL_PROVIDERS)))


@dataclass(frozen=True)
class Signer:
    """What the burst check compares of one signature."""

    email: str
    first_name: str
    last_name: str
    user_agent_hash: str


def address_pattern(email: str) -> str:
    """The local part with every run of digits replaced by `#` and a `+tag` kept as `+#`, or ""
    when the address has neither (it is not numbered). `a1@x`, `a2@y` and `a17@x` share `a#`."""
    local = email.strip().lower().rpartition("@")[0]
    local, plus, _tag = local.partition("+")
    masked = _DIGITS.sub("#", local) + ("+#" if plus else "")
    return masked if "#" in masked else ""


def name_pattern(first_name: str, last_name: str) -> str:
    """The full name, case-folded, digits masked (`Bot 1`, `Bot 2` are one name)."""
    return _DIGITS.sub("#", f"{first_name} {last_name}".casefold().strip())


def burst_is_scripted(signer: Signer, recent: Iterable[Signer]) -> bool:
    """Whether the signer, among the recent signatures from the same address (itself
    included), belongs to a pattern of at least `PETITIONS_IP_BURST_PATTERN_LIMIT`: numbered
    addresses from the same user agent, or the same name."""
    limit = settings.PETITIONS_IP_BURST_PATTERN_LIMIT
    own_address = address_pattern(signer.email)
    own_name = name_pattern(signer.first_name, signer.last_name)
    same_address = same_name = 0
    for other in recent:
        if (
            own_address
            and other.user_agent_hash == signer.user_agent_hash
            and address_pattern(other.email) == own_address
        ):
            same_address += 1
        if own_name and name_pattern(other.first_name, other.last_name) == own_name:
            same_name += 1
        if same_address >= limit or same_name >= limit:
            return True
    return False


def ip_burst_is_scripted(signature: Signature, burst: QuerySet[Signature]) -> bool:
    """Reads the burst's signatures (only for a busy address: newest first, bounded) and tells
    whether this one belongs to a scripted pattern among them."""
    fields = ("email", "first_name", "last_name", "user_agent_hash")
    recent = [Signer(*row) for row in burst.order_by("-created_at").values_list(*fields)[:BURST_ROWS_MAX]]
    own = Signer(signature.email, signature.first_name, signature.last_name, signature.user_agent_hash)
    return burst_is_scripted(own, recent)
