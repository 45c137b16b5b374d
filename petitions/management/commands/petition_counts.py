"""Runs the counter pass now (`--recount`: the nightly recount), e.g. after a restore or
before a handover, without waiting for the beat."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the petitions counter pass now; --recount also heals and reports drift."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--recount", action="store_true", help="run the nightly recount instead")

    def handle(self, *args: Any, recount: bool = False, **options: Any) -> None:
        from petitions.counting import petition_counts_recount, petition_counts_update

        if recount:
            drift = petition_counts_recount()
            self.stdout.write(f"recount done; drift by petition id: {drift or 'none'}")
            return
        result = petition_counts_update()
        if result is None:
            self.stdout.write("another counter pass is running; nothing done")
        else:
            self.stdout.write(
                f"{result['changes']} changes over {result['petitions']} petitions, "
                f"{result['milestones']} milestones reached"
            )
