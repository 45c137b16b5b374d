"""Apple Pay and Google Pay need every domain that shows the wallet button registered with
Stripe as a payment method domain (per mode: test and live keys see their own), and Apple Pay
needs the domain association file served from each of them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from donations import stripe_api

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def wallet_domains() -> list[str]:
    """The service's own host and every site allowed to embed the widget (CORS), without
    loopback addresses (Stripe registers public domains only)."""
    hosts = [
        urlsplit(url).hostname or "" for url in [settings.PUBLIC_BASE_URL, *settings.CORS_ALLOWED_ORIGINS]
    ]
    hosts += settings.WALLET_EXTRA_DOMAINS
    seen: dict[str, None] = {}
    for host in hosts:
        host = host.strip().lower().rstrip(".")
        if host and host not in LOOPBACK:
            seen.setdefault(host, None)
    return list(seen)


@dataclass(frozen=True)
class DomainStatus:
    domain: str
    created: bool
    apple_pay: str
    google_pay: str


def _status(row: dict, wallet: str) -> str:
    value = row.get(wallet)
    status = value.get("status") if isinstance(value, dict) else None
    return status if isinstance(status, str) else "unknown"


def wallet_domains_register(domains: list[str] | None = None) -> list[DomainStatus]:
    """Registers each domain missing from the account and validates each one. Safe to run
    again: registered domains are only validated."""
    existing = stripe_api.payment_method_domains()
    results = []
    for domain in wallet_domains() if domains is None else domains:
        row = existing.get(domain)
        created = row is None
        if row is None:
            row = stripe_api.payment_method_domain_create(domain)
        row = stripe_api.payment_method_domain_validate(str(row.get("id", ""))) or row
        result = DomainStatus(domain, created, _status(row, "apple_pay"), _status(row, "google_pay"))
        logger.info("wallet domain %s: %s", domain, result)
        results.append(result)
    return results
