"""The outbox's metrics: mails sent, failed and retried (counted where it happens, in the
worker), and at each scrape the rows waiting (queued or in flight) and the age of the oldest."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from prometheus_client.core import Metric

from campaign.metrics import age_seconds, counter, gauge

mails_sent = counter("mails_sent", "Mails handed to the mail server.", ["kind"])
mails_failed = counter("mails_failed", "Mails given up on (refused, a bug, retries used up).", ["kind"])
mails_retried = counter("mails_retried", "Sending attempts that failed transiently and wait for a retry.")


def _kind_label(kind: str) -> str:
    # Kinds are a fixed set of builder names ("petitions.confirmation", ...): a bounded label.
    return kind[:80] or "unknown"


def mail_sent_count(kind: str) -> None:
    mails_sent.labels(_kind_label(kind)).inc()


def mail_failed_count(kind: str) -> None:
    mails_failed.labels(_kind_label(kind)).inc()


def outbox_gauges() -> Iterator[Metric]:
    from campaign.models import OutgoingEmail

    pending = OutgoingEmail.objects.filter(
        status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.INFLIGHT]
    ).aggregate(rows=Count("id"), oldest=Min("created_at"))
    rows = gauge("outbox_pending", "Outbox rows queued or in flight.")
    rows.add_metric([], pending["rows"])
    oldest = gauge("outbox_oldest_pending_age_seconds", "Age of the oldest outbox row not sent yet.")
    oldest.add_metric([], age_seconds(pending["oldest"]))
    yield rows
    yield oldest
