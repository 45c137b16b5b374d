"""Stripe webhooks: verify the signature on the raw body, record the event id once, process in
a task through a dispatch table.

Handlers are idempotent and order-tolerant: they lock the donation, re-read the PaymentIntent
from Stripe instead of trusting the payload (events arrive late, twice or out of order), and
move the status only along the allowed transitions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from donations import stripe_api
from donations.charging import (
    donation_apply_dispute,
    donation_apply_payment_intent,
    donation_apply_refund,
    donation_lock_by_stripe,
)
from donations.mandate_status import mandates_stop
from donations.models import Mandate, StripeEvent

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """Bad signature, stale timestamp or not an event: answered with 400."""


def webhook_secrets() -> list[str]:
    return [s.strip() for s in (settings.STRIPE_WEBHOOK_SECRET or "").split(",") if s.strip()]


def stripe_event_receive(*, payload: bytes, signature: str) -> tuple[StripeEvent | None, bool]:
    """Verifies and records an event. Returns (event, created); a duplicate gives created=False
    and nothing else happens. Enqueues processing after commit."""
    if not signature:
        raise WebhookRejected("missing signature")
    try:
        event = stripe_api.webhook_event_construct(payload, signature, webhook_secrets())
    except ValueError as exc:
        raise WebhookRejected(str(exc)) from exc
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not event_id:
        raise WebhookRejected("not an event")
    try:
        with transaction.atomic():
            row = StripeEvent.objects.create(
                event_id=event_id, type=event_type[:100], payload=payload.decode("utf-8", "replace")
            )
            transaction.on_commit(lambda: _enqueue(row.pk), robust=True)
    except IntegrityError:
        logger.info("stripe event %s (%s): duplicate, ignored", event_id, event_type)
        return None, False
    logger.info("stripe event %s (%s) received as #%s", event_id, event_type, row.pk)
    return row, True


def _enqueue(stripe_event_pk: int) -> None:
    stripe_event_process_task.delay(stripe_event_pk)


# --- Handlers -------------------------------------------------------------------------------


def _object(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _metadata_donation_id(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    value = metadata.get("donation_id") if isinstance(metadata, dict) else None
    return str(value) if value is not None else ""


def handle_payment_intent(event: dict[str, Any]) -> str:
    """payment_intent.succeeded / processing / payment_failed / canceled / requires_action,
    for on-session and off-session (monthly) charges alike. The payload only says *that*
    something changed; the current state is read from Stripe."""
    obj = _object(event)
    payment_intent_id = _str(obj, "id")
    if not payment_intent_id:
        return "no payment intent"
    payment_intent = stripe_api.payment_intent_get(payment_intent_id)
    with transaction.atomic():
        donation = donation_lock_by_stripe(
            payment_intent_id=payment_intent_id, donation_id=payment_intent.metadata.get("donation_id", "")
        )
        if donation is None:
            return "no matching donation"
        donation_apply_payment_intent(donation, payment_intent)
        return f"donation {donation.pk}: {donation.status}"


def handle_charge_refunded(event: dict[str, Any]) -> str:
    obj = _object(event)
    charge_id = _str(obj, "id")
    try:
        charge = stripe_api.charge_get(charge_id)
        amount, amount_refunded, payment_intent_id = (
            charge.amount,
            charge.amount_refunded,
            charge.payment_intent_id,
        )
    except stripe_api.StripeRejected:
        # Unknown to this Stripe account view (e.g. deleted test data): use the payload.
        amount = raw if isinstance(raw := obj.get("amount"), int) else 0
        amount_refunded = raw if isinstance(raw := obj.get("amount_refunded"), int) else 0
        payment_intent_id = _str(obj, "payment_intent")
    with transaction.atomic():
        donation = donation_lock_by_stripe(
            payment_intent_id=payment_intent_id, charge_id=charge_id, donation_id=_metadata_donation_id(obj)
        )
        if donation is None:
            return "no matching donation"
        if not donation.stripe_charge_id and charge_id:
            donation.stripe_charge_id = charge_id
            donation.save(update_fields=["stripe_charge_id", "updated_at"])
        donation_apply_refund(
            donation, amount_refunded=amount_refunded, amount=amount or donation.total_amount
        )
        return f"donation {donation.pk}: {donation.status}"


def _handle_dispute(event: dict[str, Any], *, closed: bool) -> str:
    obj = _object(event)
    with transaction.atomic():
        donation = donation_lock_by_stripe(
            payment_intent_id=_str(obj, "payment_intent"), charge_id=_str(obj, "charge")
        )
        if donation is None:
            return "no matching donation"
        donation_apply_dispute(
            donation, dispute_id=_str(obj, "id"), dispute_status=_str(obj, "status"), closed=closed
        )
        return f"donation {donation.pk}: {donation.status}"


def handle_dispute_created(event: dict[str, Any]) -> str:
    return _handle_dispute(event, closed=False)


def handle_dispute_closed(event: dict[str, Any]) -> str:
    return _handle_dispute(event, closed=True)


def handle_setup_intent_succeeded(event: dict[str, Any]) -> str:
    """The browser saved the payment method. `complete` learns this too (and charges); here
    the payment method is only recorded, so nothing is charged without the donor's click."""
    obj = _object(event)
    setup_intent = stripe_api.setup_intent_get(_str(obj, "id"))
    with transaction.atomic():
        from donations.models import Donation

        donation = Donation.objects.select_for_update().filter(stripe_setup_intent_id=setup_intent.id).first()
        if donation is None:
            return "no matching donation"
        if setup_intent.status == "succeeded" and not donation.stripe_payment_method_id:
            donation.stripe_payment_method_id = setup_intent.payment_method_id
            donation.save(update_fields=["stripe_payment_method_id", "updated_at"])
        return f"donation {donation.pk}: payment method saved"


def handle_mandate_updated(event: dict[str, Any]) -> str:
    """The bank or the donor revoked a SEPA mandate (status `inactive`): the monthly gift that
    debits it stops. An inactive mandate never becomes active again, so the payload's status
    can be trusted in any order; other changes need nothing."""
    obj = _object(event)
    if _str(obj, "status") != "inactive":
        return f"mandate {_str(obj, 'status') or 'unknown'}: nothing to do"
    # Ours stores Stripe's mandate id where Stripe gives one; the payment method it debits
    # names the same gift in any case.
    match = Q(pk__in=[])
    if mandate_id := _str(obj, "id"):
        match |= Q(stripe_mandate_id=mandate_id)
    if payment_method_id := _str(obj, "payment_method"):
        match |= Q(stripe_payment_method_id=payment_method_id)
    count = mandates_stop(Mandate.objects.filter(match), reason="mandate inactive")
    return f"{count} mandate(s) stopped" if count else "no matching mandate"


def handle_payment_method_detached(event: dict[str, Any]) -> str:
    """A detached payment method can never be charged again (Stripe does not allow reusing
    it): the monthly gifts saved on it stop."""
    obj = _object(event)
    count = mandates_stop(
        Mandate.objects.filter(stripe_payment_method_id=_str(obj, "id")), reason="payment method detached"
    )
    return f"{count} mandate(s) stopped" if count else "no matching mandate"


def handle_customer_deleted(event: dict[str, Any]) -> str:
    """Deleting a customer detaches all its payment methods: its monthly gifts stop. Gifts
    and receipts stay as they are."""
    obj = _object(event)
    count = mandates_stop(
        Mandate.objects.filter(stripe_customer_id=_str(obj, "id")), reason="customer deleted"
    )
    return f"{count} mandate(s) stopped" if count else "no matching mandate"


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "payment_intent.succeeded": handle_payment_intent,
    "payment_intent.processing": handle_payment_intent,
    "payment_intent.payment_failed": handle_payment_intent,
    "payment_intent.canceled": handle_payment_intent,
    "payment_intent.requires_action": handle_payment_intent,
    "charge.refunded": handle_charge_refunded,
    "charge.dispute.created": handle_dispute_created,
    "charge.dispute.closed": handle_dispute_closed,
    "setup_intent.succeeded": handle_setup_intent_succeeded,
    "mandate.updated": handle_mandate_updated,
    "payment_method.detached": handle_payment_method_detached,
    "customer.deleted": handle_customer_deleted,
}


def stripe_event_process(*, stripe_event_id: int) -> str:
    """Claims the event (received -> processing) and runs its handler. Raises
    StripeUnavailable after putting the event back, so the task retries."""
    claimed = StripeEvent.objects.filter(pk=stripe_event_id, status=StripeEvent.Status.RECEIVED).update(
        status=StripeEvent.Status.PROCESSING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not claimable"
    row = StripeEvent.objects.get(pk=stripe_event_id)
    handler = HANDLERS.get(row.type)
    if handler is None:
        _finish(row, StripeEvent.Status.IGNORED, "unhandled type")
        logger.info("stripe event %s (%s): unhandled type", row.event_id, row.type)
        return "ignored"
    try:
        outcome = handler(json.loads(row.payload))
    except stripe_api.StripeUnavailable:
        StripeEvent.objects.filter(pk=row.pk).update(
            status=StripeEvent.Status.RECEIVED, outcome="stripe unavailable"
        )
        raise
    except Exception as exc:
        _finish(row, StripeEvent.Status.FAILED, type(exc).__name__)
        logger.exception("stripe event %s (%s) failed", row.event_id, row.type)
        return "failed"
    _finish(row, StripeEvent.Status.PROCESSED, outcome)
    logger.info("stripe event %s (%s): %s", row.event_id, row.type, outcome)
    return outcome


def _finish(row: StripeEvent, status: str, outcome: str) -> None:
    StripeEvent.objects.filter(pk=row.pk).update(
        status=status, outcome=outcome[:255], processed_at=timezone.now()
    )


def stripe_events_sweep(*, now: Any = None) -> int:
    """Hands events to a worker again whose task was lost (broker down at receipt) or whose
    worker died mid-processing."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.STRIPE_EVENT_REQUEUE_AFTER_SECONDS)
    StripeEvent.objects.filter(
        status=StripeEvent.Status.PROCESSING,
        received_at__lt=before - timedelta(seconds=settings.STRIPE_EVENT_REQUEUE_AFTER_SECONDS),
    ).update(status=StripeEvent.Status.RECEIVED)
    ids = list(
        StripeEvent.objects.filter(status=StripeEvent.Status.RECEIVED, received_at__lt=before)
        .order_by("received_at")
        .values_list("pk", flat=True)[:1000]
    )
    for pk in ids:
        try:
            _enqueue(pk)
        except Exception as exc:  # noqa: BLE001 - broker still down: the next sweep tries again
            logger.warning("stripe event sweep: broker unavailable (%s)", type(exc).__name__)
            break
    stripe_event_payloads_purge(now=now)
    return len(ids)


def stripe_event_payloads_purge(*, now: Any = None) -> int:
    """Event bodies carry personal data (billing names, e-mail addresses): once processed they
    are kept only for STRIPE_EVENT_PAYLOAD_RETENTION_DAYS; the id, type and outcome stay."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.STRIPE_EVENT_PAYLOAD_RETENTION_DAYS)
    return (
        StripeEvent.objects.filter(received_at__lt=before)
        .exclude(status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.PROCESSING])
        .exclude(payload="")
        .update(payload="")
    )


# --- Tasks ----------------------------------------------------------------------------------
# Here rather than in donations/tasks.py (which re-exports them): `_enqueue` needs the task and
# the task needs the processing, so keeping both in one module avoids an import cycle.


@shared_task(
    name="donations.stripe_event_process",
    acks_late=True,
    autoretry_for=(stripe_api.StripeUnavailable,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def stripe_event_process_task(stripe_event_id: int, **kwargs: Any) -> str:
    return stripe_event_process(stripe_event_id=stripe_event_id)


@shared_task(name="donations.stripe_events_sweep")
def stripe_events_sweep_task(**kwargs: Any) -> int:
    return stripe_events_sweep()
