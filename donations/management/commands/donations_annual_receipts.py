"""Issue the collective receipts (Sammelbestätigungen) of a year by hand; the beat task does
it every January. Safe to run again: gifts with a valid receipt are skipped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = "Issue the annual collective donation receipts for a year (default: last year)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--year", type=int, default=timezone.localdate().year - 1)

    def handle(self, *args: Any, **options: Any) -> None:
        from donations.receipts import annual_receipts_issue

        issued = annual_receipts_issue(year=options["year"])
        self.stdout.write(f"{issued} collective receipt(s) issued for {options['year']}.")
