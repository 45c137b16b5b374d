"""Staff invalidations: flagging the signatures that match a filter, and undoing that.

An invalidated signature's `flag_reason` names its invalidation (`Invalidation.flag_prefix`):
`invalidation:<id>` when it was unflagged before, `invalidation:<id>:<earlier reason>` when
it came from the fraud review queue (petitions.review). The undo reads that back, so it puts
each signature exactly where it was, and the counter pass restores the counts."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from campaign.audit import audit_record
from campaign.exceptions import ApplicationError
from petitions.counting import petition_counts_update
from petitions.models import Invalidation, Petition, Signature

logger = logging.getLogger(__name__)


def _invalidation_queryset(
    *,
    petition: Petition,
    ip_hash: str = "",
    email_domain: str = "",
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Any:
    if not (ip_hash or email_domain or created_from or created_to):
        raise ApplicationError(
            "Give at least one filter (ip_hash, email_domain, created_from, created_to).",
            code="filter_required",
            fields={"non_field_errors": ["At least one filter is required."]},
        )
    queryset = Signature.objects.filter(petition=petition, is_flagged=False).exclude(
        status=Signature.Status.WITHDRAWN
    )
    if ip_hash:
        queryset = queryset.filter(ip_hash=ip_hash)
    if email_domain:
        queryset = queryset.filter(email_domain=email_domain.lower())
    if created_from:
        queryset = queryset.filter(created_at__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__lt=created_to)
    return queryset


def invalidation_preview(**filters: Any) -> int:
    """How many signatures an invalidation with these filters would flag."""
    return _invalidation_queryset(**filters).count()


def invalidation_create(*, petition: Petition, user: Any, reason: str = "", **filters: Any) -> Invalidation:
    """Flags every matching signature, records who did it with which filters, and runs the
    counter pass so the counts drop right away."""
    with transaction.atomic():
        invalidation = Invalidation.objects.create(
            petition=petition,
            created_by=user if getattr(user, "pk", None) else None,
            reason=reason,
            ip_hash=filters.get("ip_hash") or "",
            email_domain=(filters.get("email_domain") or "").lower(),
            created_from=filters.get("created_from"),
            created_to=filters.get("created_to"),
        )
        flagged = _invalidation_queryset(petition=petition, **filters).update(
            is_flagged=True, flag_reason=invalidation.flag_prefix, updated_at=timezone.now()
        )
        invalidation.signature_count = flagged
        invalidation.save(update_fields=["signature_count", "updated_at"])
        audit_record(
            actor=user,
            action="invalidation.create",
            object_type="petitions.invalidation",
            object_id=invalidation.pk,
            row_count=flagged,
            details={
                "petition": petition.slug,
                **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items() if v},
            },
        )
    logger.info("invalidation %s flagged %d signatures of petition %s", invalidation.pk, flagged, petition.pk)
    petition_counts_update()
    return invalidation


def invalidation_undo(*, petition: Petition, invalidation_id: int, user: Any) -> Invalidation:
    """Puts every signature the invalidation flagged back as it was before (unflagged, or
    back in the review queue with its earlier reason), once, and runs the counter pass. A
    signature changed by hand since (unflagged or flagged again in the admin) keeps that."""
    with transaction.atomic():
        invalidation = (
            Invalidation.objects.select_for_update().filter(pk=invalidation_id, petition=petition).first()
        )
        if invalidation is None:
            raise ApplicationError("No such invalidation.", code="invalidation_not_found", status_code=404)
        if invalidation.undone_at is not None:
            raise ApplicationError(
                "This invalidation has been undone already.", code="already_undone", status_code=409
            )
        now = timezone.now()
        prefix = invalidation.flag_prefix
        mine: QuerySet[Signature] = Signature.objects.filter(petition=petition, is_flagged=True)
        unflagged = mine.filter(flag_reason=prefix).update(is_flagged=False, flag_reason="", updated_at=now)
        requeued = mine.filter(flag_reason__startswith=f"{prefix}:").update(
            flag_reason=Substr("flag_reason", len(prefix) + 2), updated_at=now
        )
        invalidation.undone_at = now
        invalidation.undone_by = user if getattr(user, "pk", None) else None
        invalidation.undone_count = unflagged + requeued
        invalidation.save(update_fields=["undone_at", "undone_by", "undone_count", "updated_at"])
        audit_record(
            actor=user,
            action="invalidation.undo",
            object_type="petitions.invalidation",
            object_id=invalidation.pk,
            row_count=unflagged + requeued,
            details={"petition": petition.slug, "unflagged": unflagged, "back_in_review": requeued},
        )
    logger.info(
        "invalidation %s undone: %d unflagged, %d back in review", invalidation.pk, unflagged, requeued
    )
    petition_counts_update()
    return invalidation
