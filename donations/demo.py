"""Demo data of the donations app."""

from __future__ import annotations

from django.utils import timezone

from campaign.models import Campaign
from donations.models import Donation, Donor

S = Donation.Status


def donations_demo_load(*, campaign: Campaign) -> None:
    """A few settled gifts for the demo campaign, so the totals show on the landing page."""
    if Donation.objects.filter(campaign=campaign).exists():
        return
    for index, (amount, method) in enumerate([(2500, "card"), (5000, "sepa_debit"), (10000, "card")]):
        donor, _ = Donor.objects.get_or_create(
            email_normalized=f"demo-donor-{index}@example.org",
            defaults={
                "email": f"demo-donor-{index}@example.org",
                "first_name": "Demo",
                "last_name": f"{index}",
            },
        )
        Donation.objects.create(
            campaign=campaign,
            donor=donor,
            amount=amount,
            method=method,
            status=S.SUCCEEDED,
            succeeded_at=timezone.now(),
        )
