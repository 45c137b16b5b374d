from __future__ import annotations

from django.shortcuts import get_object_or_404

from campaign.models import Campaign


def campaign_public_get(*, slug: str) -> Campaign:
    """A campaign the public may see: drafts are 404."""
    return get_object_or_404(Campaign.objects.exclude(status=Campaign.Status.DRAFT), slug=slug)
