from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="petitions.petition_counts_update", ignore_result=True)
def petition_counts_update_task(**kwargs: Any) -> None:
    from petitions.services import petition_counts_update

    petition_counts_update()  # under an advisory lock: a second pass at the same time is a no-op


@shared_task(name="petitions.petition_counts_recount", ignore_result=True)
def petition_counts_recount_task(**kwargs: Any) -> None:
    from petitions.services import petition_counts_recount

    petition_counts_recount()


@shared_task(name="petitions.signature_reminders_send", ignore_result=True)
def signature_reminders_send_task(**kwargs: Any) -> None:
    from petitions.services import signature_reminders_send

    signature_reminders_send()


@shared_task(name="petitions.signatures_unconfirmed_purge", ignore_result=True)
def signatures_unconfirmed_purge_task(**kwargs: Any) -> None:
    from petitions.services import signatures_unconfirmed_purge

    signatures_unconfirmed_purge()


@shared_task(name="petitions.signatures_retention_apply", ignore_result=True)
def signatures_retention_apply_task(**kwargs: Any) -> None:
    from petitions.services import signatures_retention_apply

    signatures_retention_apply()
