from __future__ import annotations

from typing import Any

from officials.imports import constituencies_import
from officials.management.commands._csv_import import CSVImportCommand


class Command(CSVImportCommand):
    help = "Imports constituencies from CSV with the columns parliament, number, name, state."
    sample_name = "constituencies.csv"
    required_columns = ("parliament", "number", "name", "state")

    def handle(self, *args: Any, **options: Any) -> None:
        result = self.call(constituencies_import, rows=self.read_rows(options))
        self.stdout.write(f"constituencies: {result['created']} created, {result['updated']} updated")
