"""Sample data of the officials app and the demo loader."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from campaign.models import Campaign
from officials.imports import csv_rows_read, officials_import
from officials.models import DeliveryPlan, Official
from officials.political_data_loading import political_data_load
from officials.regions import region_totals_recount

DEMO_NOTE = "demo: a fictitious example.org address"


def sample_data_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV file shipped in `officials/sample_data/` (the small sample the unit
    tests use)."""
    path = Path(__file__).resolve().parent / "sample_data" / name
    return csv_rows_read(text=path.read_text(encoding="utf-8"), required=[])


@transaction.atomic
def officials_demo_load(*, campaign: Campaign) -> dict[str, dict[str, int]]:
    """The real German data (the 299 Wahlkreise of 2025, the postcode mapping, the members of
    the 21st Bundestag with their unverified addresses), the sample's fictitious ministry desk
    (marked verified, so the demo shows a delivery), and a plan per petition of the demo
    campaign: every Bundestag member plus the desk, on each milestone and weekly on Monday
    09:00 Berlin time. The members' guessed addresses receive nothing until verified."""
    from datetime import time

    report = political_data_load(country="de")
    desk_rows = [row for row in sample_data_rows("officials.csv") if not row.get("constituency_number")]
    officials_import(rows=desk_rows)
    desks = Official.objects.filter(email__in=[row["email"].lower() for row in desk_rows], active=True)
    desks.exclude(address_status=Official.AddressStatus.VERIFIED).update(
        address_status=Official.AddressStatus.VERIFIED,
        address_verification_method=Official.VerificationMethod.MANUAL,
        address_verification_note=DEMO_NOTE,
    )
    for petition in campaign.petitions.all():
        plan, _ = DeliveryPlan.objects.get_or_create(
            petition=petition,
            name="Bundestag und Ministerium",
            defaults={
                "parliament": "bundestag",
                "milestones": sorted(petition.milestones.values_list("target", flat=True)),
                "schedule_weekday": DeliveryPlan.Weekday.MONDAY,
                "schedule_time": time(9, 0),
                "schedule_timezone": "Europe/Berlin",
            },
        )
        plan.officials.add(*desks)
    region_totals_recount(petition_ids=list(campaign.petitions.values_list("pk", flat=True)))
    return report
