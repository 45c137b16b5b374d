"""Creates (or updates) the demo campaign the local run shows. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from pages.services import campaign_demo_load


class Command(BaseCommand):
    help = "Load the demo campaign (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = campaign_demo_load()
        self.stdout.write(self.style.SUCCESS(f"Demo campaign '{campaign.slug}' is ready."))
