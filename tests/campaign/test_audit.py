"""The audit trail: every export and staff change leaves an entry with ids, counts and filters
(never personal data); nobody can change or delete one, except the retention purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from campaign.audit import audit_entries_purge, audit_record
from campaign.models import AuditEntry, AuditEntryImmutable
from petitions.models import Signature
from tests.conftest import staff_api_client, staff_login, staff_user_create
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(django_user_model):
    return staff_user_create(django_user_model, "officer", "privacy officer")


def test_a_data_export_download_is_in_the_audit_trail_with_its_row_count(petition, django_user_model):
    SignatureFactory.create_batch(3, petition=petition, status="confirmed")
    exporter = staff_user_create(django_user_model, "exporter", "data export")

    response = staff_api_client(exporter).get(
        f"/api/v1/staff/petitions/{petition.slug}/signatures.csv",
        {"status": "confirmed"},
        REMOTE_ADDR="203.0.113.9",
    )
    b"".join(response.streaming_content)  # the row count is recorded when the stream ends

    start, end = AuditEntry.objects.filter(actor_username="exporter", action__startswith="export").order_by(
        "id"
    )
    assert (start.action, start.object_type, start.actor_id) == (
        "export",
        "petitions.signatures",
        exporter.pk,
    )
    assert start.details["filters"]["status"] == "confirmed"
    assert start.details["filters"]["petition"] == petition.slug
    assert len(start.ip_hash) == 64 and "203.0.113.9" not in start.ip_hash
    assert (end.action, end.row_count, end.object_id) == ("export.finished", 3, start.object_id)
    # No personal data in the entries, only ids, counts and filters.
    stored = str(list(AuditEntry.objects.values()))
    assert "example.org" not in stored and "Mustermann" not in stored


def test_an_entry_cannot_be_changed_or_deleted_through_the_orm(officer):
    entry = audit_record(actor=officer, action="test.action")

    entry.action = "changed"
    with pytest.raises(AuditEntryImmutable):
        entry.save()
    with pytest.raises(AuditEntryImmutable):
        entry.delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="changed")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.action"


@pytest.mark.parametrize(
    "sql", ["UPDATE campaign_auditentry SET action = 'x'", "DELETE FROM campaign_auditentry"]
)
def test_the_database_refuses_to_change_or_delete_an_entry(officer, sql):
    audit_record(actor=officer, action="test.action")

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEntry.objects.filter(action="test.action").count() == 1


def test_the_purge_deletes_only_entries_past_the_retention(officer, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    AuditEntry.objects.create(action="old", created_at=timezone.now() - timedelta(days=31))
    AuditEntry.objects.create(action="recent", created_at=timezone.now() - timedelta(days=29))

    assert audit_entries_purge() == 1
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["recent"]


def test_a_retention_of_zero_keeps_everything(officer, settings):
    settings.AUDIT_RETENTION_DAYS = 0
    audit_record(actor=officer, action="kept")

    assert audit_entries_purge(now=timezone.now() + timedelta(days=10_000)) == 0
    assert AuditEntry.objects.filter(action="kept").exists()


def test_the_privacy_officer_reads_the_trail_with_filters(officer, django_user_model):
    other = staff_user_create(django_user_model, "other", "viewer")
    client = staff_api_client(officer)  # writes a token.create entry of its own
    audit_record(actor=other, action="export")
    audit_record(actor=officer, action="signature.flag", row_count=2)

    everything = client.get("/api/v1/staff/audit/").json()
    assert [e["action"] for e in everything] == ["signature.flag", "export", "token.create"]
    assert [e["actor"] for e in client.get("/api/v1/staff/audit/", {"actor": "other"}).json()] == ["other"]
    assert [
        e["row_count"] for e in client.get("/api/v1/staff/audit/", {"action": "signature.flag"}).json()
    ] == [2]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert client.get("/api/v1/staff/audit/", {"since": later}).json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"), ({"who": "x"}, "who")],
)
def test_bad_audit_filters_are_a_400_naming_the_field(officer, query, field):
    response = staff_api_client(officer).get("/api/v1/staff/audit/", query)

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_audit_csv_holds_the_entries_and_its_download_is_audited(officer):
    audit_record(actor=officer, action="signature.unflag", object_type="petitions.signature", row_count=5)

    response = staff_api_client(officer).get("/api/v1/staff/audit.csv", {"action": "signature.unflag"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()

    assert response.status_code == 200
    assert lines[0].startswith("id,created_at (Europe/Berlin),actor,ip_hash,action,")
    assert len(lines) == 2 and ",signature.unflag,petitions.signature,,5," in lines[1]
    assert AuditEntry.objects.filter(action="export", object_type="campaign.audit").exists()


def test_the_admin_lists_the_trail_read_only(officer):
    entry = audit_record(actor=officer, action="test.action")
    client = staff_login(Client(), officer)

    assert client.get("/admin/campaign/auditentry/", {"action": "test.action"}).status_code == 200
    assert client.get(f"/admin/campaign/auditentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/campaign/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/campaign/auditentry/add/").status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_flag_and_unflag_in_the_admin_are_audited(petition, django_user_model):
    signatures = SignatureFactory.create_batch(2, petition=petition)
    organiser = staff_user_create(django_user_model, "org", "organiser", "data export")
    client = staff_login(Client(), organiser)
    ids = [str(s.pk) for s in signatures]

    for action in ("flag_selected", "unflag_selected"):
        response = client.post("/admin/petitions/signature/", {"action": action, "_selected_action": ids})
        assert response.status_code == 302

    flag, unflag = AuditEntry.objects.filter(action__startswith="signature.").order_by("id")
    assert (flag.action, flag.row_count, sorted(flag.details["ids"])) == ("signature.flag", 2, sorted(ids))
    assert (unflag.action, unflag.actor_username) == ("signature.unflag", "org")
    assert not Signature.objects.filter(is_flagged=True).exists()


def test_an_invalidation_is_audited_with_its_filters(petition, staff_client):
    SignatureFactory.create_batch(2, petition=petition, email_domain="spam.example")

    response = staff_client.post(
        f"/api/v1/staff/petitions/{petition.slug}/invalidations/",
        {"email_domain": "spam.example", "dry_run": False},
        format="json",
    )

    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="invalidation.create")
    assert (entry.object_id, entry.row_count) == (str(response.json()["id"]), 2)
    assert entry.details == {"petition": petition.slug, "email_domain": "spam.example"}


def test_role_changes_in_the_user_admin_are_audited(django_user_model):
    from django.contrib.auth.models import Group

    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    member = staff_user_create(django_user_model, "member", "viewer")
    client = staff_login(Client(), admin)
    page = client.get(f"/admin/auth/user/{member.pk}/change/")
    assert page.status_code == 200

    form = {
        "username": "member",
        "is_active": "on",
        "is_staff": "on",
        "groups": [Group.objects.get(name="finance").pk],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = client.post(f"/admin/auth/user/{member.pk}/change/", form)

    assert response.status_code == 302, response.content[:2000]
    entry = AuditEntry.objects.get(action="role.change")
    assert (entry.actor_username, entry.object_id) == ("root", str(member.pk))
    assert entry.details == {"added": ["finance"], "removed": ["viewer"]}


def test_a_change_in_an_admin_form_is_audited_with_the_field_names_only(petition, django_user_model):
    organiser = staff_user_create(django_user_model, "org", "organiser")
    client = staff_login(Client(), organiser)
    page = client.get(f"/admin/petitions/petition/{petition.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "campaign": petition.campaign_id,
            "offline_count": 1234,
            "opens_at_0": "",
            "opens_at_1": "",
            "closes_at_0": "",
            "closes_at_1": "",
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        }
    )
    data = {k: v for k, v in data.items() if k not in {"opens_at", "closes_at"}}

    response = client.post(f"/admin/petitions/petition/{petition.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = AuditEntry.objects.get(action="admin.change")
    assert (entry.object_type, entry.object_id, entry.actor_username) == (
        "petitions.petition",
        str(petition.pk),
        "org",
    )
    assert "Offline count" in str(entry.details) and "1234" not in str(entry.details)


def test_a_csv_import_in_the_admin_is_audited(django_user_model):
    from django.core.files.uploadedfile import SimpleUploadedFile

    organiser = staff_user_create(django_user_model, "org", "organiser")
    client = staff_login(Client(), organiser)
    upload = SimpleUploadedFile("officials.csv", b"name,email\nFrau Elbe,elbe@example.org\n")

    assert client.post("/admin/officials/official/import-csv/", {"file": upload}).status_code == 302

    entry = AuditEntry.objects.get(action="import")
    assert (entry.object_type, entry.row_count, entry.actor_username) == ("officials.official", 1, "org")
    assert "elbe" not in str(entry.details)


def test_looking_at_signatures_in_the_admin_is_audited_without_the_search_term(petition, django_user_model):
    signature = SignatureFactory(petition=petition)
    officer = staff_user_create(django_user_model, "dpo", "privacy officer")
    viewer = staff_user_create(django_user_model, "viewer", "viewer")
    client = staff_login(Client(), officer)

    assert client.get("/admin/petitions/signature/", {"q": signature.email}).status_code == 200
    assert client.get(f"/admin/petitions/signature/{signature.pk}/change/").status_code == 200
    assert staff_login(Client(), viewer).get("/admin/petitions/signature/").status_code == 403

    listing, row = AuditEntry.objects.filter(action__startswith="admin.").order_by("id")
    assert (listing.action, listing.details, listing.actor_username) == (
        "admin.list",
        {"params": ["q"]},
        "dpo",
    )
    assert (row.action, row.object_type, row.object_id) == (
        "admin.view",
        "petitions.signature",
        str(signature.pk),
    )
    assert not AuditEntry.objects.filter(actor_username="viewer", action__startswith="admin.").exists()
