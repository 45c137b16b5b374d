from __future__ import annotations

from typing import Any

from officials.imports import officials_import
from officials.management.commands._csv_import import CSVImportCommand


class Command(CSVImportCommand):
    help = (
        "Imports officials from CSV with the columns name, email and optionally salutation, role, "
        "organisation, parliament, constituency_number, language (de/en), active (true/false). "
        "Existing officials are updated by e-mail address."
    )
    sample_name = "officials.csv"
    required_columns = ("name", "email")

    def handle(self, *args: Any, **options: Any) -> None:
        result = self.call(officials_import, rows=self.read_rows(options))
        self.stdout.write(f"officials: {result['created']} created, {result['updated']} updated")
