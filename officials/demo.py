"""Sample data of the officials app and the demo loader."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from campaign.models import Campaign
from officials.imports import constituencies_import, csv_rows_read, officials_import, postcode_areas_import
from officials.models import (
    DeliveryPlan,
    Official,
)
from officials.regions import region_totals_recount


def sample_data_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV file shipped in `officials/sample_data/`."""
    path = Path(__file__).resolve().parent / "sample_data" / name
    return csv_rows_read(text=path.read_text(encoding="utf-8"), required=[])


@transaction.atomic
def officials_demo_load(*, campaign: Campaign) -> None:
    """The sample constituencies, postcodes and officials (fictitious addresses), and a plan
    per petition of the demo campaign: every Bundestag member of the sample plus a ministry
    desk, on each milestone and weekly on Monday 09:00 Berlin time."""
    from datetime import time

    constituencies_import(rows=sample_data_rows("constituencies.csv"))
    postcode_areas_import(rows=sample_data_rows("postcodes.csv"))
    officials_import(rows=sample_data_rows("officials.csv"))
    ministry = Official.objects.filter(constituency__isnull=True, active=True)
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
        plan.officials.add(*ministry)
    region_totals_recount(petition_ids=list(campaign.petitions.values_list("pk", flat=True)))
