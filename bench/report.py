"""Times the campaign report (pages/report.py) of a petition with BENCH_ROWS (1,000,000)
signatures: the query time of every query it runs, their sum and the wall time, against the
target of under one second of query time. `python -m bench.report` (or `make bench-report`);
uses the database setup of bench/bench.py (a fresh database, the 1M rows inserted with one
INSERT ... SELECT generate_series, the nightly recount), no web server.

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
)

ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "5"))
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


def main() -> int:
    log(
        f"report bench: {ROWS:,} signatures, {ROUNDS} rounds; machine: {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} (shared)"
    )
    database_create()
    django_setup()
    try:
        fixtures_create(with_rows=True)
        report_time()  # warm the caches once, as a page opened twice would
        runs = [report_time() for _ in range(ROUNDS)]
        scans = [scan_time() for _ in range(ROUNDS)]
    finally:
        if not KEEP_DB:
            database_drop()
    query_seconds = statistics.median(run[0] for run in runs)
    wall_seconds = statistics.median(run[1] for run in runs)
    median_run = min(runs, key=lambda run: abs(run[0] - query_seconds))
    print()
    print(
        f"=== Report of a petition with {ROWS:,} signatures ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}) ==="
    )
    print(
        f"query time (median of {ROUNDS}): {query_seconds:.3f}s  target < {TARGET_SECONDS:.1f}s  "
        f"{'met' if query_seconds < TARGET_SECONDS else 'MISSED'}"
    )
    scan_seconds = statistics.median(scans)
    print(f"for comparison, one plain COUNT(*) over the same rows (median): {scan_seconds:.3f}s")
    print(f"wall time (median): {wall_seconds:.3f}s; {len(median_run[2])} queries:")
    for duration, sql in median_run[2]:
        print(f"  {duration * 1000:8.1f} ms  {' '.join(sql.split())[:160]}")
    OUTPUT_DIR.mkdir(exist_ok=True)
    (OUTPUT_DIR / "bench-report.json").write_text(
        json.dumps(
            {
                "rows": ROWS,
                "query_seconds": query_seconds,
                "wall_seconds": wall_seconds,
                "plain_scan_seconds": scan_seconds,
                "target_seconds": TARGET_SECONDS,
                "queries": [{"ms": round(d * 1000, 1), "sql": sql} for d, sql in median_run[2]],
            },
            indent=2,
        )
    )
    return 0 if query_seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
