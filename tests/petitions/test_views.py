"""The public petitions API, through HTTP, on the real PostgreSQL."""

from __future__ import annotations

import re

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
    ("first_name", "http://spam.example"),
    ("last_name", "see www.spam"),
    ("first_name", "Buy at cheap-pills.com"),
    ("last_name", "<b>Bold</b>"),
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


def test_it_requires_a_valid_altcha_when_the_petition_enables_it(api_client, petition):
    import base64
    import json

    from altcha import solve_challenge_v1

    Petition.objects.filter(pk=petition.pk).update(altcha_enabled=True)
    missing = sign(api_client, petition)
    challenge = api_client.get("/api/v1/altcha/challenge/").json()
    assert set(challenge) >= {"algorithm", "challenge", "salt", "signature", "maxNumber"}
    solution = solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    payload = base64.b64encode(
        json.dumps(
            {
                "algorithm": challenge["algorithm"],
                "challenge": challenge["challenge"],
                "number": solution.number,
                "salt": challenge["salt"],
                "signature": challenge["signature"],
            }
        ).encode()
    ).decode()
    forged = base64.b64encode(
        json.dumps({**json.loads(base64.b64decode(payload)), "number": -1}).encode()
    ).decode()

    bad = sign(api_client, petition, altcha=forged)
    good = sign(api_client, petition, altcha=payload)
    replayed = sign(api_client, petition, email="other@example.org", altcha=payload)

    assert missing.status_code == 400
    assert "altcha" in missing.json()["fields"]
    assert bad.status_code == 400
    assert good.status_code == 202
    assert replayed.status_code == 400  # a solved challenge is accepted once
    assert Signature.objects.count() == 1


def test_the_sign_throttle_answers_429_over_the_rate(api_client, petition, monkeypatch):
    from campaign.throttles import FailOpenScopedRateThrottle

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"sign": "2/minute"})
    url = f"/api/v1/petitions/{petition.slug}/signatures/"
    # An address of its own, so earlier tests' requests do not count against it.
    address = f"192.0.2.{petition.pk % 250 + 1}"
    statuses = [
        api_client.post(
            url, sign_payload(email=f"t{i}@example.org"), format="json", REMOTE_ADDR=address
        ).status_code
        for i in range(3)
    ]

    assert statuses == [202, 202, 429]


def test_a_blocked_ip_range_is_flagged_silently(api_client, petition, settings):
    settings.PETITIONS_BLOCKED_IP_RANGES = ["198.51.100.0/24"]

    response = api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(),
        format="json",
        REMOTE_ADDR="198.51.100.77",
    )

    assert response.status_code == 202
    assert Signature.objects.get().flag_reason == "ip_blocked"


def test_confirm_and_withdraw_endpoints_answer_with_clear_codes(api_client, petition):
    from petitions.models import SignatureToken
    from petitions.tokens import signature_token_mint

    sign(api_client, petition)
    signature = Signature.objects.get()
    confirm = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)
    withdraw = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)

    unknown = api_client.post("/api/v1/signatures/confirm/", {"token": "y" * 43}, format="json")
    empty = api_client.post("/api/v1/signatures/confirm/", {}, format="json")
    extra = api_client.post("/api/v1/signatures/confirm/", {"token": confirm, "x": 1}, format="json")
    first = api_client.post("/api/v1/signatures/confirm/", {"token": confirm}, format="json")
    second = api_client.post("/api/v1/signatures/confirm/", {"token": confirm}, format="json")
    withdrawn = api_client.post("/api/v1/signatures/withdraw/", {"token": withdraw}, format="json")
    after = api_client.post("/api/v1/signatures/confirm/", {"token": confirm}, format="json")

    assert (unknown.status_code, unknown.json()["code"]) == (404, "token_invalid")
    assert empty.status_code == 400 and "token" in empty.json()["fields"]
    assert extra.status_code == 400 and "x" in extra.json()["fields"]
    assert first.json() == second.json()
    assert first.json()["status"] == "confirmed"
    assert withdrawn.json() == {"status": "withdrawn"}
    # Withdrawal deletes the other tokens of the signature: the old confirm link is dead.
    assert (after.status_code, after.json()["code"]) == (404, "token_invalid")


def test_a_get_on_the_mail_link_pages_changes_nothing(client, petition):
    from petitions.models import SignatureToken
    from petitions.tokens import signature_token_mint

    signature = Signature.objects.create(
        petition=petition,
        first_name="A",
        last_name="B",
        email="a@example.org",
        email_normalized="a@example.org",
    )
    confirm = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)
    withdraw = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)

    page = client.get(f"/signatures/confirm/?token={confirm}")
    client.get(f"/signatures/withdraw/?token={withdraw}")

    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert b"<noscript>" in page.content and b"/api/v1/signatures/" in page.content
    assert Signature.objects.get().status == Signature.Status.PENDING

    # Without scripts, the form button POSTs to the page itself, which confirms.
    done = client.post("/signatures/confirm/", {"token": confirm})
    assert done.status_code == 200
    # The donation is offered on the signature's own campaign page, linked to this signing.
    assert re.search(
        rf'href="/campaigns/{petition.campaign.slug}/\?petition=[^"]*&amp;signing_ref=[^"]+#donate"'.encode(),
        done.content,
    )
    assert Signature.objects.get().status == Signature.Status.CONFIRMED
    gone = client.post("/signatures/withdraw/", {"token": withdraw})
    assert gone.status_code == 200
    assert Signature.objects.get().status == Signature.Status.WITHDRAWN
    bad = client.post("/signatures/confirm/", {"token": "nope"})
    assert bad.status_code == 404


def test_staff_invalidation_api_previews_then_applies(api_client, staff_client, petition):
    from petitions.hashing import ip_hash_compute

    for i in range(3):
        api_client.post(
            f"/api/v1/petitions/{petition.slug}/signatures/",
            sign_payload(email=f"w{i}@example.org"),
            format="json",
            REMOTE_ADDR="203.0.113.5",
        )
    url = f"/api/v1/staff/petitions/{petition.slug}/invalidations/"
    ip_hash = ip_hash_compute("203.0.113.5")

    anonymous = api_client.post(url, {"ip_hash": ip_hash}, format="json")
    preview = staff_client.post(url, {"ip_hash": ip_hash}, format="json")
    bad = staff_client.post(url, {"ip_hash": "not-a-hash", "dry_run": False}, format="json")
    nofilter = staff_client.post(url, {"dry_run": False}, format="json")
    applied = staff_client.post(url, {"ip_hash": ip_hash, "dry_run": False, "reason": "wave"}, format="json")

    assert anonymous.status_code in (401, 403)
    assert preview.json() == {"id": None, "dry_run": True, "signature_count": 3}
    assert bad.status_code == 400 and "ip_hash" in bad.json()["fields"]
    assert nofilter.status_code == 400
    assert applied.status_code == 201
    assert applied.json()["signature_count"] == 3
    assert Signature.objects.filter(is_flagged=True).count() == 3


def test_the_sign_throttle_lets_requests_through_when_the_cache_is_down(api_client, petition, monkeypatch):
    from petitions import throttles

    def broken(increments):
        raise ConnectionError("redis down")

    monkeypatch.setattr(throttles, "_shared_incr", broken)

    assert sign(api_client, petition).status_code == 202


def test_the_sign_throttle_shares_counts_between_processes_through_redis(api_client, petition, monkeypatch):
    from campaign.throttles import FailOpenScopedRateThrottle
    from petitions.throttles import SignRateThrottle, _shared_incr, throttle_counts_clear

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"sign": "3/minute"})
    monkeypatch.setattr(SignRateThrottle, "timer", staticmethod(lambda: 1_800_000_000.0))
    address = f"198.18.0.{petition.pk % 250 + 1}"
    window = int(1_800_000_000.0 // 60)
    # Another process has already counted three requests of this client in this window.
    _shared_incr({f"throttle:sign:{address}:3/minute:{window}": (3, 61)})
    throttle_counts_clear()
    url = f"/api/v1/petitions/{petition.slug}/signatures/"

    def post(i):
        return api_client.post(
            url, sign_payload(email=f"s{i}@example.org"), format="json", REMOTE_ADDR=address
        )

    # The first request is decided locally, then learns the shared total; the next is refused.
    assert [post(i).status_code for i in range(2)] == [202, 429]


@pytest.mark.parametrize("body", ["null", '"text"', "42", "true", "{}", '{"first_name": {"x": 1}}', "[{}]"])
def test_it_answers_any_json_shape_with_a_4xx_naming_the_problem(api_client, petition, body):
    response = api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ä" * 300 + "@example.org"),
        ("email", "a@" + "b" * 300 + ".org"),
        ("first_name", "Ann\x00a"),
        ("city", "Köln\nEvil"),
        ("postcode", 10115),
        ("consent_version", 1),
        ("locale", None),
    ],
)
def test_it_rejects_hostile_values(api_client, petition, field, value):
    response = sign(api_client, petition, **{field: value})

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_it_accepts_unicode_names_and_keeps_them(api_client, petition):
    response = sign(
        api_client,
        petition,
        first_name="Zoë-Łucja",
        last_name="Groß-Şahin",
        city="São Paulo",
        country="BR",
        postcode="01310-100",
    )

    assert response.status_code == 202
    assert Signature.objects.get().last_name == "Groß-Şahin"


def test_field_errors_speak_the_form_language(api_client, petition):
    german = sign(api_client, petition, email="kaputt", locale="de")
    english = sign(api_client, petition, email="broken", locale="en")

    assert german.json()["fields"]["email"] == ["Bitte geben Sie eine gültige E-Mail-Adresse ein."]
    assert english.json()["fields"]["email"] == ["Enter a valid e-mail address."]
    assert german.json()["message"] == "Die Anfrage enthält ungültige Felder."


@pytest.mark.parametrize("endpoint", ["confirm", "withdraw"])
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"token": null}', "application/json", 400),
        ('{"token": ["a"]}', "application/json", 400),
        ('{"token": {"a": 1}}', "application/json", 400),
        ('{"token": 12345}', "application/json", 404),
        ('{"token": "' + "t" * 500 + '"}', "application/json", 400),
        ("[]", "application/json", 400),
        ("{broken", "application/json", 400),
        ("token=abc", "application/x-www-form-urlencoded", 415),
    ],
)
def test_token_endpoints_answer_bad_input_with_a_4xx(api_client, endpoint, body, content_type, status):
    response = api_client.post(f"/api/v1/signatures/{endpoint}/", body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["code"]


def test_the_mail_is_handed_to_the_broker_off_the_request_thread(
    api_client, petition, django_capture_on_commit_callbacks, monkeypatch
):
    import threading

    from campaign.outbox import publisher as enqueue
    from campaign.outbox.publisher import publisher_flush

    published = []
    monkeypatch.setattr(
        enqueue,
        "task_enqueue",
        lambda task, *args: published.append((task.name, args, threading.current_thread().name)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sign(api_client, petition).status_code == 202

    assert publisher_flush(timeout=10)
    email = OutgoingEmail.objects.get()
    assert published == [("campaign.outgoing_email_send", (email.pk,), "outbox-publisher")]


def test_a_failed_background_publish_leaves_the_row_for_the_sweeper(
    api_client, petition, django_capture_on_commit_callbacks, monkeypatch
):
    from campaign.outbox import publisher as enqueue
    from campaign.outbox.publisher import publisher_flush

    def broker_down(task, *args):
        raise ConnectionError("redis down")

    monkeypatch.setattr(enqueue, "task_enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert sign(api_client, petition).status_code == 202

    assert publisher_flush(timeout=10)
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_signing_on_a_kept_connection_the_server_dropped_succeeds_once(api_client, petition):
    # The sign statement skips Django's per-request `SELECT 1` on a kept connection; a
    # connection that died meanwhile (a database restart) must still not fail the signing.
    import psycopg
    from django.db import connection

    assert sign(api_client, petition, email="before@example.org").status_code == 202
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    assert sign(api_client, petition, email="after@example.org").status_code == 202

    assert sorted(Signature.objects.values_list("email", flat=True)) == [
        "after@example.org",
        "before@example.org",
    ]
    assert OutgoingEmail.objects.count() == 2


@pytest.mark.parametrize(
    ("accept", "status"),
    [(None, 202), ("*/*", 202), ("application/json", 202), ("application/*", 202), ("text/html", 406)],
)
def test_it_negotiates_json_for_any_accept_that_takes_it_and_answers_406_otherwise(
    api_client, petition, accept, status
):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    response = api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email=f"accept{status}{len(accept or '')}@example.org"),
        format="json",
        **headers,
    )

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["status" if status == 202 else "code"]
