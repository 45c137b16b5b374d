"""Reads that compose the apps: a campaign with its petitions and donation totals."""

from __future__ import annotations

from typing import Any

from campaign.models import Campaign
from campaign.selectors import campaign_organisation_get, campaign_public_get
from donations.selectors import campaign_donation_totals_get
from petitions.selectors import campaign_petitions_list, petition_detail_get


def campaign_detail_get(*, slug: str) -> dict[str, Any]:
    campaign = campaign_public_get(slug=slug)
    return {
        "campaign": campaign,
        "petitions": campaign_petitions_list(campaign=campaign),
        "donation_totals": campaign_donation_totals_get(campaign=campaign),
    }


def campaign_landing_get(*, campaign: Campaign | None) -> dict[str, Any]:
    """What a campaign's page shows: the campaign, its petitions (the first open one gets the
    widget), its donation progress and its organisation's imprint. Without a campaign, only
    the service-wide imprint."""
    if campaign is None:
        return {"campaign": None, "organisation": campaign_organisation_get(campaign=None)}
    petitions = campaign_petitions_list(campaign=campaign)
    featured = next((p for p in petitions if p.get("is_open", True)), petitions[0] if petitions else None)
    if featured is not None:
        featured = petition_detail_get(slug=featured["slug"])
    totals = campaign_donation_totals_get(campaign=campaign)
    goal = campaign.donation_goal or 0
    return {
        "campaign": campaign,
        "organisation": campaign_organisation_get(campaign=campaign),
        "petitions": petitions,
        "petition": featured,
        "donation_totals": totals,
        "donation_goal": goal,
        "donation_percent": min(100.0, round(100 * totals["raised_amount"] / goal, 1)) if goal else None,
    }
