"""The demo campaign of the local run, with each app's demo data."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from campaign.models import Campaign
from donations.demo import donations_demo_load
from officials.demo import officials_demo_load
from petitions.demo import petitions_demo_load

DEMO_CAMPAIGN_SLUG = "stopstreamingexploitation"


@transaction.atomic
def campaign_demo_load() -> Any:
    """The demo campaign of the local run; apps add their demo data through their own
    `<app>_demo_load(campaign=...)` services."""
    campaign, _ = Campaign.objects.update_or_create(
        slug=DEMO_CAMPAIGN_SLUG,
        defaults={
            "title_de": "#stopstreamingexploitation – Livestream-Missbrauch von Kindern stoppen",
            "title_en": "#stopstreamingexploitation – stop the livestreamed sexual exploitation of children",
            "description_de": (
                "Kinder werden vor laufender Kamera sexuell ausgebeutet, live gestreamt für Täter "
                "in aller Welt. Wir fordern von Bundestag und Bundesregierung wirksame Gesetze, "
                "Ermittlungsressourcen und Hilfe für die Betroffenen."
            ),
            "description_en": (
                "Children are sexually exploited in front of a camera, livestreamed to offenders "
                "around the world. We call on the Bundestag and the federal government for "
                "effective laws, investigative resources and help for survivors."
            ),
            "status": Campaign.Status.LIVE,
            "donation_goal": 5_000_000,
            "suggested_amounts": [1000, 2500, 5000, 10000],
        },
    )
    petitions_demo_load(campaign=campaign)
    officials_demo_load(campaign=campaign)
    donations_demo_load(campaign=campaign)
    return campaign
