"""The CRM hand-over's parts without a worker: which events are written (and none while it is
off), the signature a CRM checks, the back-off, the sweep, the subscriber CSV with the consent
proof, and the admin's retry action. The deliveries themselves: tests/integration/test_crm_webhooks.py."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from campaign.crm.delivery import backoff_seconds, crm_deliveries_sweep
from campaign.crm.models import CrmDelivery
from campaign.crm.signing import webhook_signature, webhook_signature_valid
from campaign.models import AuditEntry, ConsentRecord, ExportLog
from campaign.privacy.consent import consent_record, consents_withdraw
from campaign.privacy.hashing import address_hash
from petitions.models import Signature
from tests.conftest import free_port, staff_api_client, staff_login, staff_user_create
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.django_db

SECRET = "crm-unit-secret-0123456789"


@pytest.fixture
def crm_on(settings: Any) -> None:
    settings.CRM_WEBHOOK_URL = "http://127.0.0.1:9/never-called"
    settings.CRM_WEBHOOK_SECRET = SECRET


def _consent(signature: Signature, purpose: str = ConsentRecord.Purpose.NEWSLETTER) -> ConsentRecord:
    now = timezone.now()
    return consent_record(
        purpose=purpose,
        subject_type="petitions.signature",
        subject_id=signature.pk,
        email=signature.email,
        scope=signature.petition.slug,
        text_version="v1",
        text_sha256="a" * 64,
        given_at=now - timedelta(minutes=5),
        origin="https://kampagne.example.org/sign",
        confirmed_at=now,
    )


def _confirmed(**kwargs: Any) -> Signature:
    return SignatureFactory(status=Signature.Status.CONFIRMED, confirmed_at=timezone.now(), **kwargs)


def test_nothing_is_written_while_the_crm_is_off(petition):
    _consent(_confirmed(petition=petition))
    assert not CrmDelivery.objects.exists()


def test_a_newsletter_consent_is_a_subscribe_and_the_petition_consent_is_not(crm_on, petition):
    signature = _confirmed(petition=petition, email="lea@example.org")
    _consent(signature, ConsentRecord.Purpose.PETITION)
    _consent(signature)
    _consent(signature)  # a second confirmation click

    [row] = CrmDelivery.objects.all()
    assert row.event == "subscribe" and row.status == "pending"
    assert row.payload["email"] == "lea@example.org" and row.email_hash == address_hash("lea@example.org")
    assert row.payload["consent"]["origin"] == "https://kampagne.example.org/sign"


def test_an_unsubscribe_goes_out_once_the_last_newsletter_consent_of_the_address_ended(crm_on, petition):
    first = _confirmed(petition=petition, email="max@example.org")
    second = _confirmed(email="max@example.org")  # signed another petition too
    _consent(first)
    _consent(second)

    consents_withdraw(how="withdrawn", subject_type="petitions.signature", subject_ids=[first.pk])
    assert not CrmDelivery.objects.filter(event="unsubscribe").exists()  # still subscribed
    consents_withdraw(how="withdrawn", subject_type="petitions.signature", subject_ids=[second.pk])
    [row] = CrmDelivery.objects.filter(event="unsubscribe")
    assert row.payload == {
        "email_hash": address_hash("max@example.org"),
        "how": "withdrawn",
        "occurred_at": row.payload["occurred_at"],
    }


def test_the_signature_fails_for_another_body_secret_or_an_old_timestamp():
    body = b'{"event":"subscribe"}'
    now = 1_800_000_000
    signature = webhook_signature(secret=SECRET, timestamp=now, body=body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    check = {"secret": SECRET, "timestamp": str(now), "body": body, "signature": signature, "now": now + 10}
    assert webhook_signature_valid(**check)
    assert not webhook_signature_valid(**{**check, "body": b'{"event":"erasure"}'})
    assert not webhook_signature_valid(**{**check, "secret": SECRET + "x"})
    assert not webhook_signature_valid(**{**check, "now": now + 301})
    assert not webhook_signature_valid(**{**check, "timestamp": "soon"})


def test_the_back_off_doubles_and_is_capped(settings):
    settings.CRM_WEBHOOK_BACKOFF_SECONDS = 30
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(20) == 1800


def test_the_sweep_takes_back_a_row_whose_worker_died():
    row = CrmDelivery.objects.create(
        event="subscribe", email_hash="0" * 64, status="inflight", attempts=1, claimed_at=timezone.now()
    )
    assert crm_deliveries_sweep()["crm_resent"] == 0  # not stale yet
    result = crm_deliveries_sweep(now=timezone.now() + timedelta(hours=1))
    assert result["crm_resent"] == 1
    row.refresh_from_db()
    assert row.status == "pending" and row.last_error == "worker died mid-delivery"


def test_the_subscriber_csv_holds_the_open_newsletter_consents_with_their_proof(petition, django_user_model):
    subscriber = _confirmed(petition=petition, email="ina@example.org")
    _consent(subscriber)
    _consent(_confirmed(email="ina@example.org"))  # the same address again: one row
    left = _confirmed(petition=petition, email="left@example.org")
    _consent(left)
    consents_withdraw(how="unsubscribed", email_hash=address_hash("left@example.org"))
    _consent(_confirmed(petition=petition, email="petition-only@example.org"), ConsentRecord.Purpose.PETITION)

    exporter = staff_user_create(django_user_model, "crm-export", "data export")
    response = staff_api_client(exporter).get("/api/v1/staff/crm/subscribers.csv")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [r["email"] for r in rows] == ["ina@example.org"]
    assert rows[0]["text_version"] == "v1" and rows[0]["origin"] == "https://kampagne.example.org/sign"
    assert (
        rows[0]["given_at"]
        and rows[0]["confirmed_at"]
        and rows[0]["email_hash"] == address_hash("ina@example.org")
    )
    log = ExportLog.objects.get(kind="crm.subscribers")
    assert log.username == "crm-export" and log.row_count == 1 and log.finished
    assert AuditEntry.objects.filter(action="export", object_type="crm.subscribers").count() == 1


def test_the_admin_retries_the_selected_dead_letters_and_audits_it(
    client: Client, django_user_model, settings
):
    settings.CRM_WEBHOOK_URL = ""  # nothing is published: the row only changes state
    dead = CrmDelivery.objects.create(event="erasure", email_hash="1" * 64, status="dead", attempts=8)
    delivered = CrmDelivery.objects.create(event="subscribe", email_hash="1" * 64, status="delivered")
    staff_login(client, staff_user_create(django_user_model, "org-crm", "organiser"))

    assert client.get("/admin/campaign/crmdelivery/?status__exact=dead").status_code == 200
    response = client.post(
        "/admin/campaign/crmdelivery/", {"action": "retry", "_selected_action": [dead.pk, delivered.pk]}
    )

    assert response.status_code == 302
    dead.refresh_from_db()
    delivered.refresh_from_db()
    assert dead.status == "pending" and dead.attempts == 0 and delivered.status == "delivered"
    assert AuditEntry.objects.filter(action="crm.delivery_retry", object_id=str(dead.pk)).count() == 1


def test_an_unsubscribe_reported_by_the_mail_provider_is_passed_on(crm_on, petition):
    from campaign.privacy.bounces import mail_event_record

    _consent(_confirmed(petition=petition, email="uwe@example.org"))
    assert mail_event_record(event_type="unsubscribe", email="uwe@example.org")
    [row] = CrmDelivery.objects.filter(event="unsubscribe")
    assert row.email_hash == address_hash("uwe@example.org") and row.payload["how"] == "unsubscribed"


def test_an_erasure_drops_the_subscribe_not_sent_yet_and_queues_the_erasure(crm_on, petition):
    from campaign.privacy.erasure import person_erase

    _consent(_confirmed(petition=petition, email="vera@example.org"))
    receipt = person_erase(email="vera@example.org")

    assert receipt.erased["crm"] == {
        "crm_deliveries_dropped": 1,
        "crm_deliveries_blanked": 0,
        "crm_erasure_queued": 1,
    }
    [row] = CrmDelivery.objects.all()
    assert row.event == "erasure" and row.payload["email"] == "vera@example.org"


def test_the_access_export_names_what_was_handed_to_the_crm(crm_on, petition):
    from campaign.privacy.access import person_export

    _consent(_confirmed(petition=petition, email="willi@example.org"))
    [handover] = person_export("willi@example.org")["crm"]
    assert handover["event"] == "subscribe" and handover["status"] == "pending"
    assert person_export("other@example.org")["crm"] == []


def test_an_unreachable_crm_counts_as_an_attempt_and_waits_for_the_back_off(settings, crm_on):
    from campaign.crm.delivery import crm_delivery_send

    settings.CRM_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/closed"
    settings.CRM_WEBHOOK_BACKOFF_SECONDS = 30
    row = CrmDelivery.objects.create(
        event="unsubscribe", email_hash="2" * 64, payload={"how": "unsubscribed"}
    )

    assert crm_delivery_send(crm_delivery_id=row.pk) == 30
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and row.last_error == "ConnectionError"
    assert row.next_attempt_at > timezone.now()
    assert crm_delivery_send(crm_delivery_id=row.pk) is None  # not due yet: an early message does nothing
    row.refresh_from_db()
    assert row.attempts == 1
