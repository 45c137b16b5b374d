"""The outbox's Celery tasks (thin: the work is in `campaign.outbox`)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from campaign.crm.delivery import crm_deliveries_sweep
from campaign.crm.tasks import crm_delivery_send_task  # noqa: F401 - registers the CRM task
from campaign.outbox.sending import (
    TransientEmailError,
    outgoing_email_mark_failed,
    outgoing_email_send,
    outgoing_emails_send,
)
from campaign.outbox.sweeping import outgoing_email_sweep


@shared_task(name="campaign.outgoing_email_send", bind=True, acks_late=True, max_retries=8)
def outgoing_email_send_task(self: Any, outgoing_email_id: int, **kwargs: Any) -> None:
    try:
        outgoing_email_send(outgoing_email_id=outgoing_email_id)  # claims the row; no-op if done
    except TransientEmailError as exc:
        if self.request.retries >= min(self.max_retries, settings.OUTBOX_MAX_ATTEMPTS):
            outgoing_email_mark_failed(outgoing_email_id=outgoing_email_id, error=str(exc))
            return
        # Exponential backoff, capped far below the broker's visibility timeout.
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 600)) from exc


@shared_task(name="campaign.outgoing_emails_send", bind=True, acks_late=True, max_retries=8)
def outgoing_emails_send_task(self: Any, outgoing_email_ids: list[int], **kwargs: Any) -> None:
    """Many rows in one message (the publisher sends what piled up): claims those still queued
    and sends them as one batch; no-op for rows already sent or in flight elsewhere."""
    try:
        outgoing_emails_send(outgoing_email_ids=[int(pk) for pk in outgoing_email_ids])
    except TransientEmailError as exc:
        if self.request.retries >= min(self.max_retries, settings.OUTBOX_MAX_ATTEMPTS):
            for outgoing_email_id in outgoing_email_ids:
                outgoing_email_mark_failed(outgoing_email_id=int(outgoing_email_id), error=str(exc))
            return
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 600)) from exc


@shared_task(name="campaign.outgoing_email_sweep")
def outgoing_email_sweep_task(**kwargs: Any) -> None:
    outgoing_email_sweep()
    crm_deliveries_sweep()


@shared_task(name="campaign.audit_entries_purge")
def audit_entries_purge_task(**kwargs: Any) -> None:
    from campaign.audit import audit_entries_purge

    audit_entries_purge()


@shared_task(name="campaign.privacy_requests_expire", ignore_result=True)
def privacy_requests_expire_task(**kwargs: Any) -> None:
    from campaign.privacy.requests import privacy_requests_expire

    privacy_requests_expire()


# An export of a million rows takes minutes: far above the default limits.
@shared_task(name="campaign.export_job_run", acks_late=True, time_limit=3600, soft_time_limit=3540)
def export_job_run_task(export_job_id: int, **kwargs: Any) -> None:
    from campaign.export_jobs import export_job_run

    export_job_run(export_job_id=export_job_id)  # claims the job; no-op if already taken


@shared_task(name="campaign.export_jobs_purge")
def export_jobs_purge_task(**kwargs: Any) -> None:
    from campaign.export_jobs import export_jobs_purge

    export_jobs_purge()
