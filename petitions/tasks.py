from __future__ import annotations

from typing import Any

from celery import shared_task

from petitions.counting import petition_counts_recount, petition_counts_update
from petitions.reminders import signature_reminders_send
from petitions.report_rollup import signature_report_rollup_rebuild, signature_report_rollup_update
from petitions.retention import signatures_retention_apply, signatures_unconfirmed_purge


@shared_task(name="petitions.petition_counts_update", ignore_result=True)
def petition_counts_update_task(**kwargs: Any) -> None:
    petition_counts_update()  # under an advisory lock: a second pass at the same time is a no-op


@shared_task(name="petitions.petition_counts_recount", ignore_result=True)
def petition_counts_recount_task(**kwargs: Any) -> None:
    petition_counts_recount()


@shared_task(name="petitions.signature_report_rollup_update", ignore_result=True)
def signature_report_rollup_update_task(**kwargs: Any) -> None:
    signature_report_rollup_update()  # under an advisory lock: a second pass at the same time is a no-op


@shared_task(name="petitions.signature_report_rollup_rebuild", ignore_result=True)
def signature_report_rollup_rebuild_task(**kwargs: Any) -> None:
    signature_report_rollup_rebuild()


@shared_task(name="petitions.signature_reminders_send", ignore_result=True)
def signature_reminders_send_task(**kwargs: Any) -> None:
    signature_reminders_send()


@shared_task(name="petitions.signatures_unconfirmed_purge", ignore_result=True)
def signatures_unconfirmed_purge_task(**kwargs: Any) -> None:
    signatures_unconfirmed_purge()


@shared_task(name="petitions.signatures_retention_apply", ignore_result=True)
def signatures_retention_apply_task(**kwargs: Any) -> None:
    signatures_retention_apply()


@shared_task(name="petitions.petition_update_batch_send", ignore_result=True, acks_late=True)
def petition_update_batch_send_task(update_id: int, **kwargs: Any) -> None:
    from petitions.updates import petition_update_batch_send

    wait = petition_update_batch_send(update_id=update_id)
    if wait is not None:
        # The rate of the mailing: the next batch after the update's interval.
        petition_update_batch_send_task.apply_async((update_id,), countdown=wait)
