from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaign.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Loads or updates a country's political data shipped in officials/data/<country>/ "
        "(constituencies of one term, the postcode mapping, the members of parliament). "
        "Idempotent; prints what changed. Members no longer in the source are deactivated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("country", help="the country code of the data, e.g. de")
        parser.add_argument(
            "--data-dir", help="read the files from this directory instead of the shipped data"
        )
        parser.add_argument(
            "--no-recount",
            action="store_true",
            help="do not re-attribute existing signatures after the postcode mapping changed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from officials.political_data_loading import political_data_changed, political_data_load

        directory = Path(options["data_dir"]) if options["data_dir"] else None
        try:
            report = political_data_load(country=options["country"], directory=directory)
        except ApplicationError as exc:
            details = "\n".join(f"  {field}: {'; '.join(msgs)}" for field, msgs in (exc.fields or {}).items())
            raise CommandError(f"{exc.message}\n{details}") from exc
        for part, counts in report.items():
            described = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in counts.items())
            self.stdout.write(f"{part}: {described}")
        postcodes = report["postcodes"]
        if any(postcodes.values()) and not options["no_recount"]:
            from petitions.counting import petition_counts_recount

            petition_counts_recount()
            self.stdout.write("per-region totals recounted for the new mapping")
        if not political_data_changed(report):
            self.stdout.write("nothing changed")
