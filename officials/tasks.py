from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="officials.deliveries_process", acks_late=True)
def deliveries_process_task(**kwargs: Any) -> None:
    from officials.deliveries import deliveries_process

    deliveries_process()  # idempotent: locks plans and campaigns, conditional status updates


@shared_task(name="officials.deliveries_for_milestone_create", acks_late=True)
def deliveries_for_milestone_create_task(milestone_id: int, **kwargs: Any) -> None:
    from officials.deliveries import deliveries_for_milestone_create

    deliveries_for_milestone_create(milestone_id=milestone_id)  # unique rows: a retry adds nothing
