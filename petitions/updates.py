"""Supporter updates: an organiser's mail to the confirmed signers of a petition who agreed to
updates (`updates_consent`), in each signer's language, queued through the outbox in batches
of PETITIONS_UPDATE_BATCH_SIZE every PETITIONS_UPDATE_BATCH_INTERVAL_SECONDS. Addresses on
the suppression list (unsubscribed, bounced, erased) are skipped when queuing and again when
sending. Updates are non-transactional mail: they carry the one-click unsubscribe headers."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaign.audit import audit_record
from campaign.outbox.queueing import outgoing_email_queue
from campaign.privacy.suppression import addresses_suppressed
from petitions.models import Petition, PetitionUpdate, Signature

logger = logging.getLogger(__name__)

UPDATE_EMAIL_KIND = "petitions-update"
UPDATE_SUBJECT_TYPE = "petitions.update"


def update_audit_record(*, update: PetitionUpdate, action: str, actor: Any = None, count: int = 0) -> None:
    """The audit trail's entry of a supporter update: ids and counts, no personal data."""
    audit_record(
        actor=actor,
        action=f"petitions.update.{action}",
        object_type="petitions.petitionupdate",
        object_id=update.pk,
        row_count=count,
        details={"petition_id": update.petition_id},
    )


def _recipients(petition_id: int) -> Any:
    return Signature.objects.filter(
        petition_id=petition_id,
        status=Signature.Status.CONFIRMED,
        is_flagged=False,
        updates_consent=True,
    ).exclude(email="")


@transaction.atomic
def petition_update_create(
    *,
    petition: Petition,
    user: Any,
    subject: str,
    body_text: str,
    subject_en: str = "",
    body_text_en: str = "",
    send: bool,
) -> PetitionUpdate:
    """Records the update. `send=False` is a preview: a test mail in each written language
    goes to the organiser alone. `send=True` starts the batched mailing to the signers."""
    update = PetitionUpdate.objects.create(
        petition=petition,
        created_by=user,
        subject_de=subject,
        body_text_de=body_text,
        subject_en=subject_en,
        body_text_en=body_text_en,
        status=PetitionUpdate.Status.SENDING if send else PetitionUpdate.Status.PREVIEW,
        batch_size=settings.PETITIONS_UPDATE_BATCH_SIZE,
        batch_interval_seconds=settings.PETITIONS_UPDATE_BATCH_INTERVAL_SECONDS,
    )
    if not send:
        for locale in ("de", "en") if subject_en and body_text_en else ("de",):
            outgoing_email_queue(
                kind=UPDATE_EMAIL_KIND,
                to_email=user.email,
                locale=locale,
                context={"update_id": update.pk, "test": True},
                subject_type=UPDATE_SUBJECT_TYPE,
                subject_id=update.pk,
            )
        update_audit_record(update=update, action="test_send", actor=user)
        return update
    update.recipient_count = _recipients(petition.pk).count()
    update.save(update_fields=["recipient_count", "updated_at"])
    update_audit_record(update=update, action="send", actor=user, count=update.recipient_count)
    from petitions.tasks import petition_update_batch_send_task

    transaction.on_commit(partial(petition_update_batch_send_task.delay, update.pk), robust=True)
    return update


def petition_update_batch_send(*, update_id: int) -> int | None:
    """Queues the next batch of the mailing. Returns the seconds to wait before the next batch
    when more remain (the task schedules itself again), None when done. Idempotent: the cursor moves under the row
    lock in the transaction that queues the batch."""
    with transaction.atomic():
        update = PetitionUpdate.objects.select_for_update().filter(pk=update_id).first()
        if update is None or update.status != PetitionUpdate.Status.SENDING:
            return None
        batch = list(
            _recipients(update.petition_id)
            .filter(pk__gt=update.cursor)
            .order_by("pk")
            .values_list("pk", "email", "locale")[: max(update.batch_size, 1)]
        )
        if not batch:
            update.status = PetitionUpdate.Status.SENT
            update.finished_at = timezone.now()
            update.save(update_fields=["status", "finished_at", "updated_at"])
            update_audit_record(update=update, action="sent", count=update.recipient_count)
            return None
        suppressed = addresses_suppressed([email for _, email, _ in batch])
        for signature_id, email, locale in batch:
            if email in suppressed:
                continue
            outgoing_email_queue(
                kind=UPDATE_EMAIL_KIND,
                to_email=email,
                locale=locale,
                context={"update_id": update.pk, "signature_id": signature_id},
                subject_type=UPDATE_SUBJECT_TYPE,
                subject_id=update.pk,
            )
        update.cursor = batch[-1][0]
        update.suppressed_count += len(suppressed)
        update.save(update_fields=["cursor", "suppressed_count", "updated_at"])
    logger.info("update %s: queued %d mails", update_id, len(batch) - len(suppressed))
    return update.batch_interval_seconds
