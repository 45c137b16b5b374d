"""The public petitions API, through HTTP, on the real PostgreSQL."""

from __future__ import annotations

import pytest

from campaign.models import OutgoingEmail
from petitions.models import Petition, Signature
from tests.fixtures.petitions import PetitionFactory, sign_payload

pytestmark = pytest.mark.django_db


def sign(api_client, petition, **overrides):
    return api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/", sign_payload(**overrides), format="json"
    )


def test_it_accepts_a_signature_with_the_consent_record(
    api_client, petition, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(
            f"/api/v1/petitions/{petition.slug}/signatures/",
            sign_payload(email="Erika.M+petition@Example.org"),
            format="json",
            HTTP_ORIGIN="https://campaign.example.org",
            REMOTE_ADDR="203.0.113.9",
        )

    assert response.status_code == 202
    assert response.json() == {"status": "pending_confirmation"}
    signature = Signature.objects.get()
    assert signature.email_normalized == "erika.m@example.org"
    assert signature.status == Signature.Status.PENDING
    assert signature.consent_version == "v1"
    assert len(signature.consent_text_hash) == 64
    assert signature.consent_origin == "https://campaign.example.org"
    assert signature.consent_at is not None
    # The IP is kept only as an HMAC, never in the clear.
    assert signature.ip_hash and "203.0.113.9" not in signature.ip_hash
    assert (signature.utm_source, signature.utm_medium, signature.utm_campaign) == (
        "newsletter",
        "email",
        "launch",
    )
    email = OutgoingEmail.objects.get()
    assert email.kind == "petitions-signature-confirm"
    assert email.subject_id == signature.pk
    assert email.context == {"signature_id": signature.pk}  # no token, no personal data
    assert len(callbacks) == 1  # the mail is enqueued after commit


def test_it_answers_new_repeated_and_flagged_signing_byte_identically(api_client, petition):
    new = sign(api_client, petition)
    repeated = sign(api_client, petition, email="ERIKA@example.org")
    flagged = sign(api_client, petition, email="bot@example.org", website="http://spam.example")

    assert new.status_code == repeated.status_code == flagged.status_code == 202
    assert new.content == repeated.content == flagged.content
    assert Signature.objects.get(email_normalized="bot@example.org").is_flagged


def test_it_keeps_one_row_per_normalised_address_and_caps_mails(api_client, petition):
    for email in ["john.doe@gmail.com", "JohnDoe+x@googlemail.com", "j.o.h.n.doe@GMAIL.com"]:
        assert sign(api_client, petition, email=email).status_code == 202

    signature = Signature.objects.get()
    assert signature.email_normalized == "johndoe@gmail.com"
    # The repeats came within 10 minutes of the first mail: no second mail yet.
    assert OutgoingEmail.objects.count() == 1


def test_it_resends_the_mail_at_most_five_times_in_total(api_client, petition):
    for _ in range(8):
        sign(api_client, petition)
        # Pretend the resend interval has passed.
        Signature.objects.update(confirmation_mail_at=None)

    assert Signature.objects.count() == 1
    assert OutgoingEmail.objects.count() == 5


def test_it_answers_404_for_an_unknown_petition_and_409_for_a_closed_one(api_client, petition):
    unknown = api_client.post("/api/v1/petitions/nope/signatures/", sign_payload(), format="json")
    closed = PetitionFactory(status=Petition.Status.CLOSED)
    response = sign(api_client, closed)

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "petition_not_found"
    assert response.status_code == 409
    assert response.json()["code"] == "petition_closed"
    assert not Signature.objects.exists()


BAD_INPUT = [
    ("first_name", ""),
    ("first_name", None),
    ("first_name", "x" * 101),
    ("first_name", "=HYPERLINK(1)"),
    ("first_name", "+49"),
    ("first_name", 42),
    ("last_name", "-cmd"),
    ("last_name", "@sum"),
    ("last_name", ["a"]),
    ("email", "not-an-email"),
    ("email", ""),
    ("email", "a@b"),
    ("email", 12),
    ("postcode", "1234"),
    ("postcode", "ABCDE"),
    ("postcode", ""),
    ("country", "XX"),
    ("country", "DEU"),
    ("country", ""),
    ("country", 1),
    ("city", "y" * 101),
    ("city", "=cmd"),
    ("privacy_consent", False),
    ("privacy_consent", "true"),
    ("privacy_consent", None),
    ("consent_version", "v0"),
    ("consent_version", ""),
    ("locale", "fr"),
    ("newsletter_consent", "yes"),
    ("show_name_publicly", 1),
    ("share_name_with_officials", "no"),
    ("utm_source", "u" * 101),
    ("referrer", "r" * 501),
    ("website", 5),
    ("altcha", 5),
    ("unknown_field", "x"),
]


@pytest.mark.parametrize(("field", "value"), BAD_INPUT)
def test_it_rejects_bad_input_naming_the_field(api_client, petition, field, value):
    response = sign(api_client, petition, **{field: value})

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    "field", ["first_name", "last_name", "email", "country", "privacy_consent", "consent_version"]
)
def test_it_rejects_a_missing_required_field(api_client, petition, field):
    payload = sign_payload()
    del payload[field]
    response = api_client.post(f"/api/v1/petitions/{petition.slug}/signatures/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("country", "postcode"),
    [
        ("DE", "10115"),
        ("AT", "1010"),
        ("CH", "8001"),
        ("NL", "1012 AB"),
        ("FR", "75001"),
        ("GB", "SW1A 1AA"),
        ("IE", ""),
    ],
)
def test_it_accepts_postcodes_per_country(api_client, petition, country, postcode):
    assert sign(api_client, petition, country=country.lower(), postcode=postcode).status_code == 202


def test_it_rejects_non_json_and_oversized_bodies(api_client, petition):
    url = f"/api/v1/petitions/{petition.slug}/signatures/"
    broken = api_client.post(url, "{not json", content_type="application/json")
    form = api_client.post(url, "first_name=x", content_type="application/x-www-form-urlencoded")
    array = api_client.post(url, "[1, 2]", content_type="application/json")
    huge = api_client.post(url, sign_payload(city="x" * 200_000), format="json")

    assert broken.status_code == 400
    assert broken.json()["code"] == "parse_error"
    assert form.status_code == 415
    assert array.status_code == 400
    assert huge.status_code in (400, 413)
    assert "code" in huge.json()
