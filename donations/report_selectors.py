"""Aggregated reads for the staff campaign report: settled gifts per day and per source, and
the monthly donors. One GROUP BY each; no donation row is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Least, TruncDate

from campaign.models import Campaign
from donations.models import Donation, Mandate

NET = Sum(F("amount") - Least(F("amount_refunded"), F("amount")))


def _counted(*, campaign: Campaign, petition_slugs: Sequence[str] | None) -> Any:
    donations = Donation.objects.filter(campaign=campaign, status__in=Donation.COUNTED_STATUSES)
    if petition_slugs is not None:
        donations = donations.filter(petition_slug__in=list(petition_slugs))
    return donations


def donation_report_get(*, campaign: Campaign, petition_slugs: Sequence[str] | None = None) -> dict[str, Any]:
    """Settled gifts (cents, net of refunds) per day of settlement (project time zone), per
    utm_source, their sum and number, and the monthly donors: active mandates and their
    monthly sum. With `petition_slugs`, only the gifts that started from those petitions
    (and the mandates behind them)."""
    counted = _counted(campaign=campaign, petition_slugs=petition_slugs)
    by_day = (
        counted.exclude(succeeded_at=None)
        .annotate(day=TruncDate("succeeded_at"))
        .values("day")
        .annotate(amount=NET, count=Count("pk"))
        .order_by("day")
    )
    by_source = (
        counted.values("utm_source")
        .annotate(amount=NET, count=Count("pk"), after_signing=Count("pk", filter=~Q(signature_ref="")))
        .order_by("-count", "utm_source")
    )
    totals = counted.aggregate(amount=NET, count=Count("pk"))
    mandates = Mandate.objects.filter(campaign=campaign, status=Mandate.Status.ACTIVE)
    if petition_slugs is not None:
        started = Donation.objects.filter(
            campaign=campaign, petition_slug__in=list(petition_slugs), mandate__isnull=False
        ).values("mandate_id")
        mandates = mandates.filter(pk__in=started)
    monthly = mandates.aggregate(count=Count("pk"), amount=Sum("amount"))
    return {
        "amount": totals["amount"] or 0,
        "count": totals["count"] or 0,
        "by_day": [
            {"day": row["day"], "amount": row["amount"] or 0, "count": row["count"]} for row in by_day
        ],
        "by_source": [
            {
                "utm_source": row["utm_source"],
                "amount": row["amount"] or 0,
                "count": row["count"],
                "after_signing": row["after_signing"],
            }
            for row in by_source
        ],
        "monthly_donors": monthly["count"] or 0,
        "monthly_amount": monthly["amount"] or 0,
    }
