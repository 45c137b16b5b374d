"""Reads of the fraud review queue: the flagged signatures of a petition, filtered, each with
why it was flagged. (Kept apart from petitions/selectors.py, which holds the public reads.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from petitions.models import INVALIDATION_FLAG_PREFIX, Invalidation, Petition, Signature

# The reasons a signature is flagged with: the silent checks (petitions.fraud), the admin's
# flag action, and an invalidation ("invalidation" stands for every `invalidation:<id>…`).
FLAG_REASONS = (
    "domain_blocked",
    "domain_disposable",
    "ip_burst",
    "ip_sustained",
    "domain_rate",
    "staff",
    "invalidation",
)
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class FlaggedFilters:
    """The filters of the queue, shared by the list and the bulk actions (all AND-ed)."""

    reason: str = ""
    ip_hash: str = ""
    email_domain: str = ""
    since: datetime | None = None
    until: datetime | None = None
    ids: tuple[int, ...] = ()

    @classmethod
    def from_validated(cls, data: dict[str, Any]) -> FlaggedFilters:
        """From the validated data of a FlaggedFiltersInputSerializer (or a subclass)."""
        names = ("reason", "ip_hash", "email_domain", "since", "until")
        return cls(**{name: data[name] for name in names if name in data}, ids=tuple(data.get("ids", ())))

    def is_empty(self) -> bool:
        return not (self.reason or self.ip_hash or self.email_domain or self.since or self.until or self.ids)

    def audit_details(self) -> dict[str, Any]:
        """The filters as the audit trail keeps them: hashes, domains, times, ids (up to
        1,000) and their number; never a name or an address."""
        details: dict[str, Any] = {}
        for name in ("reason", "ip_hash", "email_domain"):
            if getattr(self, name):
                details[name] = getattr(self, name)
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                details[name] = value.isoformat()
        if self.ids:
            details["ids"] = list(self.ids[:1000])
            details["ids_given"] = len(self.ids)
        return details


def flagged_signatures_filter(
    *, petition: Petition, filters: FlaggedFilters, in_review: bool = False
) -> QuerySet[Signature]:
    """The flagged signatures of the petition matching the filters (withdrawn ones are gone
    from the counts and the queue). `in_review`: only those not invalidated, the ones a bulk
    unflag or invalidation acts on; an invalidated signature comes back by its undo."""
    queryset = Signature.objects.filter(petition=petition, is_flagged=True).exclude(
        status=Signature.Status.WITHDRAWN
    )
    if in_review:
        queryset = queryset.exclude(flag_reason__startswith=INVALIDATION_FLAG_PREFIX)
    if filters.reason == "invalidation":
        queryset = queryset.filter(flag_reason__startswith=INVALIDATION_FLAG_PREFIX)
    elif filters.reason:
        queryset = queryset.filter(flag_reason=filters.reason)
    if filters.ip_hash:
        queryset = queryset.filter(ip_hash=filters.ip_hash)
    if filters.email_domain:
        queryset = queryset.filter(email_domain=filters.email_domain.lower())
    if filters.since is not None:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(created_at__lt=filters.until)
    if filters.ids:
        queryset = queryset.filter(pk__in=filters.ids)
    return queryset


def _check_explanation(code: str) -> str:
    s = settings
    texts = {
        "domain_blocked": "The e-mail domain is on the blocklist (PETITIONS_BLOCKED_EMAIL_DOMAINS).",
        "domain_disposable": "The e-mail domain belongs to a disposable-mail provider.",
        "ip_burst": f"More than {s.PETITIONS_IP_BURST_LIMIT} signatures from the same IP hash within "
        f"{s.PETITIONS_IP_BURST_SECONDS} s, and at least {s.PETITIONS_IP_BURST_PATTERN_LIMIT} of them "
        "numbered addresses from one browser or one name.",
        "ip_sustained": f"More than {s.PETITIONS_IP_SUSTAINED_LIMIT} signatures outside the big mail "
        f"providers from the same IP hash within {s.PETITIONS_IP_SUSTAINED_SECONDS} s.",
        "domain_rate": f"More than {s.PETITIONS_DOMAIN_LIMIT} signatures from the same e-mail domain "
        f"within {s.PETITIONS_DOMAIN_SECONDS} s.",
        "staff": "Flagged by staff in the admin.",
    }
    return texts.get(code, "Flagged with an unknown reason.")


def flag_reason_explain(flag_reason: str) -> dict[str, Any]:
    """Why a signature was flagged: the reason code, a sentence (with the thresholds the
    checks use now), and for an invalidated one its invalidation and the earlier reason."""
    if flag_reason.startswith(INVALIDATION_FLAG_PREFIX):
        number, _, earlier = flag_reason.removeprefix(INVALIDATION_FLAG_PREFIX).partition(":")
        text = f"Invalidated by staff (invalidation #{number})."
        if earlier:
            text += f" Flagged before: {_check_explanation(earlier)}"
        return {
            "code": "invalidation",
            "text": text,
            "invalidation_id": int(number) if number.isdigit() else None,
            "earlier_reason": earlier,
        }
    return {
        "code": flag_reason,
        "text": _check_explanation(flag_reason),
        "invalidation_id": None,
        "earlier_reason": "",
    }


_SAMPLE_FIELDS = ("id", "created_at", "confirmed_at", "status", "flag_reason", "ip_hash", "email_domain")
_PERSONAL_FIELDS = ("first_name", "last_name", "email", "postcode", "country", "city")


def _rows(queryset: QuerySet[Signature], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = list(queryset.values(*fields))
    for row in rows:
        row["why"] = flag_reason_explain(row["flag_reason"])
    return rows


def flagged_signatures_list(
    *, petition: Petition, filters: FlaggedFilters, limit: int, offset: int = 0, personal_data: bool = True
) -> dict[str, Any]:
    """One page of the queue, newest first, and the total matching: with the signers'
    personal data (the data export role reads this), or without (the staff page)."""
    queryset = flagged_signatures_filter(petition=petition, filters=filters)
    count = queryset.count()
    page = queryset.order_by("-created_at", "-id")[offset : offset + limit]
    results = _rows(page, _SAMPLE_FIELDS + (_PERSONAL_FIELDS if personal_data else ()))
    return {
        "count": count,
        "next_offset": offset + limit if offset + limit < count else None,
        "results": results,
    }


def invalidations_recent(*, petition: Petition, limit: int = 20) -> list[Invalidation]:
    """The petition's latest invalidations (both kinds), for the undo on the staff page."""
    return list(Invalidation.objects.filter(petition=petition).order_by("-created_at", "-id")[:limit])


def flagged_signatures_sample(*, queryset: QuerySet[Signature]) -> list[dict[str, Any]]:
    """The preview's sample rows: ids, times, reasons, hashes and domains, no personal data
    (organisers see it; the queue list with names needs the data export role)."""
    return _rows(queryset.order_by("-created_at", "-id")[:SAMPLE_SIZE], _SAMPLE_FIELDS)
