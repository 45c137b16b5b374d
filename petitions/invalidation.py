"""Staff invalidations: flagging the signatures that match a filter."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
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
            is_flagged=True, flag_reason=f"invalidation:{invalidation.pk}", updated_at=timezone.now()
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
