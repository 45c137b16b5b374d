"""Times the campaign report (pages/report.py) of a petition with BENCH_ROWS (1,000,000)
signatures: the query time of every query it runs, their sum and the wall time, against the
target of under one second of query time. `python -m bench.report` (or `make bench-report`);
uses the database setup of bench/bench.py (a fresh database, the 1M rows inserted with one
INSERT ... SELECT generate_series, the nightly recount), then the report rollup pass
(petitions/report_rollup.py), no web server. Measured twice: right after a pass, and with
BENCH_REPORT_FRESH (10,000) signatures added since (the report reads those from the table).

Settings: as bench/bench.py (BENCH_ROWS, BENCH_PG, BENCH_DB, BENCH_KEEP_DB), plus
BENCH_REPORT_ROUNDS (5): the report is built that often and the median is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.bench import (
    EXPORT_SLUG,
    KEEP_DB,
    OUTPUT_DIR,
    ROWS,
    database_create,
    database_drop,
    django_setup,
    fixtures_create,
    log,
    signature_insert_sql,
)

ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "5"))
FRESH = int(os.environ.get("BENCH_REPORT_FRESH", "10000"))
TARGET_SECONDS = 1.0


class QueryTimer:
    """A database execute wrapper that records each query's SQL and duration."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((time.perf_counter() - started, sql))


def report_time() -> tuple[float, float, list[tuple[float, str]]]:
    from django.db import connection

    from pages.report import petition_report_get

    timer = QueryTimer()
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        petition_report_get(slug=EXPORT_SLUG)
    wall = time.perf_counter() - started
    return sum(duration for duration, _ in timer.queries), wall, timer.queries


def scan_time() -> float:
    """The floor: one plain COUNT(*) over the petition's signatures (a full scan of them)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM petitions_signature s JOIN petitions_petition p ON p.id = s.petition_id "
            "WHERE p.slug = %s",
            [EXPORT_SLUG],
        )
        cursor.fetchone()
    return time.perf_counter() - started


def rollup_pass() -> float:
    from petitions.report_rollup import signature_report_rollup_update

    started = time.perf_counter()
    handled = signature_report_rollup_update()
    seconds = time.perf_counter() - started
    if handled and handled > FRESH:
        from django.db import connection

        # What autovacuum does soon after a million updated rows (the first pass after the
        # migration): drops the dead row versions, so the partial index holds only live ones.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE petitions_signature")
    log(f"rollup pass: {handled:,} signatures in {seconds:.1f}s")
    return seconds


def fresh_rows_add() -> None:
    """FRESH signatures signed since the last pass (as between two passes of a busy day)."""
    from django.db import connection

    from petitions.models import Petition

    petition_id = Petition.objects.get(slug=EXPORT_SLUG).pk
    with connection.cursor() as cursor:
        cursor.execute(
            signature_insert_sql(rows=FRESH, start=ROWS + 1).replace(
                "now() - i *", "now() - (i - %(start)s) *"
            ),
            {"petition_id": petition_id, "codes": None, "start": ROWS + 1},
        )
        cursor.execute("ANALYZE petitions_signature")


def measured() -> tuple[float, float, list[tuple[float, str]]]:
    report_time()  # warm the caches once, as a page opened twice would
    runs = [report_time() for _ in range(ROUNDS)]
    query_seconds = statistics.median(run[0] for run in runs)
    wall_seconds = statistics.median(run[1] for run in runs)
    median_run = min(runs, key=lambda run: abs(run[0] - query_seconds))
    return query_seconds, wall_seconds, median_run[2]


def _print(title: str, query_seconds: float, wall_seconds: float, queries: list[tuple[float, str]]) -> None:
    print(f"--- {title}")
    print(
        f"query time (median of {ROUNDS}): {query_seconds:.3f}s  target < {TARGET_SECONDS:.1f}s  "
        f"{'met' if query_seconds < TARGET_SECONDS else 'MISSED'}"
    )
    print(f"wall time (median): {wall_seconds:.3f}s; {len(queries)} queries:")
    for duration, sql in queries:
        print(f"  {duration * 1000:8.1f} ms  {' '.join(sql.split())[:160]}")


def main() -> int:
    load_before = os.getloadavg()[0]
    log(
        f"report bench: {ROWS:,} signatures, {ROUNDS} rounds; machine: {os.cpu_count()} cores, "
        f"load average {load_before:.2f} (shared)"
    )
    database_create()
    django_setup()
    try:
        fixtures_create(with_rows=True)
        pass_seconds = rollup_pass()
        rolled = measured()
        scans = [scan_time() for _ in range(ROUNDS)]
        fresh_rows_add()
        fresh = measured()
        fresh_pass_seconds = rollup_pass()
    finally:
        if not KEEP_DB:
            database_drop()
    load_after = os.getloadavg()[0]
    print()
    print(
        f"=== Report of a petition with {ROWS:,} signatures ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{os.cpu_count()} cores, load average {load_before:.1f} before, {load_after:.1f} after) ==="
    )
    print(f"rollup pass over all {ROWS:,} (setup): {pass_seconds:.1f}s")
    _print("right after a rollup pass", *rolled)
    _print(f"{FRESH:,} signatures added since the pass", *fresh)
    print(f"rollup pass adding those {FRESH:,}: {fresh_pass_seconds:.2f}s")
    scan_seconds = statistics.median(scans)
    print(f"for comparison, one plain COUNT(*) over the same rows (median): {scan_seconds:.3f}s")
    OUTPUT_DIR.mkdir(exist_ok=True)

    def figures(run: tuple[float, float, list[tuple[float, str]]]) -> dict[str, Any]:
        return {
            "query_seconds": run[0],
            "wall_seconds": run[1],
            "queries": [{"ms": round(d * 1000, 1), "sql": sql} for d, sql in run[2]],
        }

    (OUTPUT_DIR / "bench-report.json").write_text(
        json.dumps(
            {
                "rows": ROWS,
                "fresh_rows": FRESH,
                "load_average": [load_before, load_after],
                "rollup_pass_seconds": pass_seconds,
                "fresh_rollup_pass_seconds": fresh_pass_seconds,
                "plain_scan_seconds": scan_seconds,
                "target_seconds": TARGET_SECONDS,
                "after_pass": figures(rolled),
                "with_fresh_rows": figures(fresh),
            },
            indent=2,
        )
    )
    return 0 if max(rolled[0], fresh[0]) < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
