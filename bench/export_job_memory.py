"""The memory of a background export (not a test): a real Celery worker (solo pool, so the
task runs in the process measured) writes BENCH_ROWS signatures (1,000,000 by default) as CSV
and as XLSX, and its peak RSS (VmHWM) is read before and after each export.

    .venv/bin/python -m bench.export_job_memory [csv] [xlsx]

Needs PostgreSQL and Redis on 127.0.0.1 (BENCH_PG, BENCH_REDIS_URL); creates and drops its
own database like `make bench`. Target: the export adds less than 50 MB to the idle worker's
peak whatever the size, because the rows come from a server-side cursor and go straight into
the file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench import (
    DB_NAME,
    EXPORT_SLUG,
    KEEP_DB,
    REPO_ROOT,
    ROWS,
    RUN_ID,
    bench_env,
    database_create,
    database_drop,
    django_setup,
    fixtures_create,
    log,
)

GROWTH_TARGET_MB = 50


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def main(formats: list[str]) -> int:
    database_create()
    media = tempfile.mkdtemp(prefix="bench-media-")
    env = {**bench_env(), "MEDIA_ROOT": media}
    worker = None
    try:
        django_setup()
        from django.conf import settings

        settings.MEDIA_ROOT = media  # this process reads the worker's files: the same storage
        fixtures_create(with_rows=True)
        from django.contrib.auth import get_user_model

        from campaign.export_jobs import export_job_create
        from campaign.models import ExportJob

        user = get_user_model().objects.get(username="bench-staff")
        log_path = Path(media) / "worker.log"
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "campaign", "worker", "--pool=solo", "--loglevel=INFO",
             f"--queues={env['CELERY_TASK_DEFAULT_QUEUE']}", f"--hostname=bench-{RUN_ID}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO_ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        while "ready." not in log_path.read_text(errors="replace"):
            if worker.poll() is not None:
                raise RuntimeError(log_path.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        idle_kb = vm_hwm_kb(worker.pid)
        log(f"worker idle: peak RSS {idle_kb / 1024:.0f} MB")
        met = True
        for fmt in formats:
            started = time.monotonic()
            job = export_job_create(
                user=user, kind="petitions.signatures", format=fmt, params={"petition": EXPORT_SLUG}
            )
            while (job := ExportJob.objects.get(pk=job.pk)).status in {"queued", "running"}:
                time.sleep(0.5)
            seconds = time.monotonic() - started
            peak_kb = vm_hwm_kb(worker.pid)
            size = (Path(media) / job.file).stat().st_size if job.file else 0
            met = met and job.status == "done" and peak_kb - idle_kb < GROWTH_TARGET_MB * 1024
            log(
                f"{fmt}: {job.status}, {job.rows_written:,} rows, {size / 1e6:.0f} MB file in {seconds:.0f}s; "
                f"worker peak RSS {peak_kb / 1024:.0f} MB, {(peak_kb - idle_kb) / 1024:.0f} MB above idle "
                f"(target < {GROWTH_TARGET_MB} MB)"
            )
        return 0 if met else 1
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        if not KEEP_DB:
            database_drop()
        else:
            log(f"kept the database {DB_NAME}")
        shutil.rmtree(media, ignore_errors=True)
        log(f"rows: {ROWS:,}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["csv", "xlsx"]))
