"""The campaign report as an XLSX workbook: one sheet per table of pages/report.py."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

SHEETS: tuple[tuple[str, str, Sequence[tuple[str, str]]], ...] = (
    (
        "Pro Tag",
        "signatures_by_day",
        (
            ("day", "Tag"),
            ("signed", "Unterschrieben"),
            ("confirmed", "Bestätigt"),
            ("pending", "Unbestätigt"),
        ),
    ),
    ("Bundesländer", "states", (("state", "Bundesland"), ("count", "Bestätigt"))),
    (
        "Wahlkreise",
        "constituencies",
        (("number", "Nr."), ("name", "Wahlkreis"), ("state", "Bundesland"), ("count", "Bestätigt")),
    ),
    (
        "Quellen",
        "sources",
        (
            ("utm_source", "utm_source"),
            ("utm_medium", "utm_medium"),
            ("utm_campaign", "utm_campaign"),
            ("signed", "Unterschrieben"),
            ("confirmed", "Bestätigt"),
        ),
    ),
    (
        "Verweise",
        "referrers",
        (("domain", "Domain"), ("signed", "Unterschrieben"), ("confirmed", "Bestätigt")),
    ),
    (
        "Funnel",
        "funnel",
        (
            ("source", "Quelle"),
            ("signed", "Unterschrieben"),
            ("confirmed", "Bestätigt"),
            ("donated", "Spenden"),
            ("donated_amount", "Spenden (Cent)"),
            ("confirmation_rate", "Bestätigungsquote %"),
            ("donation_rate", "Spendenquote %"),
        ),
    ),
)


def _rows(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    if key == "donations_by_day":
        return list(report["donations"]["by_day"])
    return list(report[key])


def report_xlsx(report: dict[str, Any]) -> bytes:
    """The workbook: an overview sheet with the totals, then one sheet per table."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    overview = workbook.add_worksheet("Übersicht")
    totals = report["totals"]
    donations = report["donations"]
    lines = [
        ("Bericht", report["title"]),
        ("Umfang", report["scope"]),
        ("Erstellt", report["generated_at"]),
        ("Unterschrieben", totals["signed"]),
        ("Bestätigt", totals["confirmed"]),
        ("Unbestätigt", totals["pending"]),
        ("Zurückgezogen", totals["withdrawn"]),
        ("Markiert", totals["flagged"]),
        ("Bestätigungsquote %", totals["confirmation_rate"]),
        ("Spenden", donations["count"]),
        ("Spendensumme (Cent)", donations["amount"]),
        ("Monatliche Spender*innen", donations["monthly_donors"]),
        ("Monatlich (Cent)", donations["monthly_amount"]),
    ]
    for row, (label, value) in enumerate(lines):
        overview.write_string(row, 0, label, bold)
        overview.write(row, 1, value)
    overview.set_column(0, 0, 26)
    overview.set_column(1, 1, 40)
    sheets = (
        *SHEETS[:1],
        (
            "Spenden pro Tag",
            "donations_by_day",
            (("day", "Tag"), ("amount", "Summe (Cent)"), ("count", "Anzahl")),
        ),
        *SHEETS[1:],
    )
    for name, key, columns in sheets:
        sheet = workbook.add_worksheet(name)
        for col, (_, header) in enumerate(columns):
            sheet.write_string(0, col, header, bold)
        for row, item in enumerate(_rows(report, key), start=1):
            for col, (field, _) in enumerate(columns):
                value = item.get(field, "")
                if isinstance(value, str):
                    sheet.write_string(row, col, value)
                else:
                    sheet.write(row, col, value)
        sheet.set_column(0, len(columns) - 1, 16)
    workbook.close()
    return buffer.getvalue()
