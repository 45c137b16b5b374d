"""Background staff exports end to end: a real Celery worker writes the file while the
progress moves, the download is audited, the purge deletes expired files, and roles decide
who may start, follow and download which export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from campaign.export_jobs import export_job_run, export_jobs_purge
from campaign.models import AuditEntry, ExportJob
from petitions.models import Signature
from tests.campaign.test_exports import read_xlsx
from tests.conftest import staff_api_client, staff_login, staff_user_create, wait_until
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.integration

ROWS = 3000


def _signatures(petition: Any, count: int = ROWS) -> None:
    Signature.objects.bulk_create(SignatureFactory.build_batch(count, petition=petition), batch_size=1000)


def _finished(client: Any, job_id: int) -> dict[str, Any]:
    def done() -> Any:
        data = client.get(f"/api/v1/staff/exports/{job_id}/").json()
        return data if data["status"] in {"done", "failed"} else None

    return wait_until(done, timeout=120)


def _start(client: Any, petition: Any, format: str = "csv") -> dict[str, Any]:
    response = client.post(
        "/api/v1/staff/exports/",
        {"kind": "petitions.signatures", "format": format, "params": {"petition": petition.slug}},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_a_worker_writes_thousands_of_rows_and_the_download_is_audited(
    celery_worker, petition, django_user_model
):
    _signatures(petition)
    exporter = staff_user_create(django_user_model, "exporter", "data export")
    client = staff_api_client(exporter)

    job = _start(client, petition)
    assert job["status"] == "queued"
    data = _finished(client, job["id"])

    assert data["status"] == "done", celery_worker.log()[-3000:]
    assert data["percent"] == 100
    assert data["rows_written"] == data["total_rows"] == ROWS
    response = client.get(data["download_url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="signatures-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["id", "created_at (Europe/Berlin)", "status"]
    assert len(rows) == ROWS + 1
    assert {int(row[0]) for row in rows[1:]} == set(Signature.objects.values_list("id", flat=True))
    entry = AuditEntry.objects.get(action="export.download", object_id=str(job["id"]))
    assert entry.actor_username == "exporter"
    assert entry.row_count == ROWS
    assert entry.details["filters"] == {"petition": petition.slug}
    assert AuditEntry.objects.filter(action="export.job_created", object_id=str(job["id"])).exists()


def test_an_xlsx_export_holds_every_row(celery_worker, petition, django_user_model):
    _signatures(petition, 1200)
    client = staff_api_client(staff_user_create(django_user_model, "exporter", "data export"))

    data = _finished(client, _start(client, petition, "xlsx")["id"])

    assert data["status"] == "done"
    response = client.get(data["download_url"])
    sheets = read_xlsx(b"".join(response.streaming_content))
    assert list(sheets) == ["Signatures"]
    assert len(sheets["Signatures"]) == 1201
    assert {int(row[0][1]) for row in sheets["Signatures"][1:]} == set(
        Signature.objects.values_list("id", flat=True)
    )


def test_an_expired_file_is_deleted_by_the_purge(celery_worker, petition, django_user_model, settings):
    _signatures(petition, 10)
    client = staff_api_client(staff_user_create(django_user_model, "exporter", "data export"))
    data = _finished(client, _start(client, petition)["id"])
    job = ExportJob.objects.get(pk=data["id"])
    assert default_storage.exists(job.file)
    assert job.expires_at is not None
    assert job.expires_at - job.finished_at == timedelta(hours=settings.EXPORT_JOB_EXPIRY_HOURS)

    assert export_jobs_purge(now=job.expires_at - timedelta(minutes=1)) == 0
    assert default_storage.exists(job.file)
    assert export_jobs_purge(now=job.expires_at + timedelta(minutes=1)) == 1

    assert not default_storage.exists(job.file)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED
    assert job.file == ""
    response = client.get(f"/api/v1/staff/exports/{job.pk}/download")
    assert response.status_code == 410
    assert response.json()["code"] == "export_expired"
    assert export_jobs_purge(now=job.expires_at + timedelta(hours=1)) == 0  # idempotent


def test_a_viewer_and_the_wrong_role_get_403(petition, django_user_model):
    viewer = staff_api_client(staff_user_create(django_user_model, "viewer", "viewer", "organiser"))
    body = {"kind": "petitions.signatures", "format": "csv", "params": {"petition": petition.slug}}
    assert viewer.post("/api/v1/staff/exports/", body, format="json").status_code == 403
    assert viewer.get("/api/v1/staff/exports/").status_code == 403

    finance = staff_api_client(staff_user_create(django_user_model, "finance", "finance"))
    response = finance.post("/api/v1/staff/exports/", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    job = ExportJob.objects.create(kind="petitions.signatures", format="csv", username="someone")
    assert finance.get(f"/api/v1/staff/exports/{job.pk}/").status_code == 403
    assert finance.get(f"/api/v1/staff/exports/{job.pk}/download").status_code == 403
    assert finance.get("/api/v1/staff/exports/").json() == []
    assert not ExportJob.objects.exclude(pk=job.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nope", "format": "csv"}, "kind"),
        ({"kind": "petitions.signatures", "format": "pdf", "params": {"petition": "x"}}, "format"),
        ({"kind": "petitions.signatures", "format": "csv"}, "petition"),
        ({"kind": "petitions.signatures", "format": "csv", "params": {"petition": "unknown"}}, "petition"),
        (
            {
                "kind": "petitions.signatures",
                "format": "csv",
                "params": {"petition": "{slug}", "status": "x"},
            },
            "status",
        ),
        (
            {"kind": "petitions.signatures", "format": "csv", "params": {"petition": "{slug}", "email": "a"}},
            "email",
        ),
        ({"kind": "donations.donations", "format": "csv", "params": {"campaign": "unknown"}}, "campaign"),
        ({"kind": "petitions.signatures", "format": "csv", "params": "text"}, "params"),
    ],
)
def test_bad_input_answers_400_naming_the_field(petition, django_user_model, body, field):
    client = staff_api_client(staff_user_create(django_user_model, "all", "data export", "finance"))
    if isinstance(body.get("params"), dict):
        body["params"] = {k: v.format(slug=petition.slug) for k, v in body["params"].items()}
    response = client.post("/api/v1/staff/exports/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()), response.json()
    assert not ExportJob.objects.exists()


def test_a_job_delivered_twice_is_written_once(petition, django_user_model):
    _signatures(petition, 5)
    user = staff_user_create(django_user_model, "exporter", "data export")
    job = ExportJob.objects.create(
        user=user,
        username="exporter",
        kind="petitions.signatures",
        format="csv",
        params={"petition": petition.slug},
    )

    assert export_job_run(export_job_id=job.pk) is True
    assert export_job_run(export_job_id=job.pk) is False

    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    assert job.rows_written == 5
    assert AuditEntry.objects.filter(action="export.finished", object_id=str(job.pk)).count() == 1


def test_the_staff_page_starts_an_export_without_javascript(client, petition, django_user_model):
    exporter = staff_user_create(django_user_model, "exporter", "data export")
    staff_login(client, exporter)

    page = client.get("/staff/exports/")
    assert page.status_code == 200
    assert b"Signatures of a petition" in page.content
    assert b"Donations" not in page.content  # the finance role's kind
    response = client.post(
        "/staff/exports/", {"kind": "petitions.signatures", "format": "csv", "petition": petition.slug}
    )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    page = client.get("/staff/exports/")
    assert b'http-equiv="refresh"' in page.content  # the bar moves without JavaScript too
    progress = client.get(f"/staff/exports/{job.pk}/progress.json").json()
    assert progress["status"] == "queued"
    assert progress["download_url"] is None

    bad = client.post(
        "/staff/exports/", {"kind": "petitions.signatures", "format": "csv", "petition": "nope"}
    )
    assert bad.status_code == 400
    assert b"petition" in bad.content


def test_the_staff_page_needs_a_role_and_a_second_factor(client, django_user_model):
    viewer = staff_user_create(django_user_model, "viewer", "viewer")
    assert client.get("/staff/exports/").status_code == 302  # to the login
    staff_login(client, viewer)
    assert client.get("/staff/exports/").status_code == 403


def test_the_beat_schedule_runs_the_purge_on_the_worker(celery_worker, petition, django_user_model):
    from celery.schedules import crontab

    from campaign import settings as production
    from campaign.celery import app

    entry = production.CELERY_BEAT_SCHEDULE["export-jobs-purge"]
    assert entry["task"] == "campaign.export_jobs_purge"
    assert isinstance(entry["schedule"], crontab)
    _signatures(petition, 3)
    client = staff_api_client(staff_user_create(django_user_model, "exporter", "data export"))
    job = ExportJob.objects.get(pk=_finished(client, _start(client, petition)["id"])["id"])
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    app.send_task(entry["task"])

    wait_until(lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.EXPIRED)
    assert not default_storage.exists(job.file)


def test_a_job_whose_worker_died_is_failed_by_the_purge(db):
    started = timezone.now() - timedelta(hours=3)
    stale = ExportJob.objects.create(
        kind="petitions.signatures", format="csv", status="running", started_at=started
    )
    fresh = ExportJob.objects.create(
        kind="petitions.signatures", format="csv", status="running", started_at=timezone.now()
    )

    export_jobs_purge()

    assert ExportJob.objects.get(pk=stale.pk).status == ExportJob.Status.FAILED
    assert ExportJob.objects.get(pk=fresh.pk).status == ExportJob.Status.RUNNING
