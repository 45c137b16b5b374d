"""Consent per purpose: the petition's double opt-in, its updates and the newsletter are
recorded separately, each with its own text hash, time, origin and confirmation; an
unsubscribe ends the mail purposes only, a withdrawal all; staff export the proof for one
address."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaign.models import ConsentRecord, OutgoingEmail
from campaign.outbox.sending import outgoing_email_send
from campaign.privacy.suppression import unsubscribe_url
from petitions.confirmation import signature_confirm, signature_withdraw
from petitions.hashing import consent_text_hash
from petitions.models import Signature
from tests.conftest import staff_api_client, staff_user_create
from tests.fixtures.petitions import mail_link_token, sign_payload

pytestmark = pytest.mark.django_db

EMAIL = "consenting@example.org"


@pytest.fixture
def officer(django_user_model: Any) -> APIClient:
    return staff_api_client(staff_user_create(django_user_model, "dpo-consent", "privacy officer"))


def _sign_and_confirm(api_client: Any, smtp_server: Any, petition: Any, **consents: bool) -> Any:
    petition.updates_consent_text_de = "Ja, schickt mir Neuigkeiten zu dieser Petition."
    petition.newsletter_consent_text_de = "Ja, ich möchte den Newsletter."
    petition.save()
    api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email=EMAIL, **consents),
        format="json",
        HTTP_ORIGIN="https://kampagne.example.org",
    )
    for pk in OutgoingEmail.objects.filter(status="queued").values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=pk)
    message = smtp_server.wait_for(EMAIL)[-1]
    return message, signature_confirm(token=mail_link_token(message, "confirm"))


def test_each_purpose_gets_its_own_record_with_its_own_text(
    api_client, smtp_server, petition, petitions_isolation
):
    message, signature = _sign_and_confirm(
        api_client, smtp_server, petition, updates_consent=True, newsletter_consent=True
    )
    # The mail names the opt-ins its link confirms.
    assert "Neuigkeiten zu dieser Petition" in message.get_body(preferencelist=("plain",)).get_content()
    records = {r.purpose: r for r in ConsentRecord.objects.all()}
    assert set(records) == {"petition", "updates", "newsletter"}
    assert records["updates"].text_sha256 == consent_text_hash(petition.updates_consent_text_de)
    assert records["newsletter"].text_sha256 == consent_text_hash(petition.newsletter_consent_text_de)
    assert records["petition"].text_sha256 == signature.consent_text_hash
    for record in records.values():
        assert record.confirmed_at == signature.confirmed_at
        assert record.origin == "https://kampagne.example.org" and record.text_version == "v1"
        assert record.scope == petition.slug
    signature_confirm(token=mail_link_token(message, "confirm"))  # a second click adds nothing
    assert ConsentRecord.objects.count() == 3


def test_an_unsubscribe_ends_the_mail_purposes_and_a_withdrawal_all(
    api_client, smtp_server, petition, petitions_isolation
):
    message, _ = _sign_and_confirm(api_client, smtp_server, petition, updates_consent=True)
    assert sorted(ConsentRecord.objects.values_list("purpose", flat=True)) == ["petition", "updates"]
    path = unsubscribe_url(email=EMAIL, locale="de").split("://", 1)[1].split("/", 1)[1]
    Client().post("/" + path)
    open_purposes = ConsentRecord.objects.filter(withdrawn_at__isnull=True).values_list("purpose", flat=True)
    assert list(open_purposes) == ["petition"]
    assert ConsentRecord.objects.get(purpose="updates").withdrawn_how == "unsubscribed"

    signature_withdraw(token=mail_link_token(message, "withdraw"))
    assert not ConsentRecord.objects.filter(withdrawn_at__isnull=True).exists()
    assert Signature.objects.get().email == ""  # the signature is erased, the proof stays


def test_staff_export_the_proof_for_one_address(
    api_client, smtp_server, petition, petitions_isolation, officer
):
    _sign_and_confirm(api_client, smtp_server, petition, newsletter_consent=True)
    rows = officer.get("/api/v1/staff/privacy/consents/", {"email": EMAIL.upper()}).json()
    assert [r["purpose"] for r in rows] == ["petition", "newsletter"]
    assert rows[0]["confirmed_at"] and rows[0]["text_version"] == "v1"
    assert officer.get("/api/v1/staff/privacy/consents/", {"email": "other@example.org"}).json() == []
    bad = officer.get("/api/v1/staff/privacy/consents/", {"email": "no"})
    assert bad.status_code == 400 and "email" in bad.json()["fields"]
    assert APIClient().get("/api/v1/staff/privacy/consents/", {"email": EMAIL}).status_code in (401, 403)
