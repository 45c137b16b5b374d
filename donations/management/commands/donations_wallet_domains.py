"""Register and validate the wallet (Apple Pay / Google Pay) domains with Stripe: the service's
host and every site in CORS_ALLOWED_ORIGINS (plus WALLET_EXTRA_DOMAINS). Run once with the test
key and once with the live key in STRIPE_SECRET_KEY; safe to repeat."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Register and validate every domain that shows the wallet button (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("domains", nargs="*", help="only these domains (default: all configured)")

    def handle(self, *args: Any, **options: Any) -> None:
        from donations.wallets import wallet_domains_register

        for result in wallet_domains_register(options["domains"] or None):
            verb = "registered" if result.created else "already registered"
            self.stdout.write(
                f"{result.domain}: {verb}; apple_pay {result.apple_pay}, google_pay {result.google_pay}"
            )
