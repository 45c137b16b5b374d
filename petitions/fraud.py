"""The silent fraud defence: runs in the worker, never on the request path."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from petitions.metrics import signature_flagged_count
from petitions.models import Signature
from petitions.shared_networks import email_domain_is_provider, ip_burst_is_scripted, without_providers

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


def _window_counts_many(
    *, column: str, items: list[tuple[int, str, int, datetime]], windows: list[timedelta]
) -> dict[int, list[int]]:
    """`_window_counts` of many signatures, (id, value, petition id, until) each, in one query
    on PostgreSQL: a LATERAL subquery per signature, each the same row comparison on the index
    of the same leading columns (an aggregate in LATERAL is never flattened into a join)."""
    if not items:
        return {}
    if connection.vendor != "postgresql":
        return {
            pk: _window_counts(
                column=column, value=value, petition_id=petition_id, until=until, windows=windows
            )
            for pk, value, petition_id, until in items
        }
    table = Signature._meta.db_table
    widest = max(windows)
    counts = ", ".join(
        f"COUNT(*) FILTER (WHERE s.created_at > v.until - %s) AS n{i}" for i in range(len(windows))
    )
    sql = f"""
        SELECT v.id, {", ".join(f"w.n{i}" for i in range(len(windows)))}
        FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::timestamptz[]) AS v(id, value, petition_id, until)
        CROSS JOIN LATERAL (
            SELECT {counts} FROM {table} AS s
            WHERE s.{column} = v.value
              AND (s.{column}, s.petition_id, s.created_at) > (v.value, v.petition_id, v.until - %s)
              AND (s.{column}, s.petition_id, s.created_at) <= (v.value, v.petition_id, v.until)
        ) AS w
    """  # noqa: S608 - the column is one of two fixed names; every value is a parameter
    params: list[Any] = [
        [item[0] for item in items],
        [item[1] for item in items],
        [item[2] for item in items],
        [item[3] for item in items],
        *windows,
        widest,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: [int(n) for n in row[1:]] for row in cursor.fetchall()}


def _ip_windows() -> list[timedelta]:
    return [
        timedelta(seconds=settings.PETITIONS_IP_BURST_SECONDS),
        timedelta(seconds=settings.PETITIONS_IP_SUSTAINED_SECONDS),
    ]


def _domain_checked(domain: str) -> bool:
    return bool(domain) and domain not in {d.lower() for d in settings.PETITIONS_DOMAIN_ALLOWLIST}


def _listed_reason(signature: Signature) -> str:
    domain = signature.email_domain
    if domain and domain in {d.lower() for d in settings.PETITIONS_BLOCKED_EMAIL_DOMAINS}:
        return "domain_blocked"
    if domain and settings.PETITIONS_BLOCK_DISPOSABLE_DOMAINS and domain in _disposable_domains():
        return "domain_disposable"
    return ""


def _ip_reason(signature: Signature, counts: list[int]) -> str:
    """The verdict of the address windows. A count over its limit is only a busy address (a
    crowd behind one NAT, or a script?): the extra read that tells them apart runs only then."""
    burst, sustained = counts
    by_ip = Signature.objects.filter(
        petition_id=signature.petition_id, ip_hash=signature.ip_hash, created_at__lte=signature.created_at
    )
    if burst > settings.PETITIONS_IP_BURST_LIMIT:
        since = signature.created_at - timedelta(seconds=settings.PETITIONS_IP_BURST_SECONDS)
        if ip_burst_is_scripted(signature, by_ip.filter(created_at__gt=since)):
            return "ip_burst"
    if sustained > settings.PETITIONS_IP_SUSTAINED_LIMIT and not email_domain_is_provider(
        signature.email_domain
    ):
        # Signers at the big mail providers do not count against the address.
        since = signature.created_at - timedelta(seconds=settings.PETITIONS_IP_SUSTAINED_SECONDS)
        if (
            without_providers(by_ip.filter(created_at__gt=since)).count()
            > settings.PETITIONS_IP_SUSTAINED_LIMIT
        ):
            return "ip_sustained"
    return ""


def signature_fraud_reasons(signatures: list[Signature]) -> dict[int, str]:
    """Why each signature looks automated ("" when it does not), with one window query for
    all their addresses and one for all their domains. Windows end at each signature's own
    creation time, so the verdict does not depend on when the worker runs."""
    reasons = {signature.pk: _listed_reason(signature) for signature in signatures}
    by_ip = _window_counts_many(
        column="ip_hash",
        items=[
            (s.pk, s.ip_hash, s.petition_id, s.created_at)
            for s in signatures
            # An allow-listed network (a school, a conference) has no per-IP windows.
            if s.ip_hash and not s.ip_allowlisted and not reasons[s.pk]
        ],
        windows=_ip_windows(),
    )
    by_id = {s.pk: s for s in signatures}
    for pk, counts in by_ip.items():
        reasons[pk] = _ip_reason(by_id[pk], counts)
    by_domain = _window_counts_many(
        column="email_domain",
        items=[
            (s.pk, s.email_domain, s.petition_id, s.created_at)
            for s in signatures
            if _domain_checked(s.email_domain) and not reasons[s.pk]
        ],
        windows=[timedelta(seconds=settings.PETITIONS_DOMAIN_SECONDS)],
    )
    for pk, (recent,) in by_domain.items():
        if recent > settings.PETITIONS_DOMAIN_LIMIT:
            reasons[pk] = "domain_rate"
    return reasons


def signature_fraud_reason(signature: Signature) -> str:
    """Why the signature looks automated, or "" (see signature_fraud_reasons)."""
    return signature_fraud_reasons([signature])[signature.pk]


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
        if Signature.objects.filter(pk=signature_id, is_flagged=False).update(
            is_flagged=True, flag_reason=reason, updated_at=now
        ):
            signature_flagged_count(reason)
        logger.info("signature %s flagged: %s", signature_id, reason)


def signatures_fraud_check(*, signatures: list[Signature]) -> None:
    """The silent checks of many signatures (loaded by the caller), each run once: one claim
    for all, one window query for their addresses and one for their domains, flagging those
    that hit."""
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
    reasons = signature_fraud_reasons([s for s in signatures if s.pk in claimed])
    for signature in signatures:
        reason = reasons.get(signature.pk, "")
        if reason:
            if Signature.objects.filter(pk=signature.pk, is_flagged=False).update(
                is_flagged=True, flag_reason=reason, updated_at=now
            ):
                signature_flagged_count(reason)
            signature.is_flagged, signature.flag_reason = True, reason
            logger.info("signature %s flagged: %s", signature.pk, reason)
