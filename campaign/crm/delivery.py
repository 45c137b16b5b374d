"""Delivering one CRM webhook row: claim it with a conditional UPDATE, POST the signed JSON,
record the outcome. Failures come back with exponential back-off until
CRM_WEBHOOK_MAX_ATTEMPTS, then the row is a dead letter that staff can retry."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from campaign.crm.models import CrmDelivery
from campaign.crm.signing import webhook_signature

logger = logging.getLogger(__name__)

Status = CrmDelivery.Status
# Below the broker's visibility timeout (3600 s), so a countdown message is not redelivered early.
BACKOFF_CAP_SECONDS = 1800


def crm_enabled() -> bool:
    return bool(settings.CRM_WEBHOOK_URL)


def crm_delivery_publish(crm_delivery_id: int, *, countdown: float = 0) -> None:
    """Hands the row to a worker (after the current transaction commits). A broker that is down
    does not fail the caller: the row stays pending and the sweep sends it."""
    from campaign.crm.tasks import crm_delivery_send_task

    def enqueue() -> None:
        crm_delivery_send_task.apply_async(
            (crm_delivery_id,), countdown=countdown, queue=settings.CRM_WEBHOOK_QUEUE
        )

    transaction.on_commit(enqueue, robust=True)


def backoff_seconds(attempts: int) -> int:
    """The wait after the `attempts`-th failure: base, 2×base, 4×base, … capped at half an hour."""
    return int(min(settings.CRM_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def _claim(crm_delivery_id: int, now: datetime) -> bool:
    # Of two workers given the same row, exactly one gets count 1; an early message is a no-op.
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = CrmDelivery.objects.filter(due, pk=crm_delivery_id, status=Status.PENDING).update(
        status=Status.INFLIGHT, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    return claimed == 1


def webhook_body(delivery: CrmDelivery) -> bytes:
    return json.dumps(
        {"id": str(delivery.event_id), "event": delivery.event, **delivery.payload},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _post(delivery: CrmDelivery) -> None:
    body = webhook_body(delivery)
    timestamp = int(time.time())
    response = requests.post(
        settings.CRM_WEBHOOK_URL,
        data=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "campaign-crm-webhook/1",
            "X-Event-Id": str(delivery.event_id),
            "X-Event-Type": delivery.event,
            "X-Signature-Timestamp": str(timestamp),
            "X-Signature": webhook_signature(
                secret=settings.CRM_WEBHOOK_SECRET, timestamp=timestamp, body=body
            ),
        },
        timeout=settings.CRM_WEBHOOK_TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(f"HTTP {response.status_code}")


def crm_delivery_send(*, crm_delivery_id: int) -> float | None:
    """Claims the row and POSTs it. Returns None when done (delivered, dead, or nothing to do),
    or the seconds until the next attempt after a failure."""
    if not crm_enabled():
        return None  # switched off: rows wait (the sweep picks them up once it is on again)
    now = timezone.now()
    if not _claim(crm_delivery_id, now):
        return None
    delivery = CrmDelivery.objects.get(pk=crm_delivery_id)
    try:
        _post(delivery)
    except requests.HTTPError as exc:
        return _failed(delivery, error=str(exc))
    except Exception as exc:
        # Unreachable, timed out, or a bug: counted as an attempt, so it ends as a dead letter.
        if not isinstance(exc, requests.RequestException):
            logger.exception("crm delivery %s: unexpected error", delivery.pk)
        return _failed(delivery, error=type(exc).__name__)
    # Delivered: the address has served its purpose here; the keyed hash stays for the record.
    payload = {k: v for k, v in delivery.payload.items() if k != "email"}
    CrmDelivery.objects.filter(pk=delivery.pk, status=Status.INFLIGHT).update(
        status=Status.DELIVERED,
        delivered_at=timezone.now(),
        payload=payload,
        last_error="",
        updated_at=timezone.now(),
    )
    logger.info("crm delivery %s (%s) delivered", delivery.pk, delivery.event)
    return None


def _failed(delivery: CrmDelivery, *, error: str) -> float | None:
    now = timezone.now()
    values: dict[str, Any] = {"last_error": error[:255], "updated_at": now}
    if delivery.attempts >= settings.CRM_WEBHOOK_MAX_ATTEMPTS:
        values.update(status=Status.DEAD, next_attempt_at=None)
        wait = None
        logger.warning("crm delivery %s dead after %d attempts: %s", delivery.pk, delivery.attempts, error)
    else:
        wait = backoff_seconds(delivery.attempts)
        values.update(status=Status.PENDING, next_attempt_at=now + timedelta(seconds=wait))
        logger.info("crm delivery %s failed (%s), next attempt in %ss", delivery.pk, error, wait)
    CrmDelivery.objects.filter(pk=delivery.pk, status=Status.INFLIGHT).update(**values)
    return wait


@transaction.atomic
def crm_delivery_retry(*, crm_delivery_id: int) -> bool:
    """Staff: a dead letter gets a fresh set of attempts. False when the row is not dead."""
    now = timezone.now()
    updated = CrmDelivery.objects.filter(pk=crm_delivery_id, status=Status.DEAD).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, last_error="", updated_at=now
    )
    if updated:
        crm_delivery_publish(crm_delivery_id)
    return updated == 1


def crm_deliveries_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Part of the outbox sweep: rows whose worker died go back to pending, and they and the
    pending rows long overdue (the broker lost or never got their message) go to a worker."""
    now = now or timezone.now()
    inflight_before = now - timedelta(seconds=settings.OUTBOX_INFLIGHT_TIMEOUT_SECONDS)
    overdue_before = now - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        stale = list(
            CrmDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=Status.INFLIGHT, claimed_at__lt=inflight_before)
            .values_list("pk", flat=True)[:1000]
        )
        CrmDelivery.objects.filter(pk__in=stale, status=Status.INFLIGHT).update(
            status=Status.PENDING, next_attempt_at=now, last_error="worker died mid-delivery", updated_at=now
        )
    overdue = list(
        CrmDelivery.objects.filter(status=Status.PENDING)
        .filter(
            Q(next_attempt_at__lt=overdue_before)
            | Q(next_attempt_at__isnull=True, created_at__lt=overdue_before)
        )
        .values_list("pk", flat=True)[:1000]
    )
    if crm_enabled():
        from campaign.crm.tasks import crm_delivery_send_task

        for pk in [*stale, *overdue]:
            try:
                crm_delivery_send_task.apply_async((pk,), queue=settings.CRM_WEBHOOK_QUEUE)
            except Exception as exc:  # noqa: BLE001 - broker still down: the next sweep tries again
                logger.warning("crm sweep: broker unavailable (%s)", type(exc).__name__)
                break
    return {"crm_resent": len(stale), "crm_requeued": len(overdue)}
