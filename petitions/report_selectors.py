"""Aggregated reads for the staff campaign report: signatures per day, per source and per
referring domain. Every figure is one GROUP BY in PostgreSQL; no signature row is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import CharField, Count, F, Func, Q, Value
from django.db.models.functions import Coalesce, TruncDate

from petitions.models import Signature

CONFIRMED_Q = Q(status=Signature.Status.CONFIRMED, is_flagged=False)
PENDING_Q = Q(status=Signature.Status.PENDING)
# The host of the referring page: scheme and path dropped, lower case, "www." kept.
REFERRER_HOST_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)"


def _signatures(petition_ids: Sequence[int]) -> Any:
    return Signature.objects.filter(petition_id__in=list(petition_ids))


def signature_report_totals_get(*, petition_ids: Sequence[int]) -> dict[str, int]:
    """Signed (every signing), confirmed (and not flagged), pending, withdrawn, flagged."""
    return _signatures(petition_ids).aggregate(
        signed=Count("pk"),
        confirmed=Count("pk", filter=CONFIRMED_Q),
        pending=Count("pk", filter=PENDING_Q),
        withdrawn=Count("pk", filter=Q(status=Signature.Status.WITHDRAWN)),
        flagged=Count("pk", filter=Q(is_flagged=True)),
    )


def signature_report_by_day(*, petition_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Signings per day of signing (project time zone), split by whether they are confirmed
    or still pending."""
    rows = (
        _signatures(petition_ids)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            signed=Count("pk"),
            confirmed=Count("pk", filter=CONFIRMED_Q),
            pending=Count("pk", filter=PENDING_Q),
        )
        .order_by("day")
    )
    return [dict(row) for row in rows]


def signature_report_by_source(*, petition_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Signed and confirmed per (utm_source, utm_medium, utm_campaign), largest first."""
    rows = (
        _signatures(petition_ids)
        .values("utm_source", "utm_medium", "utm_campaign")
        .annotate(signed=Count("pk"), confirmed=Count("pk", filter=CONFIRMED_Q))
        .order_by("-signed", "utm_source", "utm_medium", "utm_campaign")
    )
    return [dict(row) for row in rows]


def signature_report_by_referrer(*, petition_ids: Sequence[int], limit: int = 20) -> list[dict[str, Any]]:
    """Signed and confirmed per referring domain (empty: no referrer), largest first."""
    host = Func(F("referrer"), Value(REFERRER_HOST_PATTERN), function="substring", output_field=CharField())
    rows = (
        _signatures(petition_ids)
        .annotate(domain=Coalesce(Func(host, function="lower", output_field=CharField()), Value("")))
        .values("domain")
        .annotate(signed=Count("pk"), confirmed=Count("pk", filter=CONFIRMED_Q))
        .order_by("-signed", "domain")[:limit]
    )
    return [dict(row) for row in rows]
