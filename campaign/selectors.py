from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from campaign.models import Campaign


def campaign_public_get(*, slug: str) -> Campaign:
    """A campaign the public may see: drafts are 404."""
    return get_object_or_404(Campaign.objects.exclude(status=Campaign.Status.DRAFT), slug=slug)


def campaign_detail_get(*, slug: str) -> dict[str, Any]:
    from donations.selectors import campaign_donation_totals_get
    from petitions.selectors import campaign_petitions_list

    campaign = campaign_public_get(slug=slug)
    return {
        "campaign": campaign,
        "petitions": campaign_petitions_list(campaign=campaign),
        "donation_totals": campaign_donation_totals_get(campaign=campaign),
    }
