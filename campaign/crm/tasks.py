"""The CRM webhook task (thin: the work is in campaign.crm.delivery)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from campaign.crm.delivery import crm_delivery_publish, crm_delivery_send


@shared_task(name="campaign.crm_delivery_send", acks_late=True, ignore_result=True)
def crm_delivery_send_task(crm_delivery_id: int, **kwargs: Any) -> None:
    wait = crm_delivery_send(crm_delivery_id=crm_delivery_id)  # claims the row; no-op if done
    if wait is not None:
        # The row waits with its next_attempt_at; this message comes back then (the sweep
        # sends it should the message be lost).
        crm_delivery_publish(crm_delivery_id, countdown=wait)
