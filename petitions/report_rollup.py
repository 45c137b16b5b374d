"""The report rollup: the staff report's signature figures pre-aggregated per petition, hour of
signing, source (utm triple, referring domain), status and flag (SignatureReportRollup), so
the report of a petition with a million signatures reads a few thousand rows, not a million.

Kept like the counts: each signature records what the rollup holds of it (`report_status`,
`report_flagged`); the pass adds every signature whose status or flag differs (new ones,
confirmed, withdrawn, flagged, unflagged since) and takes its earlier state out, in one
statement per batch. The report adds the rows not rolled up yet itself (found through a
partial index), so it is exact at any moment, not only right after a pass. A change to what
the rollup groups by (an erasure blanks the referrer) or a deletion first takes the
signatures out with `signature_report_rollup_release`.

PostgreSQL only (as the report's SQL); elsewhere the pass does nothing and the report reads
every signature as not rolled up."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import connection, transaction

from petitions.models import Signature, SignatureReportRollup

logger = logging.getLogger(__name__)

ROLLUP_LOCK_KEY = 0x5E7172  # pg advisory lock key of the rollup pass
BATCH_SIZE = 20_000

SIGNATURES = Signature._meta.db_table
ROLLUP = SignatureReportRollup._meta.db_table

# The hour of signing: epoch hours, UTC (cheap per row, unlike a time zone conversion).
HOUR_SQL = "floor(date_part('epoch', {t}created_at) / 3600)::bigint"
# The host of the referring page: what lies between "scheme://" and the next "/", without a
# port, lower case ("www." kept). split_part is far cheaper per row than a regular expression.
DOMAIN_SQL = (
    "CASE WHEN {t}referrer LIKE '%%://%%' "
    "THEN lower(split_part(split_part(split_part({t}referrer, '/', 3), ':', 1), '?', 1)) ELSE '' END"
)
# Signatures the rollup does not hold as they are (REPORT_MISMATCH_Q, as the partial index
# signature_report_todo_idx writes it, so the planner matches the index).
MISMATCH_SQL = "(NOT ({t}report_status = {t}status) OR NOT ({t}report_flagged = {t}is_flagged))"
KEY_COLUMNS = "petition_id, hour, utm_source, utm_medium, utm_campaign, referrer_domain, status, is_flagged"


def sql_for(template: str, table: str = "") -> str:
    return template.format(t=f"{table}." if table else "")


# One batch: flip the signatures' report state and move each one's count from its old group
# to its new one. `old` locks the rows and reads what the rollup held of them (an erasure that
# released them meanwhile is seen); the UPDATE's WHERE is re-checked on each row's latest
# version, so a signature confirmed while the pass runs is handled now or in the next pass.
_APPLY_SQL = f"""
WITH old AS (
    SELECT id, report_status AS old_status, report_flagged AS old_flagged
    FROM {SIGNATURES} WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE
), changed AS (
    UPDATE {SIGNATURES} AS s SET report_status = s.status, report_flagged = s.is_flagged
    FROM old WHERE s.id = old.id AND {sql_for(MISMATCH_SQL, "s")}
    RETURNING s.petition_id, {sql_for(HOUR_SQL, "s")} AS hour, s.utm_source, s.utm_medium,
              s.utm_campaign, {sql_for(DOMAIN_SQL, "s")} AS referrer_domain, s.status, s.is_flagged,
              old.old_status, old.old_flagged
), deltas AS (
    SELECT {KEY_COLUMNS}, 1 AS n FROM changed
    UNION ALL
    SELECT petition_id, hour, utm_source, utm_medium, utm_campaign, referrer_domain,
           old_status, old_flagged, -1 FROM changed WHERE old_status <> ''
)
INSERT INTO {ROLLUP} AS r ({KEY_COLUMNS}, count)
SELECT {KEY_COLUMNS}, sum(n) FROM deltas GROUP BY {KEY_COLUMNS} HAVING sum(n) <> 0
ON CONFLICT ({KEY_COLUMNS}) DO UPDATE SET count = r.count + EXCLUDED.count
"""  # noqa: S608 - fixed SQL, table names from the models

# Takes signatures out of the rollup: subtracts what it holds of them, marks them not added.
_RELEASE_SQL = f"""
WITH old AS (
    SELECT id, report_status AS old_status, report_flagged AS old_flagged
    FROM {SIGNATURES} WHERE id = ANY(%(ids)s) AND report_status <> '' ORDER BY id FOR UPDATE
), released AS (
    UPDATE {SIGNATURES} AS s SET report_status = '', report_flagged = false
    FROM old WHERE s.id = old.id
    RETURNING s.petition_id, {sql_for(HOUR_SQL, "s")} AS hour, s.utm_source, s.utm_medium,
              s.utm_campaign, {sql_for(DOMAIN_SQL, "s")} AS referrer_domain,
              old.old_status AS status, old.old_flagged AS is_flagged
)
INSERT INTO {ROLLUP} AS r ({KEY_COLUMNS}, count)
SELECT {KEY_COLUMNS}, -count(*) FROM released GROUP BY {KEY_COLUMNS}
ON CONFLICT ({KEY_COLUMNS}) DO UPDATE SET count = r.count + EXCLUDED.count
"""  # noqa: S608 - fixed SQL, table names from the models

_REBUILD_SQL = f"""
INSERT INTO {ROLLUP} ({KEY_COLUMNS}, count)
SELECT petition_id, {sql_for(HOUR_SQL)}, utm_source, utm_medium, utm_campaign, {sql_for(DOMAIN_SQL)},
       report_status, report_flagged, count(*)
FROM {SIGNATURES} WHERE report_status <> ''
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""  # noqa: S608 - fixed SQL, table names from the models


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def signature_report_rollup_update(*, batch_size: int = BATCH_SIZE) -> int | None:
    """The rollup pass: adds every signature whose status or flag the rollup does not hold
    yet, in batches (one transaction each). Returns how many it handled, None when another
    pass holds the lock. Idempotent: a second run finds nothing to do."""
    if not _postgresql():
        return 0
    handled = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return None if not handled else handled
            # As in the report's read: the planner cannot estimate the two-column comparison and
            # would scan the whole table; the partial index holds only the rows to do.
            cursor.execute("SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)")
            cursor.execute(
                f"SELECT id FROM {SIGNATURES} WHERE {sql_for(MISMATCH_SQL)} LIMIT %s",  # noqa: S608
                [batch_size],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                cursor.execute(_APPLY_SQL, {"ids": ids})
        handled += len(ids)
        if len(ids) < batch_size:
            break
    if handled:
        logger.info("report rollup: %d signatures added", handled)
    return handled


def signature_report_rollup_release(*, signature_ids: Sequence[int]) -> None:
    """Takes the signatures out of the rollup. Call it in the transaction that deletes them or
    changes what the rollup groups them by (hour, utm fields, referrer), before the change:
    the next pass adds them again as they are then (a deleted one never)."""
    if not _postgresql() or not signature_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, {"ids": list(signature_ids)})


def signature_report_rollup_rebuild() -> int:
    """The nightly heal: recomputes the rollup from what the signatures say it holds (their
    `report_status`/`report_flagged`), dropping groups that fell to zero. Returns the number
    of groups."""
    if not _postgresql():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        # Writers of the rollup (the pass, releases) wait; the rebuild sees their committed work.
        cursor.execute(f"LOCK TABLE {ROLLUP} IN SHARE ROW EXCLUSIVE MODE")  # noqa: S608
        cursor.execute(f"DELETE FROM {ROLLUP}")  # noqa: S608
        cursor.execute(_REBUILD_SQL)
        return cursor.rowcount
