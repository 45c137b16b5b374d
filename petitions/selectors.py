from __future__ import annotations

from typing import Any

from campaign.models import Campaign


def campaign_petitions_list(*, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's public petitions, in the shape of the campaign endpoint."""
    return []
