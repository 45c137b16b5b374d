"""The fraud review queue: staff unflag flagged signatures in bulk, or invalidate them (after a
preview), and undo an invalidation (petitions.invalidation.invalidation_undo). Every step
writes an audit entry with ids, counts and filters, and every change runs the counter pass, so
the counts (total, per region) follow at once; milestones, set once, never notify twice."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from campaign.audit import audit_record
from campaign.exceptions import ApplicationError
from petitions.counting import petition_counts_update
from petitions.models import Invalidation, Petition
from petitions.review_selectors import FlaggedFilters, flagged_signatures_filter, flagged_signatures_sample

logger = logging.getLogger(__name__)


def _filters_check(filters: FlaggedFilters) -> None:
    if filters.is_empty():
        raise ApplicationError(
            "Give ids or at least one filter (reason, ip_hash, email_domain, since, until).",
            code="filter_required",
            fields={"non_field_errors": ["Give ids or at least one filter."]},
        )


def flagged_signatures_unflag(*, petition: Petition, user: Any, filters: FlaggedFilters) -> int:
    """Unflags the matching signatures still in review (a false alarm): they count again, if
    confirmed, after the counter pass this runs. Returns how many were unflagged."""
    _filters_check(filters)
    with transaction.atomic():
        unflagged = flagged_signatures_filter(petition=petition, filters=filters, in_review=True).update(
            is_flagged=False, flag_reason="", updated_at=timezone.now()
        )
        audit_record(
            actor=user,
            action="review.unflag",
            object_type="petitions.petition",
            object_id=petition.pk,
            row_count=unflagged,
            details={"petition": petition.slug, **filters.audit_details()},
        )
    logger.info("review: %d signatures of petition %s unflagged", unflagged, petition.pk)
    petition_counts_update()
    return unflagged


def flagged_invalidation_preview(*, petition: Petition, user: Any, filters: FlaggedFilters) -> dict[str, Any]:
    """What an invalidation with these filters would take: the count and sample rows (no
    personal data). Changes nothing but the audit trail."""
    _filters_check(filters)
    queryset = flagged_signatures_filter(petition=petition, filters=filters, in_review=True)
    count = queryset.count()
    audit_record(
        actor=user,
        action="review.invalidation_preview",
        object_type="petitions.petition",
        object_id=petition.pk,
        row_count=count,
        details={"petition": petition.slug, **filters.audit_details()},
    )
    return {"signature_count": count, "sample": flagged_signatures_sample(queryset=queryset)}


def flagged_signatures_invalidate(
    *, petition: Petition, user: Any, filters: FlaggedFilters, note: str = ""
) -> Invalidation:
    """An invalidation of flagged signatures in review: recorded as an `Invalidation` like the
    filter invalidations (same audit action, same undo), each signature's earlier reason kept
    in its `flag_reason` (`invalidation:<id>:<reason>`) so the undo puts it back in review."""
    _filters_check(filters)
    with transaction.atomic():
        invalidation = Invalidation.objects.create(
            petition=petition,
            created_by=user if getattr(user, "pk", None) else None,
            reason=note,
            flag_reason=filters.reason,
            ip_hash=filters.ip_hash,
            email_domain=filters.email_domain.lower(),
            created_from=filters.since,
            created_to=filters.until,
        )
        invalidated = flagged_signatures_filter(petition=petition, filters=filters, in_review=True).update(
            flag_reason=Concat(Value(f"{invalidation.flag_prefix}:"), F("flag_reason")),
            updated_at=timezone.now(),
        )
        invalidation.signature_count = invalidated
        invalidation.save(update_fields=["signature_count", "updated_at"])
        audit_record(
            actor=user,
            action="invalidation.create",
            object_type="petitions.invalidation",
            object_id=invalidation.pk,
            row_count=invalidated,
            details={"petition": petition.slug, "source": "review", **filters.audit_details()},
        )
    logger.info(
        "invalidation %s took %d flagged signatures of petition %s", invalidation.pk, invalidated, petition.pk
    )
    # Flagged signatures are not counted: nothing changes, but a pass keeps the rule simple.
    petition_counts_update()
    return invalidation
