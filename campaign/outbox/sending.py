"""Sending outbox rows: claim them with a conditional UPDATE, build, render, deliver over one
connection, record the outcomes. A task's row is sent in a batch with other queued rows
(OUTBOX_BATCH_SIZE), so the cost per mail does not grow with the queue. At-least-once for
supporters, at-most-once (staff review, never batched) for officials."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from campaign.emails import (
    SendOutcomeUnknown,
    TemplateCache,
    email_deliver,
    email_prepare_batch,
    email_render,
    is_bulk_kind,
)
from campaign.models import OutgoingEmail, SuppressedAddress
from campaign.outbox.metrics import mail_failed_count, mail_sent_count, mails_retried
from campaign.privacy.hashing import address_hash
from campaign.privacy.suppression import address_is_suppressed, address_suppress

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


def _outgoing_email_claim(outgoing_email_id: int) -> bool:
    # A conditional UPDATE: of two workers given the same row, exactly one gets count 1.
    claimed = OutgoingEmail.objects.filter(pk=outgoing_email_id, status=OutgoingEmail.Status.QUEUED).update(
        status=OutgoingEmail.Status.INFLIGHT,
        claimed_at=timezone.now(),
        attempts=F("attempts") + 1,
        updated_at=timezone.now(),
    )
    return claimed == 1


def _outgoing_emails_claim(*, limit: int, exclude: int = 0, only: list[int] | None = None) -> list[int]:
    """Claims up to `limit` more queued at-least-once rows, oldest first, skipping rows another
    worker is claiming: their own task messages then find them claimed and do nothing. Two
    statements (ids from the pending index, then the conditional UPDATE by id), so no
    statistics can make the claim scan the outbox."""
    if limit <= 0:
        return []
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=OutgoingEmail.Status.QUEUED, at_most_once=False)
            .filter(**({"pk__in": only} if only is not None else {}))
            .exclude(pk=exclude)
            .order_by("enqueued_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not candidates:
            return []
        OutgoingEmail.objects.filter(pk__in=candidates, status=OutgoingEmail.Status.QUEUED).update(
            status=OutgoingEmail.Status.INFLIGHT,
            claimed_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    return candidates


def outgoing_email_send(*, outgoing_email_id: int) -> bool:
    """Claims the row and sends it, together with up to OUTBOX_BATCH_SIZE - 1 other queued
    at-least-once rows, over one SMTP connection with one build step (one commit) for the batch.
    Returns whether this row was sent: False when there was nothing to do (already sent, in
    flight elsewhere, or gone) or it failed for good. Raises TransientEmailError, after putting
    the unsent rows back in the queue, when a retry may succeed."""
    if not _outgoing_email_claim(outgoing_email_id):
        return False
    email = OutgoingEmail.objects.get(pk=outgoing_email_id)
    batch = [email]
    if not email.at_most_once:
        # An at-most-once mail (to an official) goes alone: its outcome is judged on its own.
        more = _outgoing_emails_claim(limit=settings.OUTBOX_BATCH_SIZE - 1, exclude=email.pk)
        if more:
            batch += list(OutgoingEmail.objects.filter(pk__in=more).order_by("enqueued_at", "pk"))
    outcome = _batch_send(batch)
    if outcome.transient is not None and email.pk in outcome.requeued:
        raise TransientEmailError(outcome.transient)
    return email.pk in outcome.sent


def outgoing_emails_send(*, outgoing_email_ids: list[int]) -> int:
    """Claims those of the rows that are still queued (at-least-once ones; an at-most-once row
    goes through `outgoing_email_send` alone), tops the batch up to OUTBOX_BATCH_SIZE with other
    queued rows, and sends them as one batch. Returns how many were sent; raises
    TransientEmailError when a retry may send the rest."""
    for outgoing_email_id in OutgoingEmail.objects.filter(
        pk__in=outgoing_email_ids, status=OutgoingEmail.Status.QUEUED, at_most_once=True
    ).values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=outgoing_email_id)
    size = max(settings.OUTBOX_BATCH_SIZE, len(outgoing_email_ids))
    claimed = _outgoing_emails_claim(limit=len(outgoing_email_ids), only=outgoing_email_ids)
    if not claimed:
        return 0  # all sent, or in flight elsewhere: a redelivered message
    claimed += _outgoing_emails_claim(limit=size - len(claimed), only=None, exclude=0)
    batch = list(OutgoingEmail.objects.filter(pk__in=claimed).order_by("enqueued_at", "pk"))
    outcome = _batch_send(batch)
    if outcome.transient is not None and set(outcome.requeued) & set(outgoing_email_ids):
        raise TransientEmailError(outcome.transient)
    return len(outcome.sent)


@dataclass
class _BatchOutcome:
    sent: dict[int, str] = field(default_factory=dict)  # row id -> Message-ID
    requeued: list[int] = field(default_factory=list)
    transient: str | None = None


def _batch_send(batch: list[OutgoingEmail]) -> _BatchOutcome:
    """Builds the batch (one step for all rows of a kind), renders each mail with the
    templates looked up once, and sends them in order over the kept connection. Every row ends
    SENT, FAILED, NEEDS_REVIEW or, after a transient error, QUEUED again with the rest."""
    outcome = _BatchOutcome()
    try:
        prepared = email_prepare_batch(batch)
    except Exception as exc:  # noqa: BLE001 - whatever broke, every row's outcome is recorded
        prepared = {email.pk: exc for email in batch}
    templates = TemplateCache()
    checked = False
    try:
        for position, email in enumerate(batch):
            if is_bulk_kind(email.kind) and (not email.to_email or address_is_suppressed(email.to_email)):
                # Unsubscribed, bounced or erased since the mail was queued: it is not sent.
                _outgoing_email_finish(email, status=OutgoingEmail.Status.CANCELED, error="suppressed")
                continue
            try:
                result = prepared.get(email.pk) or KeyError(email.pk)
                if isinstance(result, Exception):
                    raise result
                message = email_render(email, prepared=result, templates=templates)
                message_id = email_deliver(
                    message, at_most_once=email.at_most_once, connection_checked=checked
                )
                checked = True
            except SendOutcomeUnknown as exc:
                # An at-most-once mail (to an official) may have arrived: staff decide, not a retry.
                _outgoing_email_finish(
                    email, status=OutgoingEmail.Status.NEEDS_REVIEW, error=f"outcome unknown: {exc}"
                )
                logger.warning("outgoing email %s: connection broke mid-send, marked for review", email.pk)
            except smtplib.SMTPRecipientsRefused as exc:
                _outgoing_email_finish(email, status=OutgoingEmail.Status.FAILED, error="recipient refused")
                logger.warning("outgoing email %s failed: recipient refused", email.pk)
                if any(int(code) >= 500 for code, _ in exc.recipients.values()):
                    # A permanent refusal is a hard bounce: no further non-transactional mail.
                    address_suppress(
                        email_hash=address_hash(email.to_email), reason=SuppressedAddress.Reason.BOUNCED
                    )
            except TRANSIENT_EMAIL_ERRORS as exc:
                # The server is away: this row and the rest go back to the queue (the task of
                # the first row retries with backoff; the sweeper covers the others).
                outcome.transient = type(exc).__name__
                outcome.requeued = [e.pk for e in batch[position:]]
                logger.info("outgoing email %s: transient error %s", email.pk, outcome.transient)
                mails_retried.inc()
                break
            except Exception as exc:
                # A bug (a template error, a builder failure): retrying will not help.
                _outgoing_email_finish(email, status=OutgoingEmail.Status.FAILED, error=type(exc).__name__)
                logger.exception("outgoing email %s failed", email.pk, exc_info=exc)
            else:
                outcome.sent[email.pk] = message_id
    finally:
        # Recorded even when the loop dies (a worker shutdown): a row left in flight would
        # otherwise wait for the sweeper's timeout and be sent again.
        _outgoing_emails_sent(outcome.sent)
        for email in batch:
            if email.pk in outcome.sent:
                mail_sent_count(email.kind)
        if outcome.requeued:
            now = timezone.now()
            OutgoingEmail.objects.filter(
                pk__in=outcome.requeued, status=OutgoingEmail.Status.INFLIGHT
            ).update(
                status=OutgoingEmail.Status.QUEUED,
                last_error=outcome.transient or "",
                enqueued_at=now,
                updated_at=now,
            )
    return outcome


def _outgoing_emails_sent(sent: dict[int, str]) -> None:
    """One UPDATE for the batch's sent rows, each with its Message-ID."""
    if not sent:
        return
    now = timezone.now()
    OutgoingEmail.objects.filter(pk__in=list(sent), status=OutgoingEmail.Status.INFLIGHT).update(
        status=OutgoingEmail.Status.SENT,
        sent_at=now,
        updated_at=now,
        last_error="",
        # The context served its purpose; keep the row as an audit record without its data.
        context={},
        message_id=Case(*(When(pk=pk, then=Value(mid[:255])) for pk, mid in sent.items()), default=Value("")),
    )


def _outgoing_email_finish(email: OutgoingEmail, *, status: str, error: str = "") -> None:
    now = timezone.now()
    values: dict[str, Any] = {"status": status, "updated_at": now, "last_error": error[:255]}
    if status == OutgoingEmail.Status.CANCELED:
        values.update(context={})  # a mail that will never go keeps no data
    finished = OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.INFLIGHT).update(
        **values
    )
    if finished and status == OutgoingEmail.Status.FAILED:
        mail_failed_count(email.kind)


def outgoing_email_mark_failed(*, outgoing_email_id: int, error: str) -> None:
    """The final-failure path: retries are used up."""
    failed = OutgoingEmail.objects.filter(
        pk=outgoing_email_id, status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.INFLIGHT]
    ).update(status=OutgoingEmail.Status.FAILED, last_error=error[:255], updated_at=timezone.now())
    if failed:
        kind = OutgoingEmail.objects.filter(pk=outgoing_email_id).values_list("kind", flat=True).first()
        mail_failed_count(kind or "")
    logger.warning("outgoing email %s failed after retries: %s", outgoing_email_id, error)
