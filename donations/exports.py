"""Row generators of the finance team's receipt list (staff export)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from donations.models import Receipt

RECEIPT_EXPORT_HEADER = [
    "number",
    "year",
    "sequence",
    "kind",
    "status",
    "event",
    "amount",
    "currency",
    "donated_on",
    "period_start",
    "period_end",
    "issued_on",
    "voided_on",
    "void_reason",
    "replaces",
    "replaced_by",
    "donor_name",
]


def receipt_export_rows(*, year: int) -> Iterator[list[Any]]:
    """Every receipt number of `year` in order, one row each: issued, voided or corrected (a
    receipt that replaces a voided one), amounts in cents. The sequence has no gaps (numbers
    are taken under a lock in the issuing transaction), so the list can be checked for
    completeness by counting."""
    rows = (
        Receipt.objects.filter(year=year)
        .order_by("sequence")
        .values_list(
            "number",
            "year",
            "sequence",
            "kind",
            "status",
            "amount",
            "currency",
            "donated_on",
            "period_start",
            "period_end",
            "issued_at",
            "voided_at",
            "void_reason",
            "replaces__number",
            "replaced_by__number",
            "donor_name",
            "processing_restricted_at",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        (number, year_, sequence, kind, status, amount, currency, donated_on, start, end, issued, voided) = (
            row[:12]
        )
        void_reason, replaces, replaced_by, donor_name, restricted = row[12:]
        if restricted:  # erased donor: the name is sealed for the tax retention duty only
            donor_name = ""
        event = "corrected" if replaces else "issued"
        yield [
            number,
            year_,
            sequence,
            kind,
            status,
            event,
            amount,
            currency,
            donated_on.isoformat(),
            start.isoformat() if start else "",
            end.isoformat() if end else "",
            timezone.localdate(issued).isoformat(),
            timezone.localdate(voided).isoformat() if voided else "",
            void_reason,
            replaces or "",
            replaced_by or "",
            donor_name,
        ]
