"""Putting a mail in the outbox: the row is written in the caller's transaction and handed to
a worker once it commits. `outgoing_email_queue` is the one way to queue a mail; the signing's
one-statement path writes its row with `outgoing_email_insert_sql` and then publishes it with
`outgoing_email_publish`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.models import OutgoingEmail
from campaign.outbox.fast_enqueue import task_enqueue
from campaign.outbox.publisher import publish_in_background


def outgoing_email_publish(outgoing_email_id: int, *, background: bool = False) -> None:
    """Hands the row to a worker once the current transaction commits. A broker that is down
    does not fail the caller (robust=True): the row stays queued and the sweeper sends it.
    `background=True` publishes from a thread, so a hot request does not wait for Redis."""
    if background and settings.OUTBOX_PUBLISH_IN_BACKGROUND:
        publish_in_background(outgoing_email_id)
        return
    # Imported here: the task module imports the outbox's sending and sweeping.
    from campaign.tasks import outgoing_email_send_task

    def enqueue() -> None:
        # `.delay()` with one LPUSH: this runs on every signing (see fast_enqueue.py).
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
    campaign_id: int | None = None,
    background: bool = False,
) -> OutgoingEmail:
    """Records a mail to send in the caller's transaction and enqueues it after commit. A mail
    about a campaign names it (`campaign_id`): it carries that campaign's imprint."""
    email = OutgoingEmail.objects.create(
        kind=kind,
        to_email=to_email,
        locale=locale if locale in {"de", "en"} else "de",
        context=context or {},
        at_most_once=at_most_once,
        subject_type=subject_type,
        subject_id=subject_id,
        campaign_id=campaign_id,
        enqueued_at=timezone.now(),
    )
    outgoing_email_publish(email.pk, background=background)
    return email


def outgoing_email_insert_sql(*, source: str) -> str:
    """The outbox's part of a one-statement write: an `INSERT ... SELECT` that queues one mail
    per row of `source` (a CTE with the columns id, email, locale and context). It takes the
    parameters %(now)s, %(kind)s, %(subject_type)s and %(campaign_id)s, and returns the new
    rows' ids."""
    table = OutgoingEmail._meta.db_table
    return f"""
        INSERT INTO {table} (created_at, updated_at, kind, to_email, locale, context, status,
            at_most_once, attempts, enqueued_at, claimed_at, sent_at, message_id, last_error,
            subject_type, subject_id, campaign_id)
        SELECT %(now)s, %(now)s, %(kind)s, {source}.email, {source}.locale, {source}.context,
            'queued', false, 0, %(now)s, NULL, NULL, '', '', %(subject_type)s, {source}.id,
            %(campaign_id)s
        FROM {source}
        RETURNING id
    """  # noqa: S608 - identifiers come from model metadata; every value is a parameter
