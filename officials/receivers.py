"""The officials app's side of the petitions signals (petitions/signals.py): the per-region
totals and the deliveries follow the counter pass, inside its transaction."""

from __future__ import annotations

from typing import Any

from officials.deliveries import deliveries_for_milestone_create
from officials.regions import region_totals_apply, region_totals_recount
from petitions.signals import milestone_reached, signature_counts_changed, signature_counts_recounted


def region_totals_on_counts_changed(sender: Any, *, changes: list[Any], **kwargs: Any) -> None:
    region_totals_apply(changes=changes)


def deliveries_on_milestone_reached(sender: Any, *, milestone: Any, **kwargs: Any) -> None:
    deliveries_for_milestone_create(milestone_id=milestone.pk)


def region_totals_on_counts_recounted(sender: Any, *, petition_ids: list[int] | None, **kwargs: Any) -> None:
    region_totals_recount(petition_ids=petition_ids)


def connect() -> None:
    # dispatch_uid: connecting twice (ready() run again in tests) must not run a receiver twice.
    signature_counts_changed.connect(
        region_totals_on_counts_changed, dispatch_uid="officials.region_totals_on_counts_changed"
    )
    milestone_reached.connect(
        deliveries_on_milestone_reached, dispatch_uid="officials.deliveries_on_milestone_reached"
    )
    signature_counts_recounted.connect(
        region_totals_on_counts_recounted, dispatch_uid="officials.region_totals_on_counts_recounted"
    )
