"""Supporter updates: the organiser previews and test-sends, then the update goes in batches
to the confirmed signers who agreed, each in their language, with one-click unsubscribe
headers (RFC 8058) that transactional mails lack. A one-click POST unsubscribes without login
or CSRF token, idempotently; the next update does not reach that address."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from campaign.emails import email_render
from campaign.models import OutgoingEmail, SuppressedAddress
from campaign.outbox.sending import outgoing_email_send
from petitions import signing
from petitions.models import PetitionUpdate, Signature
from petitions.reminders import REMINDER_EMAIL_KIND
from petitions.updates import UPDATE_EMAIL_KIND, petition_update_batch_send
from tests.conftest import staff_api_client, staff_user_create
from tests.fixtures.petitions import SignatureFactory, sign_payload

pytestmark = pytest.mark.django_db

UPDATE = {
    "subject": "Wir haben 10.000 Unterschriften",
    "body_text": "Danke!\nAm Montag übergeben wir.",
    "subject_en": "We have 10,000 signatures",
    "body_text_en": "Thank you!\nOn Monday we hand them over.",
}


@pytest.fixture
def organiser_client(django_user_model: Any) -> Any:
    # The account's address is organiser@example.org (the test sends go there).
    return staff_api_client(staff_user_create(django_user_model, "organiser", "organiser"))


@pytest.fixture
def other_staff_client(django_user_model: Any) -> Any:
    """Staff holding every role but the organiser's."""
    from campaign.permissions import ROLES

    roles = [role for role in ROLES if role != "organiser"]
    return staff_api_client(staff_user_create(django_user_model, "not-organiser", *roles))


def send_queued() -> None:
    for pk in OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED).values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=pk)


def signers(petition: Any) -> dict[str, Signature]:
    confirmed = {"status": Signature.Status.CONFIRMED}
    return {
        "de": SignatureFactory(
            petition=petition, email="anna@example.org", updates_consent=True, **confirmed
        ),
        "en": SignatureFactory(
            petition=petition, email="ben@example.org", locale="en", updates_consent=True, **confirmed
        ),
        "third": SignatureFactory(
            petition=petition, email="cara@example.org", updates_consent=True, **confirmed
        ),
        "no_consent": SignatureFactory(petition=petition, email="dora@example.org", **confirmed),
        "pending": SignatureFactory(petition=petition, email="emil@example.org", updates_consent=True),
    }


def run_mailing(response: Any) -> None:
    update_id = response.json()["id"]
    while petition_update_batch_send(update_id=update_id) is not None:
        pass
    send_queued()


def unsubscribe_link(message: Any) -> str:
    return re.search(r"<(https?://[^>]+/unsubscribe/\?t=[^>]+)>", message["List-Unsubscribe"]).group(1)


@pytest.mark.parametrize("fast_path", [True, False])
def test_signing_stores_the_updates_consent_on_both_paths(
    api_client, petition, petitions_isolation, monkeypatch, fast_path
):
    if not fast_path:
        monkeypatch.setattr(signing, "_signature_create_postgresql", signing._signature_create_orm)
    api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email="yes@example.org", updates_consent=True),
        format="json",
    )
    api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/", sign_payload(email="no@example.org"), format="json"
    )
    assert Signature.objects.get(email="yes@example.org").updates_consent is True
    assert Signature.objects.get(email="no@example.org").updates_consent is False
    bad = api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email="x@example.org", updates_consent="yes"),
        format="json",
    )
    assert bad.status_code == 400 and "updates_consent" in bad.json()["fields"]


def test_a_preview_mails_only_the_organiser_in_each_language(
    organiser_client, petition, smtp_server, django_capture_on_commit_callbacks
):
    signers(petition)
    with django_capture_on_commit_callbacks(execute=False):
        response = organiser_client.post(
            f"/api/v1/staff/petitions/{petition.slug}/updates/", UPDATE, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["preview"]["en"]["subject"] == UPDATE["subject_en"]
    assert response.json()["test_sent_to"] == "organiser@example.org"
    send_queued()
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == ["[Test] We have 10,000 signatures", "[Test] Wir haben 10.000 Unterschriften"]
    assert {str(m["To"]) for m in smtp_server.messages} == {"organiser@example.org"}


def test_the_update_reaches_the_consenting_signers_in_batches_and_languages(
    organiser_client, petition, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.PETITIONS_UPDATE_BATCH_SIZE = 2
    people = signers(petition)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = organiser_client.post(
            f"/api/v1/staff/petitions/{petition.slug}/updates/", {**UPDATE, "send": True}, format="json"
        )
    assert response.status_code == 202 and response.json()["recipient_count"] == 3
    assert len(callbacks) == 1  # the first batch is handed to a worker after commit
    update_id = response.json()["id"]
    assert petition_update_batch_send(update_id=update_id) == 60  # the next batch after the interval
    assert OutgoingEmail.objects.filter(kind=UPDATE_EMAIL_KIND).count() == 2  # one batch
    run_mailing(response)
    assert PetitionUpdate.objects.get(pk=update_id).status == PetitionUpdate.Status.SENT
    received = {str(m["To"]): m for m in smtp_server.messages}
    assert set(received) == {"anna@example.org", "ben@example.org", "cara@example.org"}
    assert received["ben@example.org"]["Subject"] == UPDATE["subject_en"]
    assert received["anna@example.org"]["Subject"] == UPDATE["subject"]
    message = received["anna@example.org"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<mailto:" in message["List-Unsubscribe"] and unsubscribe_link(message).startswith("http")
    assert "anna@example.org" not in message["List-Unsubscribe"]  # the link carries no address
    assert people["de"].first_name in message.get_body(preferencelist=("plain",)).get_content()
    # A second run of a finished mailing queues nothing.
    assert petition_update_batch_send(update_id=update_id) is None
    assert OutgoingEmail.objects.filter(kind=UPDATE_EMAIL_KIND).count() == 3


def test_transactional_mails_carry_no_unsubscribe_headers_and_reminders_do(petition):
    signature = SignatureFactory(petition=petition)
    row = OutgoingEmail.objects.create(
        kind=signing.CONFIRMATION_EMAIL_KIND, to_email=signature.email, context={"signature_id": signature.pk}
    )
    headers = email_render(row).extra_headers
    assert "List-Unsubscribe" not in headers and "List-Unsubscribe-Post" not in headers
    row.kind = REMINDER_EMAIL_KIND
    assert email_render(row).extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_one_click_post_unsubscribes_and_the_next_update_skips_the_address(
    organiser_client, petition, smtp_server, django_capture_on_commit_callbacks
):
    signers(petition)
    with django_capture_on_commit_callbacks(execute=False):
        first = organiser_client.post(
            f"/api/v1/staff/petitions/{petition.slug}/updates/", {**UPDATE, "send": True}, format="json"
        )
    run_mailing(first)
    link = unsubscribe_link(smtp_server.to("anna@example.org")[0]).split("://", 1)[1].split("/", 1)[1]
    browser = Client(enforce_csrf_checks=True)

    # A mail scanner opening the link changes nothing: the page only offers a button.
    page = browser.get("/" + link)
    assert page.status_code == 200 and b"unsubscribe-button" in page.content
    assert page["Content-Language"] == "de" and not SuppressedAddress.objects.exists()
    # The mail client's one-click POST: no session, no CSRF token; twice is the same.
    for _ in range(2):
        answer = browser.post(
            "/" + link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert answer.status_code == 200 and "abgemeldet" in answer.content.decode()
    assert SuppressedAddress.objects.filter(reason="unsubscribed").count() == 1

    smtp_server.clear()
    with django_capture_on_commit_callbacks(execute=False):
        second = organiser_client.post(
            f"/api/v1/staff/petitions/{petition.slug}/updates/", {**UPDATE, "send": True}, format="json"
        )
    run_mailing(second)
    assert {str(m["To"]) for m in smtp_server.messages} == {"ben@example.org", "cara@example.org"}
    assert PetitionUpdate.objects.get(pk=second.json()["id"]).suppressed_count == 1


def test_an_update_queued_before_the_unsubscribe_is_not_sent(petition, smtp_server):
    from campaign.privacy.hashing import address_hash

    people = signers(petition)
    update = PetitionUpdate.objects.create(
        petition=petition, subject_de="S", body_text_de="B", status="sending"
    )
    assert petition_update_batch_send(update_id=update.pk) is not None
    SuppressedAddress.objects.create(email_hash=address_hash(people["de"].email), reason="unsubscribed")
    send_queued()
    assert smtp_server.to("anna@example.org") == []
    assert OutgoingEmail.objects.filter(status="canceled", last_error="suppressed").count() == 1


def test_a_bad_token_shows_the_error_page_and_english_on_request(client):
    page = client.get("/unsubscribe/?t=forged&lang=en")
    assert page.status_code == 400 and "not valid" in page.content.decode()
    assert client.post("/unsubscribe/?t=forged").status_code == 400


def test_only_organisers_send_updates_and_bad_input_names_the_field(
    other_staff_client, organiser_client, petition
):
    url = f"/api/v1/staff/petitions/{petition.slug}/updates/"
    assert other_staff_client.post(url, UPDATE, format="json").status_code == 403
    response = organiser_client.post(
        url, {"subject": "x", "body_text": "y", "subject_en": "only"}, format="json"
    )
    assert response.status_code == 400 and "body_text_en" in response.json()["fields"]
    response = organiser_client.post(url, {"body_text": "y", "send": "maybe"}, format="json")
    assert response.status_code == 400 and {"subject", "send"} <= set(response.json()["fields"])
