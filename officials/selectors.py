"""Reads of the officials app: per-region totals for the public endpoint and staff reports,
and the public postcode lookup."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Max

from officials.models import Official, PostcodeArea, RegionTotal
from petitions.models import Petition


def constituency_totals_get(*, petition: Any) -> list[dict[str, Any]]:
    """Counted signatures per constituency (those with at least one), largest first. Reads the
    totals the counter pass maintains: one indexed query, independent of the signature count."""
    rows = (
        RegionTotal.objects.filter(petition=petition, constituency__isnull=False, count__gt=0)
        .order_by("-count", "constituency__number")
        .values_list(
            "constituency_id",
            "constituency__parliament",
            "constituency__number",
            "constituency__name",
            "constituency__state",
            "count",
        )
    )
    return [
        {
            "constituency_id": cid,
            "parliament": parliament,
            "number": number,
            "name": name,
            "state": state,
            "count": count,
        }
        for cid, parliament, number, name, state, count in rows
    ]


def region_totals_by_state(*, petition: Any) -> dict[str, Any]:
    """Counted signatures by state, the unassigned postcodes of mapped countries, and the
    other countries; the public regions endpoint and the report show these."""
    states: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    unassigned = 0
    rows = RegionTotal.objects.filter(petition=petition, count__gt=0).values_list(
        "bucket", "country", "state", "count"
    )
    for bucket, country, state, count in rows:
        if bucket.startswith("c:"):
            states[state] += count
        elif bucket.startswith("u:"):
            unassigned += count
        else:
            countries[country] += count
    updated_at = RegionTotal.objects.filter(petition=petition).aggregate(at=Max("updated_at"))["at"]
    return {
        "states": [
            {"state": state, "count": count}
            for state, count in sorted(states.items(), key=lambda i: (-i[1], i[0]))
        ],
        "unassigned": unassigned,
        "countries": [
            {"country": country, "count": count}
            for country, count in sorted(countries.items(), key=lambda i: (-i[1], i[0]))
        ],
        "updated_at": updated_at,
    }


def region_totals_attribution(*, petition: Any) -> str:
    """The attribution the licences of the regional data require, for the parliament terms
    whose constituencies this petition's totals use (the shipped German data, e.g.)."""
    from officials.political_data import political_data_attribution

    terms = (
        RegionTotal.objects.filter(petition=petition, constituency__isnull=False)
        .values_list("constituency__parliament", "constituency__term")
        .distinct()
    )
    return political_data_attribution(terms=list(terms))


def petition_public_get(*, slug: str) -> Any:
    """A petition the public may see (not a draft, in a public campaign); 404 otherwise."""
    from django.http import Http404

    petition = (
        Petition.objects.filter(slug=slug)
        .exclude(status=Petition.Status.DRAFT)
        .exclude(campaign__status="draft")
        .first()
    )
    if petition is None:
        raise Http404
    return petition


def petition_staff_get(*, slug: str) -> Any:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(Petition, slug=slug)


def postcode_lookup_get(*, country: str, postcode: str) -> dict[str, Any] | None:
    """The constituencies a postcode lies in (largest share first), its state, and who
    represents it: the members elected in those constituencies, then the list members of the
    state (those who look after one of these constituencies first). None for a postcode the
    mapping does not know. Carries no e-mail address."""
    areas = list(
        PostcodeArea.objects.filter(country=country, postcode=postcode)
        .select_related("constituency")
        .order_by("-share", "constituency__number")
    )
    if not areas:
        return None
    primary = areas[0].constituency
    constituency_ids = [area.constituency_id for area in areas]
    direct = list(
        Official.objects.filter(
            active=True, mandate=Official.Mandate.DIRECT, constituency_id__in=constituency_ids
        ).select_related("constituency")
    )
    direct.sort(key=lambda official: constituency_ids.index(official.constituency_id or 0))
    listed = sorted(
        Official.objects.filter(
            active=True,
            mandate=Official.Mandate.LIST,
            parliament=primary.parliament,
            state=primary.state,
        ).select_related("constituency"),
        key=lambda o: (o.constituency_id not in constituency_ids, o.name),
    )
    return {
        "postcode": postcode,
        "state": primary.state,
        "constituencies": [
            {
                "parliament": area.constituency.parliament,
                "number": area.constituency.number,
                "name": area.constituency.name,
                "state": area.constituency.state,
                "share": area.share,
            }
            for area in areas
        ],
        "officials": [
            {
                "name": official.name,
                "party": official.organisation,
                "role": official.mandate,
                "constituency_number": official.constituency.number if official.constituency else None,
            }
            for official in direct + listed
        ],
    }
