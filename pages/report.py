"""The campaign report staff look at: the figures of one petition, or of every petition of a
campaign, composed from the aggregated selectors of petitions, donations and officials. Plain
data (dates as ISO strings), the same for the page, the JSON endpoint and the XLSX download."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.shortcuts import get_object_or_404

from campaign.models import Campaign
from donations.report_selectors import donation_report_get
from officials.selectors import constituency_totals_get, region_totals_by_state
from petitions.models import Petition
from petitions.report_selectors import signature_report_get

TOP_CONSTITUENCIES = 15
TOP_SOURCES = 25
DIRECT = "(direct)"


def _days_filled(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Every day from the first to the last row, the days without a row as zeros."""
    if not rows:
        return []
    by_day = {row["day"]: row for row in rows}
    first, last = min(by_day), max(by_day)
    days = []
    day = first
    while day <= last:
        row = by_day.get(day, {})
        days.append({"day": day.isoformat(), **{key: row.get(key) or 0 for key in keys}})
        day += dt.timedelta(days=1)
    return days


def _regions(petitions: Sequence[Petition]) -> dict[str, Any]:
    states: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    constituencies: dict[tuple[str, int], dict[str, Any]] = {}
    unassigned = 0
    for petition in petitions:
        totals = region_totals_by_state(petition=petition)
        states.update({row["state"]: row["count"] for row in totals["states"]})
        countries.update({row["country"]: row["count"] for row in totals["countries"]})
        unassigned += totals["unassigned"]
        for row in constituency_totals_get(petition=petition):
            key = (row["parliament"], row["number"])
            entry = constituencies.setdefault(
                key, {k: row[k] for k in ("parliament", "number", "name", "state")} | {"count": 0}
            )
            entry["count"] += row["count"]
    top = sorted(constituencies.values(), key=lambda r: (-r["count"], r["number"]))[:TOP_CONSTITUENCIES]
    return {
        "states": [{"state": s, "count": c} for s, c in sorted(states.items(), key=lambda i: (-i[1], i[0]))],
        "unassigned": unassigned,
        "countries": [
            {"country": k, "count": c} for k, c in sorted(countries.items(), key=lambda i: (-i[1], i[0]))
        ],
        "constituencies": top,
    }


def _funnel(sources: Sequence[dict[str, Any]], donations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signed -> confirmed -> donated per utm_source (empty: "(direct)")."""
    funnel: dict[str, dict[str, Any]] = {}

    def entry(source: str) -> dict[str, Any]:
        name = source or DIRECT
        return funnel.setdefault(
            name, {"source": name, "signed": 0, "confirmed": 0, "donated": 0, "donated_amount": 0}
        )

    for row in sources:
        item = entry(row["utm_source"])
        item["signed"] += row["signed"]
        item["confirmed"] += row["confirmed"]
    for row in donations:
        item = entry(row["utm_source"])
        item["donated"] += row["count"]
        item["donated_amount"] += row["amount"]
    for item in funnel.values():
        item["confirmation_rate"] = _rate(item["confirmed"], item["signed"])
        item["donation_rate"] = _rate(item["donated"], item["confirmed"])
    return sorted(funnel.values(), key=lambda r: (-r["signed"], -r["donated"], r["source"]))


def _rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _report(
    *,
    scope: str,
    slug: str,
    title: str,
    campaign: Campaign,
    petitions: Sequence[Petition],
    per_petition: bool,
) -> dict[str, Any]:
    ids = [p.pk for p in petitions]
    signatures = signature_report_get(petition_ids=ids)
    totals, sources = signatures["totals"], signatures["by_source"]
    donations = donation_report_get(
        campaign=campaign, petition_slugs=[p.slug for p in petitions] if per_petition else None
    )
    return {
        "scope": scope,
        "slug": slug,
        "title": title,
        "campaign": campaign.slug,
        "petitions": [{"slug": p.slug, "title": p.title_de} for p in petitions],
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "totals": {**totals, "confirmation_rate": _rate(totals["confirmed"], totals["signed"])},
        "signatures_by_day": _days_filled(signatures["by_day"], ("signed", "confirmed", "pending")),
        **_regions(petitions),
        "sources": sources[:TOP_SOURCES],
        "referrers": signatures["by_referrer"],
        "donations": {
            "amount": donations["amount"],
            "count": donations["count"],
            "monthly_donors": donations["monthly_donors"],
            "monthly_amount": donations["monthly_amount"],
            "by_day": _days_filled(donations["by_day"], ("amount", "count")),
        },
        "funnel": _funnel(sources, donations["by_source"]),
    }


def petition_report_get(*, slug: str) -> dict[str, Any]:
    """The report of one petition (404 for an unknown slug); donations are those that
    started from this petition."""
    petition = get_object_or_404(Petition.objects.select_related("campaign"), slug=slug)
    return _report(
        scope="petition",
        slug=petition.slug,
        title=petition.title_de,
        campaign=petition.campaign,
        petitions=[petition],
        per_petition=True,
    )


def campaign_report_get(*, slug: str) -> dict[str, Any]:
    """The report of a campaign: all its petitions together and all its donations."""
    campaign = get_object_or_404(Campaign, slug=slug)
    petitions = list(Petition.objects.filter(campaign=campaign).order_by("created_at"))
    return _report(
        scope="campaign",
        slug=campaign.slug,
        title=campaign.title_de,
        campaign=campaign,
        petitions=petitions,
        per_petition=False,
    )
