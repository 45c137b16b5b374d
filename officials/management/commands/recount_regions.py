from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Runs the nightly recount now: petition counts and per-region totals, under the counter "
        "pass's lock (e.g. after importing a new postcode mapping)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from petitions.counting import petition_counts_recount

        drift = petition_counts_recount()
        self.stdout.write(f"recount done; petitions corrected: {len(drift)}")
