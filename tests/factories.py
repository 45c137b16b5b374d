from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from campaign.models import Campaign


class CampaignFactory(DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    title_de = factory.Sequence(lambda n: f"Kampagne {n}")
    title_en = factory.Sequence(lambda n: f"Campaign {n}")
    description_de = "Beschreibung"
    description_en = "Description"
    status = Campaign.Status.LIVE
    donation_goal = 1_000_000
    suggested_amounts = factory.LazyFunction(lambda: [1000, 2500, 5000])
