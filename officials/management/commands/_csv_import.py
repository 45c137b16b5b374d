"""Shared handling of the CSV import commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaign.audit import audit_record
from campaign.exceptions import ApplicationError
from officials.imports import csv_rows_read

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"


class CSVImportCommand(BaseCommand):
    sample_name = ""
    required_columns: Sequence[str] = ()

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="CSV file (UTF-8, comma or semicolon separated)")
        parser.add_argument(
            "--sample", action="store_true", help="import the small sample shipped with the app"
        )

    def read_rows(self, options: dict[str, Any]) -> list[dict[str, str]]:
        if options["sample"]:
            path = SAMPLE_DIR / self.sample_name
        elif options["path"]:
            path = Path(options["path"])
        else:
            raise CommandError("Give a CSV file or --sample.")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        return self.call(csv_rows_read, text=text, required=self.required_columns)

    def call(self, func: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            result = func(**kwargs)
        except ApplicationError as exc:
            details = "\n".join(f"  {field}: {'; '.join(msgs)}" for field, msgs in (exc.fields or {}).items())
            raise CommandError(f"{exc.message}\n{details}") from exc
        if func.__name__.endswith("_import"):
            # Run from a shell, so no staff account: the entry names the command.
            audit_record(
                actor=None,
                action="import",
                object_type=f"officials.{func.__name__.removesuffix('_import')}",
                row_count=len(kwargs.get("rows", [])),
                details={"via": "command", "command": self.__module__.rsplit(".", 1)[-1], "result": result},
            )
        return result
