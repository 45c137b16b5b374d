"""The outbox sweeper (a beat task): rows the broker never got and rows whose worker died."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.models import OutgoingEmail

logger = logging.getLogger(__name__)


def outgoing_email_sweep(*, now: Any = None) -> dict[str, int]:
    """Re-enqueues rows the broker never got, and handles rows whose worker died:
    at-least-once mails are queued and sent again, at-most-once mails go to staff review."""
    # Imported here: the task module imports this one.
    from campaign.tasks import outgoing_email_send_task

    now = now or timezone.now()
    requeue_before = now - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    inflight_before = now - timedelta(seconds=settings.OUTBOX_INFLIGHT_TIMEOUT_SECONDS)
    Status = OutgoingEmail.Status

    needs_review = OutgoingEmail.objects.filter(
        status=Status.INFLIGHT, at_most_once=True, claimed_at__lt=inflight_before
    ).update(status=Status.NEEDS_REVIEW, last_error="worker died mid-send", updated_at=now)

    with transaction.atomic():
        stale_inflight = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=Status.INFLIGHT, at_most_once=False, claimed_at__lt=inflight_before)
            .values_list("pk", flat=True)[:1000]
        )
        OutgoingEmail.objects.filter(pk__in=stale_inflight, status=Status.INFLIGHT).update(
            status=Status.QUEUED, enqueued_at=now, last_error="worker died mid-send", updated_at=now
        )
        stale_queued = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, enqueued_at__lt=requeue_before)
            .values_list("pk", flat=True)[:1000]
        )
        OutgoingEmail.objects.filter(pk__in=stale_queued).update(enqueued_at=now, updated_at=now)

    to_send = [*stale_inflight, *stale_queued]
    for pk in to_send:
        try:
            outgoing_email_send_task.delay(pk)
        except Exception as exc:  # noqa: BLE001 - broker still down: the next sweep tries again
            logger.warning("outbox sweep: broker unavailable (%s)", type(exc).__name__)
            break
    if to_send or needs_review:
        logger.info(
            "outbox sweep: requeued %d, resent %d after a dead worker, %d to review",
            len(stale_queued),
            len(stale_inflight),
            needs_review,
        )
    return {"requeued": len(stale_queued), "resent": len(stale_inflight), "needs_review": needs_review}
