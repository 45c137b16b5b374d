"""The deliveries' scrape-time gauge (registered with campaign.metrics): mails to officials
scheduled or handed to the outbox and not sent yet, and the age of the oldest."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from prometheus_client.core import Metric

from campaign.metrics import age_seconds, gauge


def delivery_gauges() -> Iterator[Metric]:
    from officials.models import Delivery

    pending = Delivery.objects.filter(
        status__in=[Delivery.Status.SCHEDULED, Delivery.Status.QUEUED]
    ).aggregate(rows=Count("id"), oldest=Min("created_at"))
    rows = gauge("deliveries_pending", "Deliveries to officials scheduled or queued, not sent yet.")
    rows.add_metric([], pending["rows"])
    oldest = gauge("deliveries_oldest_pending_age_seconds", "Age of the oldest delivery not sent yet.")
    oldest.add_metric([], age_seconds(pending["oldest"]))
    yield rows
    yield oldest
