"""The CRM hand-over end to end: a real Celery worker POSTs the signed webhooks to a real HTTP
receiver that checks the HMAC as docs/privacy.md tells a CRM to; a newsletter consent
confirmed is a `subscribe`, a one-click unsubscribe an `unsubscribe`, an erasure an `erasure`;
a CRM answering 500 gets retries, then the row is a dead letter that staff retry."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaign.crm.models import CrmDelivery
from campaign.models import OutgoingEmail
from campaign.outbox.sending import outgoing_email_send
from campaign.privacy.hashing import address_hash
from campaign.privacy.suppression import unsubscribe_url
from petitions.confirmation import signature_confirm
from tests.conftest import staff_api_client, staff_user_create, wait_until
from tests.fixtures.petitions import mail_link_token, sign_payload

pytestmark = pytest.mark.integration

SECRET = "crm-test-secret-0123456789abcdef"
MAX_ATTEMPTS = 3


class Receiver:
    """A CRM stand-in: verifies each request's signature and timestamp, answers `answer`."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.answer = 200
        self.failed = 0
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.events.clear()
            self.refused.clear()
            self.answer = 200
            self.failed = 0

    def of(self, event: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["event"] == event]

    def handle(self, headers: Any, body: bytes) -> int:
        timestamp = headers.get("X-Signature-Timestamp", "")
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        )
        with self.lock:
            if not hmac.compare_digest(expected, headers.get("X-Signature", "")):
                self.refused.append("signature")
                return 401
            if abs(time.time() - int(timestamp)) > 300:
                self.refused.append("timestamp")
                return 401
            if self.answer != 200:
                self.failed += 1
                return self.answer
            event = json.loads(body)
            assert headers["X-Event-Id"] == event["id"] and headers["X-Event-Type"] == event["event"]
            self.events.append(event)
            return 200


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            code = state.handle(self.headers, body)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/campaign"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def crm_env(receiver: tuple[Receiver, str]) -> dict[str, str]:
    from django.conf import settings

    return {
        "CRM_WEBHOOK_URL": receiver[1],
        "CRM_WEBHOOK_SECRET": SECRET,
        "CRM_WEBHOOK_QUEUE": f"{settings.CELERY_TASK_DEFAULT_QUEUE}-crm",
        "CRM_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "CRM_WEBHOOK_BACKOFF_SECONDS": "0",
    }


@pytest.fixture(scope="module")
def crm_worker(start_worker_session: Any, crm_env: dict[str, str]) -> Iterator[Any]:
    # Its own queue: the session's worker, without the CRM settings, never takes these tasks.
    worker = start_worker_session(env=crm_env, name="crm", queues=crm_env["CRM_WEBHOOK_QUEUE"])
    yield worker
    worker.stop()


@pytest.fixture
def crm(
    crm_worker: Any,
    receiver: tuple[Receiver, str],
    crm_env: dict[str, str],
    settings: Any,
    transactional_db: Any,
) -> Receiver:
    if crm_worker.process.poll() is not None:
        pytest.fail(f"the CRM worker died:\n{crm_worker.log()[-3000:]}")
    receiver[0].clear()
    settings.CRM_WEBHOOK_URL = crm_env["CRM_WEBHOOK_URL"]
    settings.CRM_WEBHOOK_SECRET = SECRET
    settings.CRM_WEBHOOK_QUEUE = crm_env["CRM_WEBHOOK_QUEUE"]
    settings.CRM_WEBHOOK_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.CRM_WEBHOOK_BACKOFF_SECONDS = 0
    return receiver[0]


@pytest.fixture
def officer(django_user_model: Any) -> APIClient:
    return staff_api_client(staff_user_create(django_user_model, "dpo-crm", "privacy officer"))


def _subscribe(petition: Any, smtp_server: Any, email: str) -> Any:
    """Signs with the newsletter opt-in and clicks the confirmation link."""
    petition.newsletter_consent_text_de = "Ja, ich möchte den Newsletter."
    petition.save()
    response = APIClient().post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email=email, newsletter_consent=True),
        format="json",
        HTTP_ORIGIN="https://kampagne.example.org",
    )
    assert response.status_code in (201, 202), response.content
    for pk in OutgoingEmail.objects.filter(status="queued").values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=pk)
    message = smtp_server.wait_for(email)[-1]
    return signature_confirm(token=mail_link_token(message, "confirm"))


def _delivered(event: str) -> bool:
    return CrmDelivery.objects.filter(event=event, status=CrmDelivery.Status.DELIVERED).exists()


def test_a_confirmed_newsletter_consent_is_a_subscribe_and_a_one_click_unsubscribe_follows(
    crm, smtp_server, petition, petitions_isolation
):
    email = "nele@example.org"
    signature = _subscribe(petition, smtp_server, email)

    [subscribe] = wait_until(lambda: crm.of("subscribe"))
    assert subscribe["email"] == email and subscribe["email_hash"] == address_hash(email)
    consent = subscribe["consent"]
    assert consent["text_version"] == "v1" and consent["origin"] == "https://kampagne.example.org"
    assert consent["confirmed_at"] and consent["scope"] == petition.slug
    assert "first_name" not in json.dumps(subscribe) and signature.first_name not in json.dumps(subscribe)
    wait_until(lambda: _delivered("subscribe"))
    # Delivered: the row keeps the keyed hash, not the address.
    assert email not in json.dumps(CrmDelivery.objects.get(event="subscribe").payload)

    path = unsubscribe_url(email=email, locale="de").split("://", 1)[1].split("/", 1)[1]
    assert Client().post("/" + path).status_code == 200

    [unsubscribe] = wait_until(lambda: crm.of("unsubscribe"))
    assert unsubscribe["email_hash"] == address_hash(email) and "email" not in unsubscribe
    assert unsubscribe["how"] == "unsubscribed"
    assert crm.refused == []


def test_an_erasure_is_passed_on_with_the_address_and_then_forgotten(
    crm, smtp_server, petition, petitions_isolation, officer
):
    email = "otto@example.org"
    _subscribe(petition, smtp_server, email)
    wait_until(lambda: _delivered("subscribe"))

    response = officer.post("/api/v1/staff/privacy/erasures/", {"email": email}, format="json")
    assert response.status_code == 201
    assert response.json()["erased"]["crm"]["crm_erasure_queued"] == 1

    [erasure] = wait_until(lambda: crm.of("erasure"))
    assert erasure["email"] == email and erasure["email_hash"] == address_hash(email)
    wait_until(lambda: _delivered("erasure"))
    for row in CrmDelivery.objects.all():
        assert email not in json.dumps(row.payload)


def test_an_address_that_never_subscribed_is_not_sent_to_the_crm_on_erasure(crm, officer):
    response = officer.post(
        "/api/v1/staff/privacy/erasures/", {"email": "stranger@example.org"}, format="json"
    )
    assert response.json()["erased"]["crm"]["crm_erasure_queued"] == 0
    assert not CrmDelivery.objects.exists()


def test_a_failing_crm_gets_retries_then_a_dead_letter_that_staff_retry(
    crm, smtp_server, petition, petitions_isolation, officer
):
    crm.answer = 500
    _subscribe(petition, smtp_server, "pia@example.org")

    wait_until(lambda: CrmDelivery.objects.filter(status=CrmDelivery.Status.DEAD).exists())
    dead = CrmDelivery.objects.get()
    assert dead.attempts == MAX_ATTEMPTS and dead.last_error == "HTTP 500"
    assert crm.failed == MAX_ATTEMPTS and crm.events == []

    listed = officer.get("/api/v1/staff/crm/deliveries/", {"status": "dead"}).json()
    assert [row["id"] for row in listed] == [dead.pk] and "payload" not in listed[0]
    assert officer.get("/api/v1/staff/crm/deliveries/", {"status": "delivered"}).json() == []
    bad = officer.get("/api/v1/staff/crm/deliveries/", {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["fields"]

    crm.answer = 200
    retried = officer.post(f"/api/v1/staff/crm/deliveries/{dead.pk}/retry/")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"

    [subscribe] = wait_until(lambda: crm.of("subscribe"))
    assert subscribe["email"] == "pia@example.org" and subscribe["id"] == str(dead.event_id)
    wait_until(lambda: _delivered("subscribe"))
    again = officer.post(f"/api/v1/staff/crm/deliveries/{dead.pk}/retry/")
    assert again.status_code == 409  # only a dead letter can be retried
