"""Sending one outbox row: claim it with a conditional UPDATE, render, deliver, record the
outcome. At-least-once for supporters, at-most-once (staff review) for officials."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.db.models import F
from django.utils import timezone

from campaign.emails import SendOutcomeUnknown, email_deliver, email_render, is_bulk_kind
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


def outgoing_email_send(*, outgoing_email_id: int) -> bool:
    """Claims the row and sends it. Returns False when there was nothing to do (already sent,
    in flight elsewhere, or gone). Raises TransientEmailError after putting the row back in the
    queue when a retry may succeed."""
    if not _outgoing_email_claim(outgoing_email_id):
        return False
    email = OutgoingEmail.objects.get(pk=outgoing_email_id)
    if is_bulk_kind(email.kind) and (not email.to_email or address_is_suppressed(email.to_email)):
        # Unsubscribed, bounced or erased since the mail was queued: it is not sent.
        _outgoing_email_finish(email, status=OutgoingEmail.Status.CANCELED, error="suppressed")
        return False
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
    except smtplib.SMTPRecipientsRefused as exc:
        _outgoing_email_finish(email, status=OutgoingEmail.Status.FAILED, error="recipient refused")
        logger.warning("outgoing email %s failed: recipient refused", email.pk)
        if any(int(code) >= 500 for code, _ in exc.recipients.values()):
            # A permanent refusal is a hard bounce: no further non-transactional mail.
            address_suppress(email_hash=address_hash(email.to_email), reason=SuppressedAddress.Reason.BOUNCED)
        return False
    except TRANSIENT_EMAIL_ERRORS as exc:
        OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.INFLIGHT).update(
            status=OutgoingEmail.Status.QUEUED,
            last_error=type(exc).__name__,
            enqueued_at=timezone.now(),
            updated_at=timezone.now(),
        )
        logger.info("outgoing email %s: transient error %s", email.pk, type(exc).__name__)
        mails_retried.inc()
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
    elif status == OutgoingEmail.Status.CANCELED:
        values.update(context={})
    finished = OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.INFLIGHT).update(
        **values
    )
    if finished and status == OutgoingEmail.Status.SENT:
        mail_sent_count(email.kind)
    elif finished and status == OutgoingEmail.Status.FAILED:
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
