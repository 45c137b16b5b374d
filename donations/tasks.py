"""Celery tasks of the donations app: ids in, a service does the work, retries are bounded."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import shared_task
from django.utils import timezone

from donations.stripe_api import StripeUnavailable

# The Stripe event tasks live with the webhook code that enqueues them (donations/webhooks.py);
# imported here so the worker's task autodiscovery registers them.
from donations.webhooks import stripe_event_process_task, stripe_events_sweep_task  # noqa: F401

logger = logging.getLogger(__name__)


@shared_task(
    name="donations.mandate_charge",
    acks_late=True,
    autoretry_for=(StripeUnavailable,),
    retry_backoff=True,
    max_retries=5,
)
def mandate_charge_task(mandate_id: int, today: str | None = None, **kwargs: Any) -> str:
    from donations.mandates import mandate_charge

    day = date.fromisoformat(today) if today else timezone.localdate()
    return mandate_charge(mandate_id=mandate_id, today=day)


@shared_task(name="donations.mandates_charge_due")
def mandates_charge_due_task(today: str | None = None, **kwargs: Any) -> int:
    """Fans out one charge task per due mandate; `today` (ISO date) is the injectable clock."""
    from donations.mandate_changes import mandates_pause_end
    from donations.mandates import mandates_due

    day = date.fromisoformat(today) if today else timezone.localdate()
    mandates_pause_end(today=day)  # donors' pauses that end today
    ids = mandates_due(today=day)
    for mandate_id in ids:
        mandate_charge_task.delay(mandate_id, day.isoformat())
    return len(ids)


@shared_task(
    name="donations.payments_reconcile", autoretry_for=(StripeUnavailable,), max_retries=3, retry_backoff=True
)
def payments_reconcile_task(**kwargs: Any) -> dict[str, int]:
    from donations.reconciliation import payments_reconcile

    return payments_reconcile()


@shared_task(name="donations.annual_receipts_issue")
def annual_receipts_issue_task(today: str | None = None, force_year: int | None = None, **kwargs: Any) -> int:
    """In January, the collective receipts for the previous year (idempotent, runs daily)."""
    from donations.receipts import annual_receipts_issue

    day = date.fromisoformat(today) if today else timezone.localdate()
    if force_year is None and day.month != 1:
        return 0
    return annual_receipts_issue(year=force_year or day.year - 1)


@shared_task(name="donations.donors_abandoned_purge")
def donors_abandoned_purge_task(**kwargs: Any) -> int:
    from donations.retention import donors_abandoned_purge

    return donors_abandoned_purge()
