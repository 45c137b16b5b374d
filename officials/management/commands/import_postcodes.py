from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from officials.imports import postcode_areas_import
from officials.management.commands._csv_import import CSVImportCommand


class Command(CSVImportCommand):
    help = (
        "Imports the postcode-to-constituency mapping from CSV with the columns country, postcode, "
        "parliament, constituency_number, share (0..1). Import the constituencies first. Existing "
        "signatures are re-attributed by the nightly recount (or `recount_regions`)."
    )
    sample_name = "postcodes.csv"
    required_columns = ("country", "postcode", "parliament", "constituency_number")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete the existing mapping of the imported countries and parliaments first",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = self.call(postcode_areas_import, rows=self.read_rows(options), replace=options["replace"])
        self.stdout.write(f"postcode areas: {result['imported']} imported, {result['deleted']} deleted")
