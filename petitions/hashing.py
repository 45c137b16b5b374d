"""Hashes of the petitions app (IP, link tokens, consent texts) and the IP block list."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)


def ip_hash_compute(ip: str) -> str:
    """HMAC-SHA256 of the IP with HASH_SECRET: enough to group requests from one address,
    useless for recovering it without the secret (and cheap, unlike a password hash)."""
    if not ip:
        return ""
    return hmac.new(settings.HASH_SECRET.encode(), ip.encode(), hashlib.sha256).hexdigest()


def user_agent_hash_compute(user_agent: str) -> str:
    """HMAC-SHA256 of the User-Agent header (a salted namespace apart from the IP hashes): lets
    the burst check see that signings came from the same browser build, nothing more."""
    if not user_agent:
        return ""
    return hmac.new(settings.HASH_SECRET.encode(), f"ua:{user_agent}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


def consent_text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=8)
def _blocked_networks(ranges: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for value in ranges:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            # The system check (petitions.checks) reports it; signing must not fail on it.
            logger.error("PETITIONS_BLOCKED_IP_RANGES: %r is not an IP range; ignored", value)
    return tuple(networks)


def ip_is_blocked(ip: str) -> bool:
    if not settings.PETITIONS_BLOCKED_IP_RANGES or not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(
        address in network for network in _blocked_networks(tuple(settings.PETITIONS_BLOCKED_IP_RANGES))
    )
