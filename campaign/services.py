"""Writes and side effects of the campaign core, above all the outbox for outgoing mail."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaign.emails import SendOutcomeUnknown, email_deliver, email_render
from campaign.models import OutgoingEmail

logger = logging.getLogger(__name__)

# Errors after which trying again later can succeed (the SMTP server is down or busy).
TRANSIENT_EMAIL_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPDataError,
    smtplib.SMTPSenderRefused,
    ConnectionError,
    TimeoutError,
    OSError,
)


class TransientEmailError(Exception):
    """Sending failed in a way a retry can fix; the row is queued again."""


def outgoing_email_enqueue(outgoing_email_id: int) -> None:
    """Hands the row to a worker once the current transaction commits. A broker that is down
    does not fail the caller (robust=True): the row stays queued and the sweeper sends it."""
    from campaign.enqueue import task_enqueue
    from campaign.tasks import outgoing_email_send_task

    def enqueue() -> None:
        # `.delay()` with one LPUSH: this runs on every signing (see campaign/enqueue.py).
        task_enqueue(outgoing_email_send_task, outgoing_email_id)

    transaction.on_commit(enqueue, robust=True)


def outgoing_email_queue(
    *,
    kind: str,
    to_email: str,
    locale: str = "de",
    context: dict[str, Any] | None = None,
    at_most_once: bool = False,
    subject_type: str = "",
    subject_id: int | None = None,
) -> OutgoingEmail:
    """Records a mail to send in the caller's transaction and enqueues it after commit."""
    email = OutgoingEmail.objects.create(
        kind=kind,
        to_email=to_email,
        locale=locale if locale in {"de", "en"} else "de",
        context=context or {},
        at_most_once=at_most_once,
        subject_type=subject_type,
        subject_id=subject_id,
        enqueued_at=timezone.now(),
    )
    outgoing_email_enqueue(email.pk)
    return email


def _outgoing_email_claim(outgoing_email_id: int) -> bool:
    # A conditional UPDATE: of two workers given the same row, exactly one gets count 1.
    claimed = OutgoingEmail.objects.filter(pk=outgoing_email_id, status=OutgoingEmail.Status.QUEUED).update(
        status=OutgoingEmail.Status.INFLIGHT,
        claimed_at=timezone.now(),
        attempts=F("attempts") + 1,
        updated_at=timezone.now(),
    )
    return claimed == 1


def outgoing_email_send(*, outgoing_email_id: int) -> bool:
    """Claims the row and sends it. Returns False when there was nothing to do (already sent,
    in flight elsewhere, or gone). Raises TransientEmailError after putting the row back in the
    queue when a retry may succeed."""
    if not _outgoing_email_claim(outgoing_email_id):
        return False
    email = OutgoingEmail.objects.get(pk=outgoing_email_id)
    try:
        message = email_render(email)
        message_id = email_deliver(message, at_most_once=email.at_most_once)
    except SendOutcomeUnknown as exc:
        # An at-most-once mail (to an official) may have arrived: staff decide, not a retry.
        _outgoing_email_finish(
            email, status=OutgoingEmail.Status.NEEDS_REVIEW, error=f"outcome unknown: {exc}"
        )
        logger.warning("outgoing email %s: connection broke mid-send, marked for review", email.pk)
        return False
    except smtplib.SMTPRecipientsRefused:
        _outgoing_email_finish(email, status=OutgoingEmail.Status.FAILED, error="recipient refused")
        logger.warning("outgoing email %s failed: recipient refused", email.pk)
        return False
    except TRANSIENT_EMAIL_ERRORS as exc:
        OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.INFLIGHT).update(
            status=OutgoingEmail.Status.QUEUED,
            last_error=type(exc).__name__,
            enqueued_at=timezone.now(),
            updated_at=timezone.now(),
        )
        logger.info("outgoing email %s: transient error %s", email.pk, type(exc).__name__)
        raise TransientEmailError(type(exc).__name__) from exc
    except Exception as exc:
        # A bug (a template error, a builder failure): retrying will not help.
        _outgoing_email_finish(email, status=OutgoingEmail.Status.FAILED, error=type(exc).__name__)
        logger.exception("outgoing email %s failed", email.pk)
        return False
    _outgoing_email_finish(email, status=OutgoingEmail.Status.SENT, message_id=message_id)
    return True


def _outgoing_email_finish(
    email: OutgoingEmail, *, status: str, message_id: str = "", error: str = ""
) -> None:
    now = timezone.now()
    values: dict[str, Any] = {"status": status, "updated_at": now, "last_error": error[:255]}
    if status == OutgoingEmail.Status.SENT:
        # The context served its purpose; keep the row as an audit record without its data.
        values.update(sent_at=now, message_id=message_id[:255], context={})
    OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.INFLIGHT).update(**values)


def outgoing_email_mark_failed(*, outgoing_email_id: int, error: str) -> None:
    """The final-failure path: retries are used up."""
    OutgoingEmail.objects.filter(
        pk=outgoing_email_id, status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.INFLIGHT]
    ).update(status=OutgoingEmail.Status.FAILED, last_error=error[:255], updated_at=timezone.now())
    logger.warning("outgoing email %s failed after retries: %s", outgoing_email_id, error)


def outgoing_email_sweep(*, now: Any = None) -> dict[str, int]:
    """Re-enqueues rows the broker never got, and handles rows whose worker died:
    at-least-once mails are queued and sent again, at-most-once mails go to staff review."""
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
