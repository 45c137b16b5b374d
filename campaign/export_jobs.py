"""Staff exports of any size as background jobs: the staff page (or the API) creates an
ExportJob, a worker writes the file to the default storage (MEDIA_ROOT) while it keeps the
progress up to date, the download is audited, and a beat task deletes the file when it expires
(EXPORT_JOB_EXPIRY_HOURS, 24 by default).

The core knows no app: each app registers its export kinds (`export_kind_register`) with the
permission it needs, a function that checks the parameters, one that counts the rows and one
that yields them (read with a server-side cursor, so the worker never holds them all). The
file itself is written by campaign.exports' streaming CSV and XLSX writers (xlsxwriter in
constant_memory mode), chunk by chunk into a temporary file, which the storage then takes over.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaign.audit import audit_record
from campaign.exceptions import ApplicationError
from campaign.exports import Row, csv_rows_stream, xlsx_rows_stream
from campaign.models import ExportJob, ExportLog
from campaign.permissions import user_has_staff_permission

logger = logging.getLogger(__name__)

FORMATS = (ExportLog.Format.CSV, ExportLog.Format.XLSX)


@dataclass(frozen=True)
class ExportKind:
    """One kind of export an app offers. `clean(params)` returns the checked parameters or
    raises ApplicationError naming the field; `count` and `rows` take the cleaned ones."""

    name: str
    label: str
    permission: str
    header: Callable[[], list[str]]
    clean: Callable[[dict[str, Any]], dict[str, Any]]
    count: Callable[[dict[str, Any]], int]
    rows: Callable[[dict[str, Any]], Iterable[Row]]
    filename: Callable[[dict[str, Any]], str]
    # Parameters the staff page asks for: name -> label.
    fields: tuple[tuple[str, str], ...] = ()
    sheet_name: str = "Export"


_kinds: dict[str, ExportKind] = {}


def export_kind_register(kind: ExportKind) -> ExportKind:
    _kinds[kind.name] = kind
    return kind


def export_kind_get(name: str) -> ExportKind | None:
    return _kinds.get(name)


def export_kind_names() -> list[str]:
    return sorted(_kinds)


def export_kinds_for_user(user: Any) -> list[ExportKind]:
    return [kind for kind in _kinds.values() if user_has_staff_permission(user, kind.permission)]


def export_permissions() -> tuple[str, ...]:
    """Every permission some registered kind needs: holding one lets a user see the page."""
    return tuple(sorted({kind.permission for kind in _kinds.values()}))


# --- Creating, reading ----------------------------------------------------------------------


def export_job_create(*, user: Any, kind: str, format: str, params: dict[str, Any]) -> ExportJob:
    """Checks the request, writes the job and hands it to a worker once the transaction
    commits. 400 naming the field on bad input, 403 when the user's roles do not cover it."""
    export_kind = _kinds.get(kind)
    if export_kind is None:
        raise ApplicationError("Unknown export kind.", fields={"kind": ["Unknown export kind."]})
    if format not in FORMATS:
        raise ApplicationError("Unknown format.", fields={"format": ["Choose csv or xlsx."]})
    if not user_has_staff_permission(user, export_kind.permission):
        raise ApplicationError(
            "Your staff roles do not allow this.", code="permission_denied", status_code=403
        )
    cleaned = export_kind.clean(params)
    with transaction.atomic():
        job = ExportJob.objects.create(
            user=user, username=user.get_username(), kind=kind, format=format, params=cleaned
        )
        audit_record(
            actor=user,
            action="export.job_created",
            object_type=kind,
            object_id=job.pk,
            details={"export_job_id": job.pk, "format": format, "filters": cleaned},
        )
        export_job_enqueue(export_job_id=job.pk)
    return job


def export_job_enqueue(*, export_job_id: int) -> None:
    from campaign.tasks import export_job_run_task

    transaction.on_commit(lambda: export_job_run_task.delay(export_job_id), robust=True)


def export_jobs_list(*, user: Any, limit: int = 50) -> list[ExportJob]:
    """The jobs of the kinds the user's roles allow, newest first: the staff holding a role
    share its exports (each download is audited with who took it)."""
    allowed = [kind.name for kind in export_kinds_for_user(user)]
    return list(ExportJob.objects.filter(kind__in=allowed)[:limit])


def export_job_get(*, user: Any, export_job_id: int) -> ExportJob:
    """A job of a kind the user's roles allow: 404 when unknown, 403 for another role's."""
    job = ExportJob.objects.filter(pk=export_job_id).first()
    if job is None:
        raise ApplicationError("No such export.", code="export_not_found", status_code=404)
    export_kind = _kinds.get(job.kind)
    if export_kind is None or not user_has_staff_permission(user, export_kind.permission):
        raise ApplicationError(
            "Your staff roles do not allow this.", code="permission_denied", status_code=403
        )
    return job


def export_job_download_open(*, user: Any, export_job_id: int) -> tuple[ExportJob, Any]:
    """The finished file, opened from the storage; every download is audited. 409 while the
    job runs, 410 once it expired."""
    job = export_job_get(user=user, export_job_id=export_job_id)
    if job.status == ExportJob.Status.EXPIRED or (job.expires_at and job.expires_at <= timezone.now()):
        raise ApplicationError("This export has expired.", code="export_expired", status_code=410)
    if job.status != ExportJob.Status.DONE:
        raise ApplicationError("This export is not ready yet.", code="export_not_ready", status_code=409)
    handle = default_storage.open(job.file, "rb")
    audit_record(
        actor=user,
        action="export.download",
        object_type=job.kind,
        object_id=job.pk,
        row_count=job.rows_written,
        details={"export_job_id": job.pk, "format": job.format, "filters": job.params},
    )
    return job, handle


def export_job_as_dict(job: ExportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "format": job.format,
        "params": job.params,
        "username": job.username,
        "status": job.status,
        "percent": job.percent,
        "rows_written": job.rows_written,
        "total_rows": job.total_rows,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "expires_at": job.expires_at.isoformat() if job.expires_at else None,
        "download_url": reverse("staff-export-download", args=[job.pk])
        if job.status == job.Status.DONE
        else None,
        "error": job.error,
    }


# --- The worker's part ----------------------------------------------------------------------


def _counted(rows: Iterable[Row], *, export_job_id: int, every: int) -> Iterator[Row]:
    count = 0
    for row in rows:
        yield row
        count += 1
        if count % every == 0:
            ExportJob.objects.filter(pk=export_job_id).update(rows_written=count)


def export_job_run(*, export_job_id: int) -> bool:
    """Writes the job's file. Claims the job with a conditional update, so a task delivered
    twice writes it once; returns False when there was nothing to do."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=export_job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=now
    )
    if not claimed:
        return False
    job = ExportJob.objects.get(pk=export_job_id)
    export_kind = _kinds.get(job.kind)
    try:
        if export_kind is None:
            raise LookupError(f"export kind {job.kind!r} is not registered")
        total = export_kind.count(job.params)
        ExportJob.objects.filter(pk=job.pk).update(total_rows=total)
        counter = [0]
        rows = _counted(
            export_kind.rows(job.params), export_job_id=job.pk, every=settings.EXPORT_JOB_PROGRESS_ROWS
        )
        if job.format == ExportLog.Format.XLSX:
            chunks = xlsx_rows_stream(
                header=export_kind.header(), rows=rows, counter=counter, sheet_name=export_kind.sheet_name
            )
        else:
            chunks = csv_rows_stream(header=export_kind.header(), rows=rows, counter=counter)
        filename = f"{export_kind.filename(job.params)}-{timezone.localtime(now):%Y%m%d-%H%M}.{job.format}"
        with tempfile.TemporaryFile() as temporary:
            for chunk in chunks:
                temporary.write(chunk)
            temporary.seek(0)
            stored = default_storage.save(f"exports/{job.pk}/{filename}", File(temporary, name=filename))
    except Exception as exc:
        logger.exception("export job %s failed", export_job_id)
        ExportJob.objects.filter(pk=export_job_id).update(
            status=ExportJob.Status.FAILED, finished_at=timezone.now(), error=type(exc).__name__[:200]
        )
        return False
    finished = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE,
        rows_written=counter[0],
        total_rows=max(total, counter[0]),
        file=stored,
        filename=filename,
        finished_at=finished,
        expires_at=finished + timedelta(hours=settings.EXPORT_JOB_EXPIRY_HOURS),
    )
    audit_record(
        actor=job.user,
        action="export.finished",
        object_type=job.kind,
        object_id=job.pk,
        row_count=counter[0],
        details={"export_job_id": job.pk, "format": job.format},
    )
    logger.info("export job %s: %s rows written", job.pk, counter[0])
    return True


# A job still running this long after it started lost its worker (the task's time limit is an
# hour): it is marked failed, so the page stops waiting for it. Its file was never stored.
STALE_RUNNING = timedelta(hours=2)


def export_jobs_purge(*, now: datetime | None = None) -> int:
    """Deletes the files of the jobs whose download expired (the job row stays, as the record
    of what was exported), and fails jobs whose worker died. Idempotent: an expired job has no
    file left."""
    now = now or timezone.now()
    ExportJob.objects.filter(status=ExportJob.Status.RUNNING, started_at__lt=now - STALE_RUNNING).update(
        status=ExportJob.Status.FAILED, finished_at=now, error="worker lost"
    )
    purged = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now):
        if job.file:
            default_storage.delete(job.file)
        purged += ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
            status=ExportJob.Status.EXPIRED, file=""
        )
    logger.info("export purge: %s expired files deleted", purged)
    return purged
