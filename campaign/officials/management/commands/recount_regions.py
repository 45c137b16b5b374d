from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from campaign.officials.services import region_totals_recount


class Command(BaseCommand):
    help = "Rebuilds the per-region totals from the counted signatures (after a new postcode mapping)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = region_totals_recount()
        self.stdout.write(f"region totals: {result['buckets']} regions, {result['corrected']} corrected")
