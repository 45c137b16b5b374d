"""Requests by the person: always the same 202, a mail only for a known address, limits per
address and IP, the confirmation page that acts only on POST, the access export (JSON and
HTML, valid 7 days) and the erasure that the confirmation runs."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaign.models import ErasureReceipt, OutgoingEmail, PrivacyRequest
from campaign.outbox.sending import outgoing_email_send
from petitions.models import Signature
from tests.conftest import staff_api_client, staff_user_create
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.django_db

KNOWN = "known.person@example.org"
_ips = itertools.count(1)


@pytest.fixture
def client_ip() -> APIClient:
    # A fresh address per test: the IP throttle counts in the shared cache for the whole run.
    n = next(_ips)
    return APIClient(REMOTE_ADDR=f"198.51.{(n // 250) % 250}.{n % 250 + 1}")


@pytest.fixture
def known_signer(petition: Any) -> Signature:
    return SignatureFactory(
        petition=petition, email=KNOWN, email_normalized=KNOWN, first_name="Konrad", status="confirmed"
    )


def ask(client: APIClient, email: str, kind: str = "access") -> Any:
    return client.post("/api/v1/privacy/requests/", {"email": email, "kind": kind}, format="json")


def send_queued() -> None:
    for pk in OutgoingEmail.objects.filter(status="queued").values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=pk)


def link(message: Any, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"https?://[^/\s]+({path}\?token=[A-Za-z0-9_\-]+)", body).group(1)


def test_known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_a_mail(
    client_ip, known_signer, smtp_server
):
    known, unknown = ask(client_ip, KNOWN), ask(client_ip, "nobody@example.org")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert list(OutgoingEmail.objects.values_list("to_email", flat=True)) == [KNOWN]
    assert sorted(PrivacyRequest.objects.values_list("status", flat=True)) == ["pending", "unknown"]
    # Neither row holds the address in clear text.
    assert not PrivacyRequest.objects.filter(email_sealed__icontains="example.org").exists()


def test_requests_are_limited_per_address_and_per_ip(client_ip, known_signer, settings, monkeypatch):
    for _ in range(4):
        assert ask(client_ip, KNOWN).status_code == 202
    assert OutgoingEmail.objects.count() == settings.PRIVACY_REQUESTS_PER_ADDRESS_PER_DAY == 3
    assert PrivacyRequest.objects.filter(status="limited").count() == 1

    from campaign.throttles import FailOpenScopedRateThrottle

    monkeypatch.setattr(
        FailOpenScopedRateThrottle,
        "THROTTLE_RATES",
        {**FailOpenScopedRateThrottle.THROTTLE_RATES, "privacy_request": "2/hour"},
    )
    other = APIClient(REMOTE_ADDR="203.0.113.77")
    answers = [ask(other, f"someone{i}-{next(_ips)}@example.org").status_code for i in range(3)]
    assert answers == [202, 202, 429]


def test_bad_input_names_the_field(client_ip):
    response = client_ip.post("/api/v1/privacy/requests/", {"email": "nope", "kind": "delete"}, format="json")
    assert response.status_code == 400 and {"email", "kind"} <= set(response.json()["fields"])


def test_an_access_request_mails_an_export_valid_seven_days(client_ip, known_signer, smtp_server):
    ask(client_ip, KNOWN)
    send_queued()
    confirm = link(smtp_server.wait_for(KNOWN)[-1], "/privacy/confirm/")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(confirm + "&lang=en")
    assert page.status_code == 200 and b"confirm-button" in page.content
    assert PrivacyRequest.objects.get().status == "pending"  # opening the link changes nothing

    done = browser.post(confirm)
    assert done.status_code == 200 and "Wir senden Ihnen einen Link" in done.content.decode()
    assert browser.post(confirm).status_code == 200  # idempotent
    smtp_server.clear()
    send_queued()
    export = link(smtp_server.wait_for(KNOWN)[-1], "/privacy/export/")

    data = browser.get(export + "&format=json").json()["data"]
    (record,) = data["petitions"]
    assert record["first_name"] == "Konrad" and record["consent"]["version"] == "v1"
    assert {m["kind"] for m in data["mails"]} == {"privacy-request-confirm", "privacy-export-ready"}
    html = browser.get(export)
    assert html.status_code == 200 and "Konrad" in html.content.decode()

    request = PrivacyRequest.objects.get()
    assert request.export_expires_at - timezone.now() > timedelta(days=6, hours=23)
    PrivacyRequest.objects.update(export_expires_at=timezone.now() - timedelta(seconds=1))
    assert browser.get(export + "&format=json").status_code == 410
    assert PrivacyRequest.objects.get().email_sealed == ""  # the address is forgotten


def test_confirming_an_erasure_request_erases_the_person(client_ip, known_signer, smtp_server):
    ask(client_ip, KNOWN, kind="erasure")
    send_queued()
    confirm = link(smtp_server.wait_for(KNOWN)[-1], "/privacy/confirm/")
    done = Client().post(confirm)
    assert done.status_code == 200 and "gelöscht" in done.content.decode()
    known_signer.refresh_from_db()
    assert known_signer.email == "" and known_signer.first_name == ""
    request = PrivacyRequest.objects.get()
    assert request.status == "completed" and request.email_sealed == ""
    assert request.erasure_receipt.origin == ErasureReceipt.Origin.PERSON


def test_an_unknown_confirmation_link_shows_the_error(client):
    page = client.post("/privacy/confirm/?token=" + "x" * 40)
    assert page.status_code == 404 and "ungültig" in page.content.decode()


def test_the_privacy_officer_sees_requests_with_their_due_date(client_ip, known_signer, django_user_model):
    ask(client_ip, KNOWN)
    staff = staff_api_client(staff_user_create(django_user_model, "dpo2", "privacy officer"))
    (row,) = staff.get("/api/v1/staff/privacy/requests/").json()
    assert row["status"] == "pending" and row["kind"] == "access"
    created, due = PrivacyRequest.objects.values_list("created_at", "due_at").get()
    assert 28 <= (due - created).days <= 31
