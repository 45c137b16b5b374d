"""The batch counter pass, milestones and the nightly recount."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from campaign.outbox.queueing import outgoing_email_queue
from petitions.models import COUNT_MISMATCH_Q, Milestone, Petition, Signature
from petitions.selectors import count_now, count_period_start, petition_count_cache_clear
from petitions.signals import milestone_reached, signature_counts_changed, signature_counts_recounted

logger = logging.getLogger(__name__)

MILESTONE_EMAIL_KIND = "petitions-milestone-reached"
COUNTS_LOCK_KEY = 0x5E7171  # pg advisory lock key of the counter pass ("petitions counts")


@dataclass(frozen=True)
class SignatureCountChange:
    """One signature entering (+1) or leaving (-1) the counts in a counter pass."""

    signature_id: int
    petition_id: int
    postcode: str
    country: str
    delta: int


def _advisory_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COUNTS_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _counted_flags_flip() -> list[SignatureCountChange]:
    """Flips `counted` on every signature whose inclusion changed and returns the changes.
    The WHERE is re-checked on each row's latest version, so a signature confirmed or
    withdrawn while the pass runs is never counted twice or missed: it is handled in this
    pass or the next one, including ones whose transaction committed late."""
    table = Signature._meta.db_table
    todo_sql, todo_params = (
        Signature.objects.filter(COUNT_MISMATCH_Q).order_by().values("id").query.sql_with_params()
    )
    if connection.vendor == "postgresql":
        # Two statements, not `WHERE id IN (subquery)`: given stale statistics the planner
        # joins that subquery by walking the whole primary key (tests/petitions/
        # test_query_plans.py), while the ids alone come from the small partial index
        # (signature_count_todo_idx) and `id = ANY(...)` has only the primary key to use.
        with connection.cursor() as cursor:
            cursor.execute(todo_sql, todo_params)
            todo = [row[0] for row in cursor.fetchall()]
            if not todo:
                return []
            cursor.execute(
                f"""
                UPDATE {table} SET counted = (status = 'confirmed' AND NOT is_flagged)
                WHERE id = ANY(%s) AND counted <> (status = 'confirmed' AND NOT is_flagged)
                RETURNING id, petition_id, postcode, country, CASE WHEN counted THEN 1 ELSE -1 END
                """,  # noqa: S608 - the table name comes from model metadata
                [todo],
            )
            rows = cursor.fetchall()
    else:
        rows = []
        for pk, petition_id, postcode, country, status, is_flagged in Signature.objects.filter(
            COUNT_MISMATCH_Q
        ).values_list("id", "petition_id", "postcode", "country", "status", "is_flagged"):
            should = status == Signature.Status.CONFIRMED and not is_flagged
            Signature.objects.filter(pk=pk).update(counted=should)
            rows.append((pk, petition_id, postcode, country, 1 if should else -1))
    return [SignatureCountChange(*row) for row in rows]


def _region_counts_apply(changes: list[SignatureCountChange]) -> None:
    """Per-region totals, in the same transaction as the petition counts. The officials app
    hooks in here through `signature_counts_changed`."""
    signature_counts_changed.send(sender=SignatureCountChange, changes=changes)


def _milestone_reached_hooks(milestone: Milestone) -> None:
    """Runs once per milestone, in the counter pass's transaction. The officials app hooks
    in here through `milestone_reached` (deliveries to officials)."""
    milestone_reached.send(sender=Milestone, milestone=milestone)


def petition_counts_update() -> dict[str, int] | None:
    """The batch counter pass: under an advisory lock, in one transaction, flips `counted`
    where it differs from (confirmed and not flagged), adds the deltas to each petition, hands
    the change list to the per-region totals, then records milestones. Returns None when
    another pass holds the lock."""
    now = timezone.now()
    with transaction.atomic():
        if not _advisory_lock():
            return None
        changes, deltas = _counted_flags_flip_and_apply(now=now)
        # Withdrawn signatures have left the region totals now: their postcode can go.
        withdrawn_ids = [c.signature_id for c in changes if c.delta < 0]
        if withdrawn_ids:
            Signature.objects.filter(pk__in=withdrawn_ids, status=Signature.Status.WITHDRAWN).update(
                postcode=""
            )
        reached = milestones_check(now=now)
        public_changes = _public_counts_advance()  # last, right before the commit
    if changes or public_changes:
        petition_count_cache_clear()
    if changes:
        logger.info("counter pass: %d changes over %d petitions", len(changes), len(deltas))
    return {"changes": len(changes), "petitions": len(deltas), "milestones": reached}


def milestones_check(*, now: datetime | None = None) -> int:
    """Records each milestone whose target the total (online + offline) has reached, once:
    `reached_at` is set by a conditional update, so it never notifies twice."""
    now = now or timezone.now()
    candidates = Milestone.objects.filter(
        reached_at__isnull=True,
        target__lte=F("petition__signature_count") + F("petition__offline_count"),
    ).select_related("petition")
    reached = 0
    for milestone in candidates:
        if not Milestone.objects.filter(pk=milestone.pk, reached_at__isnull=True).update(reached_at=now):
            continue
        milestone.reached_at = now
        reached += 1
        logger.info("petition %s reached milestone %s", milestone.petition_id, milestone.target)
        for address in settings.STAFF_NOTIFICATION_EMAILS:
            outgoing_email_queue(
                kind=MILESTONE_EMAIL_KIND,
                to_email=address,
                context={
                    "petition_title": milestone.petition.title_de,
                    "petition_slug": milestone.petition.slug,
                    "target": milestone.target,
                    "total": milestone.petition.total_count,
                },
                subject_type="petitions.milestone",
                subject_id=milestone.pk,
                campaign_id=milestone.petition.campaign_id,
            )
        _milestone_reached_hooks(milestone)
    return reached


def petition_counts_recount() -> dict[int, int]:
    """The nightly recount: runs a pass, then compares each petition's stored count with the
    signatures actually counted, corrects any difference and logs it. Returns the drift per
    petition id."""
    with transaction.atomic():
        if not _advisory_lock():
            return {}
        drift = _petition_counts_recount_locked()
        _public_counts_advance()
    petition_count_cache_clear()
    return drift


# A public count change is timestamped this far ahead (at most one period): the pass commits
# within it, so no process can load the change before the period it shows in has begun.
PUBLIC_COUNT_COMMIT_MARGIN_SECONDS = 1.0


def _public_counts_advance() -> int:
    """Moves each petition's public count to its counted total, once the previous change is
    public: every process shows the new count from the first count period that begins after
    the change's timestamp (petitions.selectors), all at the same moment. Returns how many
    petitions changed."""
    now = count_now()
    due = Petition.objects.exclude(public_count=F("signature_count"))
    if settings.PETITION_COUNTS_AFTER_EACH_CHANGE:
        # The embedded default: one process, which runs the pass itself and drops its cache
        # after it; nobody to keep in step, so the count shows at once.
        return due.update(
            public_count_before=F("public_count"),
            public_count=F("signature_count"),
            public_count_changed_at=datetime.fromtimestamp(
                count_period_start(now) - max(settings.PETITIONS_COUNT_CACHE_SECONDS, 0), tz=UTC
            ),
        )
    margin = min(PUBLIC_COUNT_COMMIT_MARGIN_SECONDS, max(settings.PETITIONS_COUNT_CACHE_SECONDS, 0))
    shown_since = datetime.fromtimestamp(count_period_start(now), tz=UTC)
    due = due.filter(Q(public_count_changed_at__isnull=True) | Q(public_count_changed_at__lte=shown_since))
    # One statement: every right-hand side reads the row as it was (before = the old public).
    return due.update(
        public_count_before=F("public_count"),
        public_count=F("signature_count"),
        public_count_changed_at=datetime.fromtimestamp(now + margin, tz=UTC),
    )


def _petition_counts_recount_locked() -> dict[int, int]:
    drift: dict[int, int] = {}
    _counted_flags_flip_and_apply(now=timezone.now())
    # One GROUP BY over the counted rows, not one COUNT per petition.
    counted = dict(
        Signature.objects.filter(counted=True)
        .values("petition_id")
        .annotate(n=Count("id"))
        .values_list("petition_id", "n")
    )
    for petition in Petition.objects.select_for_update().only("id", "signature_count"):
        actual = counted.get(petition.pk, 0)
        if actual != petition.signature_count:
            drift[petition.pk] = actual - petition.signature_count
            Petition.objects.filter(pk=petition.pk).update(
                signature_count=actual, counts_updated_at=timezone.now()
            )
            logger.warning(
                "recount: petition %s drifted by %d (stored %d, actual %d)",
                petition.pk,
                actual - petition.signature_count,
                petition.signature_count,
                actual,
            )
    # The per-region totals (officials app), healed under the same lock.
    signature_counts_recounted.send(sender=Petition, petition_ids=None)
    return drift


def _counted_flags_flip_and_apply(*, now: datetime) -> tuple[list[SignatureCountChange], dict[int, int]]:
    """Flips the flags, adds the summed deltas to each petition (one UPDATE per petition, not
    per signature) and hands the changes to the per-region totals."""
    changes = _counted_flags_flip()
    deltas: dict[int, int] = {}
    for change in changes:
        deltas[change.petition_id] = deltas.get(change.petition_id, 0) + change.delta
    for petition_id, delta in deltas.items():
        Petition.objects.filter(pk=petition_id).update(
            signature_count=F("signature_count") + delta, counts_updated_at=now
        )
    _region_counts_apply(changes)
    return changes, deltas
