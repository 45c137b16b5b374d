"""The benchmarks of the product's performance targets, each a ratio against a baseline measured in the same
run (`make bench`, or `make bench ARGS="sign count"` for some of them).

It creates a fresh PostgreSQL database, starts gunicorn (4 sync workers, production settings
with DEBUG=false, bench/settings.py adding the bare baseline views), and loads it with wrk from
a separate process, bounded in time, only on 127.0.0.1. Baseline and candidate runs alternate
(A B A B A B) and the medians are compared: single runs swing by +-25% (autovacuum,
checkpoints, other processes on the machine).

    sign          POST /api/v1/petitions/{slug}/signatures/, unique signers
                  vs a bare Django view doing one INSERT        target >= 0.6x (goal 0.8x)
    count         GET /api/v1/petitions/{slug}/count/ vs a bare Django JSON view  target >= 0.8x
    export        GET /api/v1/staff/petitions/{slug}/signatures.csv of BENCH_ROWS signatures
                  vs psql's COPY ... TO STDOUT WITH CSV of the same columns      target <= 1.5x
                  and the gunicorn worker's peak RSS (VmHWM)                    target < 150 MB
    constituency  per-constituency totals (officials selector) over BENCH_ROWS signatures
                  vs the bare SQL GROUP BY                                      target <= 1.2x
    mail          10,000 queued confirmation mails drained by a real Celery worker to a local
                  SMTP sink vs a plain smtplib loop over one connection         target >= 0.5x

Settings (environment): BENCH_DURATION (s per run, 10), BENCH_ROUNDS (pairs, 3),
BENCH_CONNECTIONS (8), BENCH_THREADS (2), BENCH_ROWS (1000000), BENCH_MAILS (10000),
BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_DB (campaign_bench_<run id>),
BENCH_REDIS_URL (redis://127.0.0.1:6379/0), BENCH_KEEP_DB (0).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
OUTPUT_DIR = REPO_ROOT / "test-output"
# The figures of the last run, for comparing runs (not committed).
RESULTS_PATH = BENCH_DIR / "results.json"

ALL = ["sign", "count", "export", "constituency", "mail"]
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
MAILS = int(os.environ.get("BENCH_MAILS", "10000"))
# Existing signatures on the mail petition at which the drain is measured.
MAIL_SIZES = [int(n) for n in os.environ.get("BENCH_MAIL_SIZES", "0,100000,1000000").split(",")]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
RUN_ID = uuid.uuid4().hex[:8]
# Its own database per run, so two runs on one machine never drop each other's.
DB_NAME = os.environ.get("BENCH_DB", f"campaign_bench_{RUN_ID}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
KEEP_DB = os.environ.get("BENCH_KEEP_DB", "0") == "1"

SIGN_SLUG = "bench-sign"
EXPORT_SLUG = "bench-export"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env() -> dict[str, str]:
    """Production settings with test secrets, the bench database and this run's Redis keys."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 32,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; a proxy terminates TLS in production
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-{RUN_ID}",
        "CACHE_KEY_PREFIX": f"bench-{RUN_ID}",
        # The flood throttles stay on the path (their Redis round trips are part of the cost)
        # but with rates the load from one address never reaches.
        "THROTTLE_SIGN_RATE": "100000000/s",
        "THROTTLE_SIGN_MAX_RATE": "100000000/s",
        "EMAIL_URL": "",
        "EMAIL_HOST": "",
        "PYTHONUNBUFFERED": "1",
    }


# --- Setup ----------------------------------------------------------------------------------


def database_create() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def database_drop() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def django_setup() -> None:
    os.environ.update(bench_env())
    import django

    django.setup()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


@dataclass
class Fixtures:
    sign_petition_id: int
    export_petition_id: int | None
    consent_version: str
    token: str


def signature_insert_sql(*, rows: int, start: int = 1) -> str:
    """One INSERT ... SELECT generate_series for `rows` signatures on the export petition,
    built from the model so every NOT NULL column gets a value. Postcodes come from the
    officials mapping (when loaded), plus unknown and foreign ones."""
    from petitions.models import Signature

    special = {
        "petition": "%(petition_id)s",
        "first_name": "'Vorname' || (i %% 997)",
        "last_name": "'Nachname-' || i",
        "email": "'signer' || i || '@example.org'",
        "email_normalized": "'signer' || i || '@example.org'",
        "email_domain": "'example.org'",
        "postcode": "CASE WHEN i %% 50 = 0 THEN '99999' ELSE codes[1 + i %% array_length(codes, 1)] END",
        "country": "CASE WHEN i %% 40 = 0 THEN 'AT' ELSE 'DE' END",
        "city": "'Stadt ' || (i %% 300)",
        "locale": "CASE WHEN i %% 10 = 0 THEN 'en' ELSE 'de' END",
        "status": "CASE WHEN i %% 25 = 0 THEN 'pending' WHEN i %% 101 = 0 THEN 'withdrawn' ELSE 'confirmed' END",
        "is_flagged": "(i %% 97 = 0)",
        # Already counted, as after the nightly recount: the steady state of a big petition.
        "counted": "(i %% 25 <> 0 AND i %% 101 <> 0 AND i %% 97 <> 0)",
        "newsletter_consent": "(i %% 3 = 0)",
        "show_name_publicly": "(i %% 2 = 0)",
        "share_name_with_officials": "(i %% 5 = 0)",
        "utm_source": "CASE WHEN i %% 4 = 0 THEN 'newsletter' ELSE 'landing' END",
        "consent_version": "'1'",
        "consent_text_hash": "md5(i::text) || md5(i::text)",
        "consent_at": "now() - i * interval '1 second'",
        "ip_hash": "md5((i %% 50000)::text) || md5((i %% 50000)::text)",
        "confirmed_at": "now() - i * interval '1 second' + interval '5 minutes'",
        "created_at": "now() - i * interval '1 second'",
        "updated_at": "now() - i * interval '1 second'",
    }
    columns, values = [], []
    for model_field in Signature._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(f'"{model_field.column}"')
        if model_field.name in special:
            values.append(special[model_field.name])
        elif model_field.null:
            values.append("NULL")
        elif model_field.get_internal_type() == "BooleanField":
            values.append("false")
        elif model_field.get_internal_type() in {"CharField", "TextField", "SlugField"}:
            values.append("''")
        elif "Integer" in model_field.get_internal_type():
            values.append("0")
        elif model_field.get_internal_type() == "JSONField":
            values.append("'{}'::jsonb")
        else:
            raise RuntimeError(f"bench: no value for the NOT NULL column {model_field.column}")
    return (
        f'INSERT INTO "{Signature._meta.db_table}" ({", ".join(columns)}) '  # noqa: S608 - fixed bench SQL
        f"SELECT {', '.join(values)} FROM generate_series({int(start)}, {int(start) + int(rows) - 1}) AS i, "
        "(SELECT COALESCE(%(codes)s::text[], ARRAY['10115']) AS codes) AS c"
    )


def fixtures_create(*, with_rows: bool) -> Fixtures:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from bench.views import BENCH_TABLE_SQL
    from campaign.models import Campaign
    from petitions.models import Petition

    log("migrating the bench database")
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(BENCH_TABLE_SQL)
    campaign = Campaign.objects.create(slug="bench", title_de="Bench", status=Campaign.Status.LIVE)
    sign_petition = Petition.objects.create(
        campaign=campaign,
        slug=SIGN_SLUG,
        title_de="Bench",
        status=Petition.Status.OPEN,
        consent_text_de="Ja.",
    )
    with contextlib.suppress(Exception):  # a goal ladder, if the model has one
        sign_petition.milestones.create(target=10_000_000)
    export_petition = None
    if with_rows:
        export_petition = Petition.objects.create(
            campaign=campaign, slug=EXPORT_SLUG, title_de="Export", status=Petition.Status.OPEN
        )
        codes = _postcodes_load()
        log(f"inserting {ROWS:,} signatures (one INSERT ... SELECT generate_series)")
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                signature_insert_sql(rows=ROWS), {"petition_id": export_petition.pk, "codes": codes or None}
            )
            cursor.execute("VACUUM ANALYZE petitions_signature")
        log(f"inserted in {time.monotonic() - started:.1f}s; the nightly recount sets the totals")
        started = time.monotonic()
        from petitions.counting import petition_counts_recount

        petition_counts_recount()
        export_petition.refresh_from_db()
        log(f"recount: {export_petition.signature_count:,} counted, in {time.monotonic() - started:.1f}s")
    from django.contrib.auth.models import Group

    from campaign.permissions import ROLES, staff_roles_ensure
    from campaign.staff_tokens import staff_token_create

    staff_roles_ensure()
    user = get_user_model().objects.create_user(username="bench-staff", password=None, is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=ROLES))
    _, token_key = staff_token_create(user=user, name="bench", via="bench")
    return Fixtures(
        sign_petition_id=sign_petition.pk,
        export_petition_id=export_petition.pk if export_petition else None,
        consent_version=sign_petition.consent_version,
        token=token_key,
    )


def _postcodes_load() -> list[str]:
    """Loads the shipped German mapping (the 299 Wahlkreise of 2025, about 8,200 postcodes)
    and returns its postcodes (the generated signatures spread over them)."""
    from django.core.management import call_command

    from officials.models import PostcodeArea

    call_command("load_political_data", "de", "--no-recount", verbosity=0)
    codes = sorted(set(PostcodeArea.objects.filter(country="DE").values_list("postcode", flat=True)))
    log(f"postcode mapping: {len(codes)} German postcodes")
    return codes


# --- gunicorn -------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def worker_memory(self) -> dict[int, dict[str, int]]:
        """VmHWM (peak RSS since start) and VmRSS of each worker, in kB."""
        memory = {}
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.MULTILINE))
            memory[pid] = {key: int(value) for key, value in values.items()}
        return memory

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_start() -> Server:
    port = free_port()
    OUTPUT_DIR.mkdir(exist_ok=True)
    log_path = OUTPUT_DIR / "bench-gunicorn.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "campaign.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "4",
                "--worker-class",
                "sync",
                "--timeout",
                "300",
                "--log-level",
                "warning",
            ],
            cwd=REPO_ROOT,
            env=bench_env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, port=port, log_path=log_path)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(server.base_url + "/healthz", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-3000:]) from None
            time.sleep(0.3)
    while len(server.worker_pids()) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    return server


# --- Measuring ------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    duration_us: int
    non2xx: int
    socket_errors: int
    p50_us: int
    p90_us: int
    p99_us: int
    mean_us: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6)


def wrk(
    url: str, *, script: str, args: list[str] | None = None, duration: int = DURATION, env=None
) -> WrkResult:
    assert url.startswith("http://127.0.0.1:"), "the benchmark only loads the local server"
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "lua" / script),
        url,
    ]
    if args:
        command += ["--", *args]
    output = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
        timeout=duration + 60,
    ).stdout
    line = next((line for line in output.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    return WrkResult(**json.loads(line.removeprefix("BENCH_JSON ")))


@dataclass
class Comparison:
    name: str
    candidate_label: str
    baseline_label: str
    unit: str
    higher_is_better: bool
    target: float
    candidate: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        candidate, baseline = statistics.median(self.candidate), statistics.median(self.baseline)
        # Throughput: candidate / baseline (higher is better); time: candidate / baseline (lower).
        return candidate / baseline

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def report(self) -> str:
        fmt = "{:,.0f}" if self.unit.endswith("/s") else "{:.3f}"
        runs_c = ", ".join(fmt.format(v) for v in self.candidate)
        runs_b = ", ".join(fmt.format(v) for v in self.baseline)
        sign = ">=" if self.higher_is_better else "<="
        lines = [
            f"{self.name}: {self.ratio:.2f}x (target {sign} {self.target}x) {'MET' if self.met else 'MISSED'}",
            f"  {self.candidate_label}: median {fmt.format(statistics.median(self.candidate))} {self.unit} (runs: {runs_c})",
            f"  {self.baseline_label}: median {fmt.format(statistics.median(self.baseline))} {self.unit} (runs: {runs_b})",
        ]
        lines += [f"  {key}: {value}" for key, value in self.extra.items()]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ratio": round(self.ratio, 3),
            "target": self.target,
            "met": self.met,
            "unit": self.unit,
            "candidate": self.candidate,
            "baseline": self.baseline,
            **self.extra,
        }


def interleaved(
    comparison: Comparison,
    run_baseline: Callable[[], float],
    run_candidate: Callable[[], float],
    rounds: int = ROUNDS,
) -> Comparison:
    for round_number in range(1, rounds + 1):
        comparison.baseline.append(run_baseline())
        comparison.candidate.append(run_candidate())
        log(
            f"{comparison.name} round {round_number}/{rounds}: baseline {comparison.baseline[-1]:.3f}, "
            f"candidate {comparison.candidate[-1]:.3f}"
        )
    return comparison


def latency_ms(results: list[WrkResult], attr: str) -> float:
    return round(statistics.median(getattr(r, attr) for r in results) / 1000, 2)


# --- The benchmarks -------------------------------------------------------------------------


def bench_sign(server: Server, fixtures: Fixtures) -> Comparison:
    sign_url = f"{server.base_url}/api/v1/petitions/{SIGN_SLUG}/signatures/"
    insert_url = f"{server.base_url}/bench/insert/"
    env = {"BENCH_CONSENT_VERSION": fixtures.consent_version}
    runs: dict[str, list[WrkResult]] = {"sign": [], "insert": []}
    counter = iter(range(1, 10_000))

    def run(kind: str, url: str) -> float:
        result = wrk(url, script="sign.lua", args=[f"{RUN_ID}{kind[0]}{next(counter)}"], env=env)
        if result.non2xx or result.socket_errors:
            raise RuntimeError(
                f"{kind}: {result.non2xx} non-2xx answers, {result.socket_errors} socket errors"
            )
        runs[kind].append(result)
        return result.rps

    # Warm up both (imports, connections, caches) before measuring.
    wrk(insert_url, script="sign.lua", args=[f"{RUN_ID}wi"], duration=2, env=env)
    wrk(sign_url, script="sign.lua", args=[f"{RUN_ID}ws"], duration=2, env=env)
    comparison = Comparison(
        name="sign",
        candidate_label="POST /api/v1/petitions/{slug}/signatures/ (unique signers)",
        baseline_label="bare Django view, one INSERT",
        unit="req/s",
        higher_is_better=True,
        target=0.6,
    )
    interleaved(comparison, lambda: run("insert", insert_url), lambda: run("sign", sign_url))
    comparison.extra = {
        "sign latency p50/p99 ms": f"{latency_ms(runs['sign'], 'p50_us')} / {latency_ms(runs['sign'], 'p99_us')}",
        "insert latency p50/p99 ms": f"{latency_ms(runs['insert'], 'p50_us')} / {latency_ms(runs['insert'], 'p99_us')}",
        "signatures/s (median)": round(statistics.median(comparison.candidate)),
    }
    return comparison


def bench_count(server: Server, fixtures: Fixtures) -> Comparison:
    count_url = f"{server.base_url}/api/v1/petitions/{SIGN_SLUG}/count/"
    json_url = f"{server.base_url}/bench/json/"
    runs: dict[str, list[WrkResult]] = {"count": [], "json": []}

    def run(kind: str, url: str) -> float:
        result = wrk(url, script="get.lua")
        if result.non2xx or result.socket_errors:
            raise RuntimeError(
                f"{kind}: {result.non2xx} non-2xx answers, {result.socket_errors} socket errors"
            )
        runs[kind].append(result)
        return result.rps

    wrk(json_url, script="get.lua", duration=2)
    wrk(count_url, script="get.lua", duration=2)
    comparison = Comparison(
        name="count",
        candidate_label="GET /api/v1/petitions/{slug}/count/",
        baseline_label="bare Django JSON view",
        unit="req/s",
        higher_is_better=True,
        target=0.8,
    )
    interleaved(comparison, lambda: run("json", json_url), lambda: run("count", count_url))
    comparison.extra = {
        "count latency p50/p99 ms": f"{latency_ms(runs['count'], 'p50_us')} / {latency_ms(runs['count'], 'p99_us')}",
        "bare JSON latency p50/p99 ms": f"{latency_ms(runs['json'], 'p50_us')} / {latency_ms(runs['json'], 'p99_us')}",
    }
    return comparison


def export_copy_sql(petition_id: int) -> str:
    """The baseline: the export's columns as stored, no formatting, same rows and order."""
    from petitions.exports import SIGNATURE_EXPORT_FIELDS

    columns = ", ".join(f'"{name}"' for name in SIGNATURE_EXPORT_FIELDS)
    return (
        f"COPY (SELECT {columns} FROM petitions_signature WHERE petition_id = {int(petition_id)} "  # noqa: S608
        'ORDER BY "id") TO STDOUT WITH CSV'
    )


def bench_export(server: Server, fixtures: Fixtures) -> Comparison:
    assert fixtures.export_petition_id is not None
    sql = export_copy_sql(fixtures.export_petition_id)
    path = f"/api/v1/staff/petitions/{EXPORT_SLUG}/signatures.csv"
    sizes: dict[str, int] = {}

    def run_copy() -> float:
        started = time.perf_counter()
        result = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{PG}/{DB_NAME}", "-c", sql],
            stdout=subprocess.PIPE,
            check=True,
        )
        elapsed = time.perf_counter() - started
        sizes["copy_bytes"] = len(result.stdout)
        sizes["copy_rows"] = result.stdout.count(b"\n")
        return elapsed

    def run_endpoint() -> float:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        connection.request("GET", path, headers={"Authorization": f"Token {fixtures.token}"})
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"export: HTTP {response.status}: {response.read(500)!r}")
        total = lines = 0
        while chunk := response.read(256 * 1024):
            total += len(chunk)
            lines += chunk.count(b"\n")
        connection.close()
        elapsed = time.perf_counter() - started
        sizes["endpoint_bytes"] = total
        sizes["endpoint_rows"] = lines - 1  # the header
        return elapsed

    memory_before = server.worker_memory()
    run_endpoint()  # warm-up: the first request of a worker imports the export modules
    comparison = Comparison(
        name="export",
        candidate_label=f"GET {path} ({ROWS:,} signatures)",
        baseline_label="psql COPY (SELECT same columns) TO STDOUT WITH CSV",
        unit="s",
        higher_is_better=False,
        target=1.5,
    )
    interleaved(comparison, run_copy, run_endpoint)
    memory_after = server.worker_memory()
    peak_mb = max(m["VmHWM"] for m in memory_after.values()) / 1024
    comparison.extra = {
        "rows (endpoint / COPY)": f"{sizes['endpoint_rows']:,} / {sizes['copy_rows']:,}",
        "bytes (endpoint / COPY)": f"{sizes['endpoint_bytes']:,} / {sizes['copy_bytes']:,}",
        "worker RSS before export MB": ", ".join(f"{m['VmRSS'] / 1024:.0f}" for m in memory_before.values()),
        "worker peak RSS (VmHWM) after exports MB": ", ".join(
            f"{m['VmHWM'] / 1024:.0f}" for m in memory_after.values()
        ),
        "peak RSS MB (max over workers)": round(peak_mb, 1),
        "peak RSS target < 150 MB": "MET" if peak_mb < 150 else "MISSED",
    }
    if sizes["endpoint_rows"] != sizes["copy_rows"]:
        raise RuntimeError(f"export: {sizes['endpoint_rows']} rows, COPY gives {sizes['copy_rows']}")
    return comparison


def constituency_baseline_sql() -> str:
    """The bare GROUP BY: counted signatures per constituency, each attributed to the
    constituency with the largest share of its postcode; unknown postcodes in one bucket."""
    return """
        WITH best AS (
            SELECT DISTINCT ON (country, postcode) country, postcode, constituency_id
            FROM officials_postcodearea
            ORDER BY country, postcode, share DESC, constituency_id
        )
        SELECT best.constituency_id, count(*)
        FROM petitions_signature AS s
        LEFT JOIN best ON best.country = s.country AND best.postcode = s.postcode
        WHERE s.petition_id = %s AND s.counted
        GROUP BY best.constituency_id
    """


def bench_constituency(server: Server | None, fixtures: Fixtures) -> Comparison:
    from django.db import connection

    from officials import selectors
    from petitions.models import Petition

    petition = Petition.objects.get(pk=fixtures.export_petition_id)
    sql = constituency_baseline_sql()
    results: dict[str, Any] = {}

    def run_sql() -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [petition.pk])
            results["sql"] = cursor.fetchall()
        return time.perf_counter() - started

    def run_selector() -> float:
        started = time.perf_counter()
        totals = selectors.constituency_totals_get(petition=petition)
        results["selector"] = list(totals) if not isinstance(totals, dict) else totals
        return time.perf_counter() - started

    run_sql()
    run_selector()
    comparison = Comparison(
        name="constituency",
        candidate_label="officials.selectors.constituency_totals_get",
        baseline_label="bare SQL GROUP BY over the signatures",
        unit="s",
        higher_is_better=False,
        target=1.2,
    )
    interleaved(comparison, run_sql, run_selector, rounds=max(ROUNDS, 5))
    sql_total = sum(count for constituency_id, count in results["sql"] if constituency_id is not None)
    comparison.extra = {
        "constituencies (SQL)": sum(
            1 for constituency_id, _ in results["sql"] if constituency_id is not None
        ),
        "signatures assigned to a constituency (SQL)": f"{sql_total:,}",
        "selector result size": len(results["selector"]),
    }
    return comparison


# --- Mail drain -----------------------------------------------------------------------------


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """A local aiosmtpd that accepts and discards every message, as its own process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _existing_signatures_grow(*, petition_id: int, to: int, have: int) -> int:
    """Tops the mail petition up to `to` signatures with one INSERT ... SELECT and no ANALYZE:
    the statistics stay those of the smaller table, as in a rush autoanalyze has not caught up
    with. Returns the new size."""
    from django.db import connection

    if to <= have:
        return have
    log(f"mail: growing the petition from {have:,} to {to:,} existing signatures (no ANALYZE)")
    with connection.cursor() as cursor:
        cursor.execute(
            signature_insert_sql(rows=to - have, start=have + 1).replace("'signer' ||", "'existing' ||"),
            {"petition_id": petition_id, "codes": None},
        )
    return to


def _worker_drain(*, petition: Any, port: int, concurrency: int) -> float:
    """Queues MAILS confirmation mails and times a real Celery worker with `concurrency`
    processes draining them to the sink; mails/s."""
    from django.db import connection

    from campaign.models import OutgoingEmail

    batch = uuid.uuid4().hex[:6]
    ids = _confirmation_mails_queue(petition=petition, batch=batch)
    first, last = min(ids), max(ids)
    env = {**bench_env(), "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_URL": ""}
    OUTPUT_DIR.mkdir(exist_ok=True)
    log_path = OUTPUT_DIR / f"bench-worker-{batch}.log"
    with open(log_path, "wb") as log_file:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "campaign",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                f"--queues={env['CELERY_TASK_DEFAULT_QUEUE']}",
                f"--hostname=bench-{batch}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # The clock starts when the worker consumes, not while it imports.
        deadline = time.monotonic() + 120
        while "ready." not in log_path.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mail drain: the worker did not start; see {log_path}")
            time.sleep(0.05)
        started = time.perf_counter()
        deadline = time.monotonic() + 3600
        pending = OutgoingEmail.objects.filter(
            pk__gte=first,
            pk__lte=last,
            status__in=[OutgoingEmail.Status.QUEUED, OutgoingEmail.Status.INFLIGHT],
        )
        while (left := pending.count()) > 0:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mail drain: {left} of {len(ids)} not sent; see {log_path}")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    connection.close()
    return len(ids) / elapsed


def bench_mail(server: Server | None, fixtures: Fixtures) -> list[Comparison]:
    """The drain at each size of MAIL_SIZES existing signatures on the mail petition: a
    worker with 2 processes against the smtplib loop (the ratio), and with 1 process."""
    import smtplib
    from email.message import EmailMessage

    from petitions.models import Petition, Signature

    petition = Petition.objects.get(pk=fixtures.sign_petition_id)
    comparisons = []
    with smtp_sink() as port:

        def run_smtplib() -> float:
            started = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for i in range(MAILS):
                    message = EmailMessage()
                    message["From"] = "Kampagne <kampagne@example.org>"
                    message["To"] = f"plain{i}@example.org"
                    message["Subject"] = "Bitte bestätigen Sie Ihre Unterschrift"
                    message.set_content(
                        "Bitte bestätigen: https://example.org/signatures/confirm/?token=x" * 5
                    )
                    smtp.send_message(message)
            return MAILS / (time.perf_counter() - started)

        for size in MAIL_SIZES:
            have = Signature.objects.filter(petition=petition).count()
            _existing_signatures_grow(petition_id=petition.pk, to=size, have=have)
            one_process: list[float] = []

            def run_workers(one_process: list[float] = one_process) -> float:
                one_process.append(_worker_drain(petition=petition, port=port, concurrency=1))
                return _worker_drain(petition=petition, port=port, concurrency=2)

            comparison = Comparison(
                name=f"mail@{size:,}",
                candidate_label=f"{MAILS:,} confirmation mails, real Celery worker (2 processes), {size:,} existing signatures",
                baseline_label=f"plain smtplib loop, {MAILS:,} messages over one connection",
                unit="mails/s",
                higher_is_better=True,
                target=0.5,
            )
            interleaved(comparison, run_smtplib, run_workers, rounds=min(ROUNDS, 2))
            comparison.extra = {
                "1 process mails/s (runs)": ", ".join(f"{v:,.0f}" for v in one_process),
                "1 process ratio": round(
                    statistics.median(one_process) / statistics.median(comparison.baseline), 3
                ),
                "existing signatures": size,
            }
            comparisons.append(comparison)
    return comparisons


def _confirmation_mails_queue(*, petition: Any, batch: str) -> list[int]:
    """MAILS pending signatures, each with its confirmation mail queued through the real
    service (the outbox row and the enqueue after commit), as the sign endpoint writes them."""
    import redis
    from django.db import transaction

    from campaign.models import OutgoingEmail
    from petitions.selectors import petition_for_signing_get
    from petitions.signing import signature_create
    from petitions.validation import signature_input_validate

    # The signing benchmark left its own mails queued: they are not part of this drain.
    redis.Redis.from_url(REDIS_URL).delete(bench_env()["CELERY_TASK_DEFAULT_QUEUE"])
    OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED).update(
        status=OutgoingEmail.Status.CANCELED
    )
    log(f"mail: queueing {MAILS:,} confirmation mails")
    for_signing = petition_for_signing_get(slug=petition.slug)
    # Supporters write from the big providers (the fraud checks' allow-list) and from their
    # own addresses, so the silent checks pass as they do for real signers.
    providers = ["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.com", "yahoo.de", "posteo.de"]
    before = OutgoingEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # In transactions of 500, so the set-up does not wait for 10,000 commits; each mail is
    # still enqueued after its transaction commits, as on the sign path.
    for start in range(0, MAILS, 500):
        with transaction.atomic():
            for i in range(start, min(start + 500, MAILS)):
                data = signature_input_validate(
                    {
                        "first_name": "Erika",
                        "last_name": "Mustermann",
                        "email": f"mail{batch}x{i}@{providers[i % len(providers)]}",
                        "postcode": "10115",
                        "country": "DE",
                        "privacy_consent": True,
                        "consent_version": for_signing.consent_version,
                        "locale": "de",
                    },
                    consent_version=for_signing.consent_version,
                )
                signature_create(
                    petition=for_signing, data=data, ip=f"2001:db8:{batch[:4]}::{i:x}", origin=""
                )
    return list(OutgoingEmail.objects.filter(pk__gt=before).values_list("pk", flat=True))


# --- Main -----------------------------------------------------------------------------------

BENCHES: dict[str, Callable[..., Comparison | list[Comparison]]] = {
    "sign": bench_sign,
    "count": bench_count,
    "export": bench_export,
    "constituency": bench_constituency,
    "mail": bench_mail,
}


def redis_cleanup() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [f"bench-{RUN_ID}", *client.scan_iter(match=f"bench-{RUN_ID}*", count=1000)]
    keys += list(client.scan_iter(match=f"*bench-{RUN_ID}*", count=1000))
    if keys:
        client.delete(*set(keys))


def results_table(results: dict[str, Comparison]) -> str:
    """One table of every figure: ratio, target, and the medians of candidate and baseline."""
    header = ("benchmark", "ratio", "target", "", "candidate (median)", "baseline (median)")
    rows = [header]
    for comparison in results.values():
        fmt = "{:,.0f}" if comparison.unit.endswith("/s") else "{:.3f}"
        sign = ">=" if comparison.higher_is_better else "<="
        rows.append(
            (
                comparison.name,
                f"{comparison.ratio:.2f}x",
                f"{sign} {comparison.target}x",
                "MET" if comparison.met else "MISSED",
                f"{fmt.format(statistics.median(comparison.candidate))} {comparison.unit}",
                f"{fmt.format(statistics.median(comparison.baseline))} {comparison.unit}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    selected = [name for name in argv if name in BENCHES] or ALL
    unknown = [name for name in argv if name not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}", file=sys.stderr)
        return 2
    log(f"benchmarks: {', '.join(selected)}; {ROUNDS} rounds of {DURATION}s, wrk -t{THREADS} -c{CONNECTIONS}")
    log(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared with other processes)"
    )
    database_create()
    django_setup()
    server = None
    results: dict[str, Comparison] = {}
    failed: list[str] = []
    try:
        fixtures = fixtures_create(with_rows=bool({"export", "constituency"} & set(selected)))
        from django.db import connections

        connections.close_all()
        if {"sign", "count", "export"} & set(selected):
            log("starting gunicorn (4 sync workers, DEBUG=false)")
            server = server_start()
        for name in selected:
            log(f"--- {name}")
            try:
                outcome = BENCHES[name](server, fixtures)
                for comparison in outcome if isinstance(outcome, list) else [outcome]:
                    results[comparison.name] = comparison
            except Exception as exc:  # one failing benchmark must not hide the others' figures
                log(f"{name} failed: {type(exc).__name__}: {exc}")
                failed.append(name)
            connections.close_all()
    finally:
        if server:
            server.stop()
        redis_cleanup()
        if not KEEP_DB:
            database_drop()
    load = os.getloadavg()
    print()
    print(
        f"=== Results ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; shared machine: indicative) ==="
    )
    for comparison in results.values():
        print(comparison.report())
    print()
    print(results_table(results))
    RESULTS_PATH.write_text(
        json.dumps(
            {
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "cores": os.cpu_count(),
                "load_average": load,
                "settings": {"duration": DURATION, "rounds": ROUNDS, "rows": ROWS, "mails": MAILS},
                "results": {name: c.as_dict() for name, c in results.items()},
                "failed": failed,
            },
            indent=2,
            default=str,
        )
    )
    log(f"written to {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
