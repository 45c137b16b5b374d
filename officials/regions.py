"""Attribution of postcodes to regions and the per-region totals.

Per-region totals are maintained only by the petitions counter pass (`region_totals_apply`,
called with the pass's change list under its lock) and rebuilt by the nightly recount
(`region_totals_recount`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from officials.models import (
    PostcodeArea,
    RegionTotal,
    postcode_normalize,
)
from petitions.models import Signature

logger = logging.getLogger(__name__)


# --- Attribution and per-region totals ------------------------------------------------------


@dataclass(frozen=True)
class Region:
    bucket: str
    constituency_id: int | None
    country: str
    state: str


def _attributions_get(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """(country, normalised postcode) -> (constituency id, state) of the largest share; a tie
    goes to the lower constituency number, so the choice is stable."""
    if not pairs:
        return {}
    countries = sorted({c for c, _ in pairs})
    postcodes = sorted({p for _, p in pairs})
    rows: list[tuple[str, str, int, Decimal, int, str]] = []
    for start in range(0, len(postcodes), 2000):  # bounded IN lists (SQLite caps parameters)
        rows += PostcodeArea.objects.filter(
            country__in=countries, postcode__in=postcodes[start : start + 2000]
        ).values_list(
            "country", "postcode", "constituency_id", "share", "constituency__number", "constituency__state"
        )
    best: dict[tuple[str, str], tuple[Decimal, int, int, str]] = {}
    for country, postcode, constituency_id, share, number, state in rows:
        key = (country, postcode)
        if key not in pairs:
            continue
        current = best.get(key)
        if current is None or (share, -number) > (current[0], -current[1]):
            best[key] = (share, number, constituency_id, state)
    return {key: (value[2], value[3]) for key, value in best.items()}


def _mapped_countries() -> set[str]:
    return set(PostcodeArea.objects.values_list("country", flat=True).distinct())


class RegionResolver:
    """Maps (country, postcode) to a region bucket with one mapping query per batch."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        normalised = {((c or "").upper(), postcode_normalize(p)) for c, p in pairs}
        self.attributions = _attributions_get(normalised)
        self.mapped_countries = _mapped_countries()

    def region(self, country: str, postcode: str) -> Region:
        country = (country or "").upper()
        found = self.attributions.get((country, postcode_normalize(postcode)))
        if found is not None:
            return Region(bucket=f"c:{found[0]}", constituency_id=found[0], country=country, state=found[1])
        if country in self.mapped_countries:
            # A country the mapping covers, but a postcode it does not know: "unassigned".
            return Region(bucket=f"u:{country}", constituency_id=None, country=country, state="")
        return Region(bucket=f"f:{country}", constituency_id=None, country=country, state="")


def region_for_postcode(*, country: str, postcode: str) -> Region:
    return RegionResolver([(country, postcode)]).region(country, postcode)


def _change_fields(change: Any) -> tuple[int, str, str, int]:
    """A change of the counter pass: a mapping with petition_id, postcode, country, delta, or
    a row (id, petition_id, postcode, country, delta) as the pass's RETURNING gives it."""
    if isinstance(change, Mapping):
        return (
            int(change["petition_id"]),
            change["postcode"] or "",
            change["country"] or "",
            int(change["delta"]),
        )
    if hasattr(change, "petition_id"):
        return int(change.petition_id), change.postcode or "", change.country or "", int(change.delta)
    values = tuple(change)
    if len(values) == 5:
        values = values[1:]
    petition_id, postcode, country, delta = values
    return int(petition_id), postcode or "", country or "", int(delta)


def _region_totals_upsert(increments: Mapping[tuple[int, Region], int], *, replace: bool = False) -> None:
    """One INSERT ... ON CONFLICT per 500 buckets (PostgreSQL and SQLite alike): adds the
    increments to the existing counts, or with `replace` sets them."""
    table = connection.ops.quote_name(RegionTotal._meta.db_table)
    now = timezone.now()
    # One row per (petition, bucket): a statement must not touch the same row twice.
    merged: dict[tuple[int, str], tuple[Region, int]] = {}
    for (petition_id, region), value in increments.items():
        key = (petition_id, region.bucket)
        merged[key] = (merged[key][0] if key in merged else region, merged.get(key, (region, 0))[1] + value)
    items = [((key[0], region), value) for key, (region, value) in merged.items() if value or replace]
    new_count = "EXCLUDED.count" if replace else f"{table}.count + EXCLUDED.count"
    with connection.cursor() as cursor:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params: list[Any] = []
            for (petition_id, region), value in chunk:
                params += [
                    petition_id,
                    region.bucket,
                    region.constituency_id,
                    region.country,
                    region.state,
                    value,
                    now,
                ]
            cursor.execute(
                f"INSERT INTO {table} (petition_id, bucket, constituency_id, country, state, count, updated_at) "  # noqa: S608 - identifiers are ours, values are parameters
                f"VALUES {placeholders} "
                f"ON CONFLICT (petition_id, bucket) DO UPDATE SET count = {new_count}, "
                "updated_at = EXCLUDED.updated_at",
                params,
            )


def region_totals_apply(*, changes: Iterable[Any]) -> int:
    """Applies the counter pass's change list (petition_id, postcode, country, delta) to the
    per-region totals: one mapping query and one upsert per 500 regions. Runs inside the
    pass's transaction and lock; returns the number of regions touched."""
    parsed = [_change_fields(change) for change in changes]
    if not parsed:
        return 0
    resolver = RegionResolver((country, postcode) for _, postcode, country, _ in parsed)
    increments: Counter[tuple[int, Region]] = Counter()
    for petition_id, postcode, country, delta in parsed:
        increments[(petition_id, resolver.region(country, postcode))] += delta
    _region_totals_upsert(increments)
    return sum(1 for value in increments.values() if value)


@transaction.atomic
def region_totals_recount(*, petition_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Rebuilds the per-region totals from the signatures currently included in the counts
    (`counted`), healing any drift. The database groups by (petition, country, postcode);
    the attribution runs over those groups. Call it under the counter pass's lock (the nightly
    petition recount does)."""
    signatures = Signature.objects.filter(counted=True)
    totals = RegionTotal.objects.all()
    if petition_ids is not None:
        petition_ids = list(petition_ids)
        signatures = signatures.filter(petition_id__in=petition_ids)
        totals = totals.filter(petition_id__in=petition_ids)
    groups = list(
        signatures.order_by().values_list("petition_id", "country", "postcode").annotate(n=Count("id"))
    )
    resolver = RegionResolver((country, postcode) for _, country, postcode, _ in groups)
    desired: Counter[tuple[int, Region]] = Counter()
    for petition_id, country, postcode, n in groups:
        desired[(petition_id, resolver.region(country, postcode))] += n
    existing = {(row.petition_id, row.bucket): row.count for row in totals.select_for_update()}
    wanted = {(petition_id, region.bucket): value for (petition_id, region), value in desired.items()}
    corrected = sum(1 for key, value in wanted.items() if existing.get(key, 0) != value)
    stale = [key for key, value in existing.items() if key not in wanted and value != 0]
    corrected += len(stale)
    # Buckets no signature falls into any more (e.g. after a mapping change) go to zero.
    for petition_id, bucket in stale:
        RegionTotal.objects.filter(petition_id=petition_id, bucket=bucket).update(
            count=0, updated_at=timezone.now()
        )
    _region_totals_upsert(desired, replace=True)
    if corrected:
        logger.info("region totals recount corrected %d buckets", corrected)
    return {"buckets": len(wanted), "corrected": corrected}
