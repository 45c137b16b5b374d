from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Least

from campaign.models import Campaign
from donations.models import Donation


def campaign_donation_totals_get(*, campaign: Campaign) -> dict[str, Any]:
    """Raised amount (cents) and donor count of a campaign. The raised amount is the gifts
    (without covered fees) of settled donations minus what was refunded; refunded, lost and
    failed gifts do not count."""
    counted = Donation.objects.filter(campaign=campaign, status__in=Donation.COUNTED_STATUSES)
    totals = counted.aggregate(
        gross=Sum("amount"),
        refunded=Sum(Least(F("amount_refunded"), F("amount"))),
        # A person is their normalised e-mail address; anonymised donors count once each.
        emails=Count("donor__email_normalized", distinct=True, filter=~Q(donor__email_normalized="")),
        anonymous=Count("donor", distinct=True, filter=Q(donor__email_normalized="")),
    )
    return {
        "raised_amount": (totals["gross"] or 0) - (totals["refunded"] or 0),
        "donor_count": (totals["emails"] or 0) + (totals["anonymous"] or 0),
    }


def donation_public_get(*, public_id: Any) -> Donation | None:
    return Donation.objects.select_related("campaign").filter(public_id=public_id).first()


def donation_output(donation: Donation) -> dict[str, Any]:
    return {
        "id": donation.public_id,
        "status": donation.status,
        "amount": donation.amount,
        "fee_amount": donation.fee_amount,
        "total_amount": donation.total_amount,
        "currency": donation.currency,
        "interval": donation.interval,
        "payment_method": donation.method,
        "campaign": donation.campaign.slug,
    }


DONATION_EXPORT_HEADER = [
    "id",
    "created_at",  # named with its time zone in the file: donation_export_header()
    "campaign",
    "status",
    "method",
    "interval",
    "currency",
    "gross",
    "fee_added",
    "stripe_fee",
    "net",
    "refunded",
    "receipt_number",
    "receipt_status",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "petition",
    "signature_ref",
]


def donation_export_header() -> list[str]:
    from campaign.exports import timestamp_header

    return [timestamp_header(name) if name == "created_at" else name for name in DONATION_EXPORT_HEADER]


def donation_export_rows(*, campaign: Campaign | None = None, status: str = "") -> Iterator[list[Any]]:
    """Rows of the staff export, amounts in cents; no personal data beyond what staff need."""
    queryset = Donation.objects.order_by("pk")
    if campaign is not None:
        queryset = queryset.filter(campaign=campaign)
    if status:
        queryset = queryset.filter(status=status)
    rows = queryset.values_list(
        "public_id",
        "created_at",
        "campaign__slug",
        "status",
        "method",
        "interval",
        "currency",
        "amount",
        "fee_amount",
        "stripe_fee",
        "net_amount",
        "amount_refunded",
        "receipt__number",
        "receipt__status",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "referrer",
        "petition_slug",
        "signature_ref",
    )
    for row in rows.iterator(chunk_size=2000):
        (
            public_id,
            created_at,
            slug,
            state,
            method,
            interval,
            currency,
            amount,
            fee,
            stripe_fee,
            net,
            refunded,
            receipt_number,
            receipt_status,
            *utm,
        ) = row
        yield [
            str(public_id),
            created_at,  # the exports' one date-time form (campaign.exports.format_timestamp)
            slug,
            state,
            method,
            interval,
            currency,
            amount + fee,
            fee,
            stripe_fee if stripe_fee is not None else "",
            net if net is not None else "",
            refunded,
            receipt_number or "",
            receipt_status or "",
            *utm,
        ]


def donation_summary_get(*, campaign: Campaign) -> dict[str, Any]:
    """Staff figures of a campaign: settled money (cents, net of refunds) by day (project time
    zone), by source (utm_source) and by method, and the monthly gifts running."""
    from django.db.models.functions import TruncDate

    from donations.models import Mandate

    counted = Donation.objects.filter(campaign=campaign, status__in=Donation.COUNTED_STATUSES)
    net = Sum(F("amount") - Least(F("amount_refunded"), F("amount")))

    def grouped(key: Any, name: str) -> list[dict[str, Any]]:
        rows = counted.annotate(key=key).values("key").annotate(amount=net, count=Count("pk")).order_by("key")
        return [{name: row["key"], "amount": row["amount"] or 0, "count": row["count"]} for row in rows]

    totals = campaign_donation_totals_get(campaign=campaign)
    fees = counted.aggregate(stripe_fees=Sum("stripe_fee"), covered_fees=Sum("fee_amount"), count=Count("pk"))
    mandates = Mandate.objects.filter(campaign=campaign, status=Mandate.Status.ACTIVE).aggregate(
        count=Count("pk"), monthly_amount=Sum("amount")
    )
    return {
        "raised_amount": totals["raised_amount"],
        "donor_count": totals["donor_count"],
        "donation_count": fees["count"] or 0,
        "covered_fees": fees["covered_fees"] or 0,
        "stripe_fees": fees["stripe_fees"] or 0,
        "by_day": [
            {**row, "day": row["day"].isoformat()}
            for row in grouped(TruncDate("succeeded_at"), "day")
            if row["day"]
        ],
        "by_source": grouped(F("utm_source"), "source"),
        "by_method": grouped(F("method"), "method"),
        # Attribution: the petition a gift started from, and the gifts that followed a signing.
        "by_petition": grouped(F("petition_slug"), "petition"),
        "after_signing": {
            "amount": counted.exclude(signature_ref="").aggregate(amount=net)["amount"] or 0,
            "count": counted.exclude(signature_ref="").count(),
        },
        "active_mandates": mandates["count"] or 0,
        "monthly_amount": mandates["monthly_amount"] or 0,
    }
