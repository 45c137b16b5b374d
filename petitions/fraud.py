"""The silent fraud defence: runs in the worker, never on the request path."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from petitions.models import Signature

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _disposable_domains() -> frozenset[str]:
    # Lazy: the blocklist is large, and only the worker's fraud check needs it.
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def _window_counts(
    *, column: str, value: str, petition_id: int, until: datetime, windows: list[timedelta]
) -> list[int]:
    """How many signatures of the petition with `column = value` were made in each window
    ending at `until` (inclusive), in one query.

    Every condition is on the row (column, petition_id, created_at), which only the index of
    the same leading columns can serve: with `petition_id = ...` or a bare `created_at` range in
    the WHERE, stale statistics (a big petition the planner still thinks is small) let the
    planner prefer the unique (petition, e-mail) index or the created_at index and filter
    through every signature of the petition, once per mail (tests/petitions/test_query_plans.py)."""
    table = Signature._meta.db_table
    since = [until - window for window in windows]
    counts = ", ".join("COUNT(*) FILTER (WHERE created_at > %s)" for _ in since)
    sql = f"""
        SELECT {counts} FROM {table}
        WHERE {column} = %s
          AND ({column}, petition_id, created_at) > (%s, %s, %s)
          AND ({column}, petition_id, created_at) <= (%s, %s, %s)
    """  # noqa: S608 - the column is one of two fixed names; every value is a parameter
    params: list[Any] = [*since, value, value, petition_id, min(since), value, petition_id, until]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [int(n) for n in cursor.fetchone()]


def signature_fraud_reason(signature: Signature) -> str:
    """Why the signature looks automated, or "". Windows end at the signature's own creation
    time, so the verdict does not depend on when the worker runs."""
    domain = signature.email_domain
    if domain and domain in {d.lower() for d in settings.PETITIONS_BLOCKED_EMAIL_DOMAINS}:
        return "domain_blocked"
    if domain and settings.PETITIONS_BLOCK_DISPOSABLE_DOMAINS and domain in _disposable_domains():
        return "domain_disposable"
    if signature.ip_hash:
        burst, sustained = _window_counts(
            column="ip_hash",
            value=signature.ip_hash,
            petition_id=signature.petition_id,
            until=signature.created_at,
            windows=[
                timedelta(seconds=settings.PETITIONS_IP_BURST_SECONDS),
                timedelta(seconds=settings.PETITIONS_IP_SUSTAINED_SECONDS),
            ],
        )
        if burst > settings.PETITIONS_IP_BURST_LIMIT:
            return "ip_burst"
        if sustained > settings.PETITIONS_IP_SUSTAINED_LIMIT:
            return "ip_sustained"
    if domain and domain not in {d.lower() for d in settings.PETITIONS_DOMAIN_ALLOWLIST}:
        (recent,) = _window_counts(
            column="email_domain",
            value=domain,
            petition_id=signature.petition_id,
            until=signature.created_at,
            windows=[timedelta(seconds=settings.PETITIONS_DOMAIN_SECONDS)],
        )
        if recent > settings.PETITIONS_DOMAIN_LIMIT:
            return "domain_rate"
    return ""


def signature_fraud_check(*, signature_id: int) -> None:
    """Runs the silent checks once per signature and flags it when one hits. Flagging is
    silent: the supporter still gets the mail and can confirm; the signature never counts."""
    now = timezone.now()
    # Claim the check, so a resent mail or a second worker does not run it again.
    if not Signature.objects.filter(pk=signature_id, fraud_checked_at__isnull=True).update(
        fraud_checked_at=now
    ):
        return
    signature = Signature.objects.filter(pk=signature_id).first()
    if signature is None or signature.status == Signature.Status.WITHDRAWN:
        return
    reason = signature_fraud_reason(signature)
    if reason:
        Signature.objects.filter(pk=signature_id, is_flagged=False).update(
            is_flagged=True, flag_reason=reason, updated_at=now
        )
        logger.info("signature %s flagged: %s", signature_id, reason)


def signatures_fraud_check(*, signatures: list[Signature]) -> None:
    """The silent checks of many signatures (loaded by the caller), each run once: one claim
    for all, then the indexed window queries of each claimed one, flagging those that hit."""
    ids = [signature.pk for signature in signatures if signature.status != Signature.Status.WITHDRAWN]
    if not ids:
        return
    now = timezone.now()
    table = Signature._meta.db_table
    # Claim the checks, so a resent mail or a second worker does not run them again.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET fraud_checked_at = %s "  # noqa: S608 - model metadata
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) AND fraud_checked_at IS NULL RETURNING id",
            [now, *ids],
        )
        claimed = {row[0] for row in cursor.fetchall()}
    for signature in signatures:
        if signature.pk not in claimed:
            continue
        reason = signature_fraud_reason(signature)
        if reason:
            Signature.objects.filter(pk=signature.pk, is_flagged=False).update(
                is_flagged=True, flag_reason=reason, updated_at=now
            )
            signature.is_flagged, signature.flag_reason = True, reason
            logger.info("signature %s flagged: %s", signature.pk, reason)
