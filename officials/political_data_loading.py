"""Loading a country's political data into the database: idempotent, in bulk, in one
transaction, reporting what it added, changed and deactivated.

A member who is no longer in the source is deactivated, never deleted, so the delivery log
keeps its history. Addresses from the source are unverified; an address staff verified is
never overwritten by the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from officials.models import Constituency, Official, PostcodeArea
from officials.political_data import PoliticalData, political_data_dir, political_data_read


def _constituencies_sync(data: PoliticalData) -> tuple[dict[str, int], dict[int, Constituency]]:
    existing = {c.number: c for c in Constituency.objects.filter(parliament=data.parliament, term=data.term)}
    created, changed = [], []
    for number, (name, state) in data.constituencies.items():
        current = existing.get(number)
        if current is None:
            created.append(
                Constituency(
                    parliament=data.parliament, term=data.term, number=number, name=name, state=state
                )
            )
        elif (current.name, current.state) != (name, state):
            current.name, current.state = name, state
            changed.append(current)
    now = timezone.now()
    for constituency in changed:
        constituency.updated_at = now
    Constituency.objects.bulk_create(created, batch_size=1000)
    Constituency.objects.bulk_update(changed, ["name", "state", "updated_at"], batch_size=1000)
    by_number = {c.number: c for c in Constituency.objects.filter(parliament=data.parliament, term=data.term)}
    stale = len(set(by_number) - set(data.constituencies))
    return {"added": len(created), "changed": len(changed), "not_in_source": stale}, by_number


def _postcodes_sync(data: PoliticalData, by_number: dict[int, Constituency]) -> dict[str, int]:
    """The country's mapping for this parliament becomes exactly the file's: rows of other
    terms of the same parliament are removed, so two terms are never mixed in a lookup."""
    existing: dict[tuple[str, int], tuple[int, Any]] = {
        (postcode, cid): (pk, share)
        for pk, postcode, cid, share in PostcodeArea.objects.filter(
            country=data.country, constituency__parliament=data.parliament
        ).values_list("pk", "postcode", "constituency_id", "share")
    }
    wanted = {(postcode, by_number[number].pk): share for (postcode, number), share in data.postcodes.items()}
    removed = [pk for key, (pk, _) in existing.items() if key not in wanted]
    created, changed = [], []
    for (postcode, cid), share in wanted.items():
        current = existing.get((postcode, cid))
        if current is None:
            created.append(
                PostcodeArea(country=data.country, postcode=postcode, constituency_id=cid, share=share)
            )
        elif current[1] != share:
            changed.append(PostcodeArea(pk=current[0], share=share))
    for start in range(0, len(removed), 2000):
        PostcodeArea.objects.filter(pk__in=removed[start : start + 2000]).delete()
    PostcodeArea.objects.bulk_create(created, batch_size=2000)
    PostcodeArea.objects.bulk_update(changed, ["share"], batch_size=2000)
    return {"added": len(created), "changed": len(changed), "removed": len(removed)}


_SOURCE_FIELDS = (
    "name",
    "organisation",
    "role",
    "parliament",
    "state",
    "mandate",
    "constituency_id",
    "office_address",
    "active",
)


def _officials_sync(data: PoliticalData, by_number: dict[int, Constituency]) -> dict[str, int]:
    prefix = f"{data.id_prefix}:"
    existing = {o.external_id: o for o in Official.objects.filter(external_id__startswith=prefix)}
    role = str(data.manifest.get("role") or "")
    taken = dict(Official.objects.exclude(external_id__startswith=prefix).values_list("email", "name"))
    created: list[Official] = []
    changed: list[Official] = []
    kept_verified = 0
    conflicts: dict[str, list[str]] = {}
    for member in data.members:
        values: dict[str, Any] = {
            "name": member.name,
            "organisation": member.party,
            "role": role,
            "parliament": data.parliament,
            "state": member.state,
            "mandate": member.mandate,
            "constituency_id": by_number[member.constituency_number].pk
            if member.constituency_number
            else None,
            "office_address": member.office_address,
            "active": True,
        }
        if member.email in taken:
            conflicts.setdefault(member.external_id, []).append(
                f"email {member.email} belongs to another official ({taken[member.email]})"
            )
            continue
        official = existing.get(member.external_id)
        if official is None:
            created.append(
                Official(
                    external_id=member.external_id, email=member.email, salutation=member.salutation, **values
                )
            )
            continue
        dirty = False
        for name, value in values.items():
            if getattr(official, name) != value:
                setattr(official, name, value)
                dirty = True
        if not official.salutation:
            official.salutation, dirty = member.salutation, True
        if official.email != member.email:
            if official.address_verified:
                kept_verified += 1  # staff verified another address: the source's guess must not replace it
            else:
                official.email = member.email
                official.address_status = Official.AddressStatus.UNVERIFIED
                official.address_verification_token_hash = ""
                dirty = True
        if dirty:
            changed.append(official)
    if conflicts:
        from campaign.exceptions import ApplicationError

        raise ApplicationError(
            "Some members clash with other officials; nothing was loaded.", fields=conflicts
        )
    in_source = {member.external_id for member in data.members}
    left = [o for key, o in existing.items() if key not in in_source and o.active]
    for official in left:
        official.active = False  # left parliament: deactivated, never deleted (deliveries keep it)
    now = timezone.now()
    for official in changed + left:
        official.updated_at = now
    Official.objects.bulk_create(created, batch_size=1000)
    fields = [
        *_SOURCE_FIELDS,
        "salutation",
        "email",
        "address_status",
        "address_verification_token_hash",
        "updated_at",
    ]
    Official.objects.bulk_update(changed + left, fields, batch_size=500)
    return {
        "added": len(created),
        "changed": len(changed),
        "deactivated": len(left),
        "kept_verified_address": kept_verified,
    }


@transaction.atomic
def political_data_load(*, country: str = "de", directory: Path | None = None) -> dict[str, dict[str, int]]:
    """Loads or updates a country's constituencies, postcode mapping and members from its data
    directory (default: the vendored `officials/data/<country>/`). Checks every file first:
    a malformed file loads nothing. Running it twice changes nothing the second time."""
    data = political_data_read(directory=directory or political_data_dir(country=country))
    constituencies, by_number = _constituencies_sync(data)
    return {
        "constituencies": constituencies,
        "postcodes": _postcodes_sync(data, by_number),
        "officials": _officials_sync(data, by_number),
    }


def political_data_changed(report: dict[str, dict[str, int]]) -> bool:
    return any(
        value
        for part in report.values()
        for key, value in part.items()
        if key not in {"not_in_source", "kept_verified_address"}
    )
