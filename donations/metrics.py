"""The donations' scrape-time gauges (registered with campaign.metrics): Stripe events stored
but not processed yet, and the age of the oldest; the webhook lags when it grows."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from prometheus_client.core import Metric

from campaign.metrics import age_seconds, gauge


def stripe_event_gauges() -> Iterator[Metric]:
    from donations.models import StripeEvent

    pending = StripeEvent.objects.filter(
        status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.PROCESSING]
    ).aggregate(rows=Count("id"), oldest=Min("received_at"))
    rows = gauge("stripe_events_pending", "Stripe events received and not processed yet.")
    rows.add_metric([], pending["rows"])
    oldest = gauge("stripe_events_oldest_pending_age_seconds", "Age of the oldest unprocessed Stripe event.")
    oldest.add_metric([], age_seconds(pending["oldest"]))
    yield rows
    yield oldest
