"""Chaos tests on the real parts: a throwaway PostgreSQL and Redis stopped and started again
under a running gunicorn (the production settings, two workers with kept connections), the
SMTP server stopped under a real worker, and the Stripe API unreachable."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from campaign.models import OutgoingEmail
from tests.conftest import free_port, wait_until
from tests.donations.helpers import donation_complete, donation_payload, donation_start
from tests.outages import Gunicorn, ThrowawayPostgres, ThrowawayRedis, manage, production_env

CAMPAIGN = "stopstreamingexploitation"
PETITION = "stopstreamingexploitation-petition"
# Enough requests that both gunicorn workers answer some of them.
ROUNDS = 8


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, localstripe_session: Any) -> Iterator[dict[str, Any]]:
    localstripe_session.start()
    root = tmp_path_factory.mktemp("outage")
    # Not under pytest's own temporary folder: the postgres user must be able to enter it.
    postgres = ThrowawayPostgres(root=Path(tempfile.mkdtemp(prefix="outage-pg-")), port=free_port())
    redis = ThrowawayRedis(root=root / "redis", port=free_port())
    postgres.init()
    redis.start()
    env = production_env(
        database_url=postgres.url,
        redis_url=redis.url,
        run_id=uuid.uuid4().hex[:8],
        extra={"STRIPE_API_BASE": localstripe_session.url},
    )
    web = Gunicorn(port=free_port(), env=env, log_path=root / "gunicorn.log")
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo")
        web.start()
        yield {"postgres": postgres, "redis": redis, "web": web, "env": env}
    finally:
        web.stop()
        redis.stop()
        postgres.destroy()


def _get(web: Gunicorn, path: str, **kwargs: Any) -> requests.Response:
    # The 5 s is the contract: an unreachable database is answered within it.
    return requests.get(f"{web.url}{path}", timeout=5, **kwargs)


def _sign(web: Gunicorn, email: str, consent: str = "") -> requests.Response:
    consent = consent or _get(web, f"/api/v1/petitions/{PETITION}/").json()["consent_version"]
    return requests.post(
        f"{web.url}/api/v1/petitions/{PETITION}/signatures/",
        json={
            "first_name": "Erika",
            "last_name": "Mustermann",
            "email": email,
            "postcode": "10115",
            "country": "DE",
            "privacy_consent": True,
            "consent_version": consent,
        },
        timeout=5,
    )


PUBLIC_READS = [
    f"/api/v1/petitions/{PETITION}/count/",
    "/api/v1/widget/config/",
    f"/api/v1/campaigns/{CAMPAIGN}/",
]
# The HTML pages: served stale too (their bodies may differ per worker, so only the status).
PUBLIC_PAGES = ["/", f"/campaigns/{CAMPAIGN}/"]


def _all_succeed(web: Gunicorn, consent: str, label: str) -> None:
    for round_ in range(ROUNDS):
        response = _sign(web, f"{label}{round_}@example.org", consent)
        assert response.status_code == 202, response.text
        for path in [*PUBLIC_READS, *PUBLIC_PAGES, f"/api/v1/petitions/{PETITION}/", "/readyz"]:
            response = _get(web, path)
            assert response.status_code == 200, (path, response.text)
            assert "X-Served-Stale" not in response.headers


def test_the_database_down_answers_503_or_the_last_value_and_nothing_fails_after_it_returns(stack):
    web, postgres = stack["web"], stack["postgres"]
    fresh = {}
    for path in [*PUBLIC_READS, *PUBLIC_PAGES]:
        for _ in range(ROUNDS):
            response = _get(web, path)
            assert response.status_code == 200, (path, response.text)
        fresh[path] = response.json() if path in PUBLIC_READS else None
    consent = _get(web, f"/api/v1/petitions/{PETITION}/").json()["consent_version"]
    assert _sign(web, "before@example.org", consent).status_code == 202

    postgres.stop()
    try:
        for round_ in range(ROUNDS):
            response = _sign(web, f"down{round_}@example.org", consent)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "service_unavailable"
            assert int(response.headers["Retry-After"]) > 0
            detail = _get(web, f"/api/v1/petitions/{PETITION}/")
            assert detail.status_code == 503
            assert detail.json()["code"] == "service_unavailable"
            assert "Retry-After" in detail.headers
            staff = _get(web, "/api/v1/staff/donations/summary/", headers={"Authorization": "Token nope"})
            assert staff.status_code == 503
            for path in PUBLIC_READS:
                stale = _get(web, path)
                assert stale.status_code == 200, (path, stale.text)
                assert stale.json() == fresh[path]
            for path in PUBLIC_PAGES:
                stale = _get(web, path)
                assert stale.status_code == 200, (path, stale.text)
                assert stale.headers["X-Served-Stale"] == "database-unavailable"
                assert "Content-Security-Policy" in stale.headers or path != "/"
        ready = _get(web, "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "down"
        assert ready.json()["down"] == ["database"]
    finally:
        postgres.start()

    _all_succeed(web, consent, "after")
    # A restart between two requests: every worker's kept connection is dead, and still not
    # one request fails.
    postgres.stop()
    postgres.start()
    _all_succeed(web, consent, "restart")
    assert "Traceback" not in web.log()


def _confirm_token(env: dict[str, str], email: str) -> str:
    """A confirmation link's token, as the mail would carry it (no worker sends mail here)."""
    code = (
        "from petitions.models import Signature, SignatureToken\n"
        "from petitions.tokens import signature_token_mint\n"
        f"s = Signature.objects.get(email_normalized={email!r})\n"
        "print(signature_token_mint(signature_id=s.pk, purpose=SignatureToken.Purpose.CONFIRM))"
    )
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def test_redis_down_keeps_the_counter_confirmations_and_signing_answering(stack):
    web, redis = stack["web"], stack["redis"]
    emails = [f"confirm{i}@example.org" for i in range(ROUNDS)]
    for email in emails:
        assert _sign(web, email).status_code == 202
    tokens = [_confirm_token(stack["env"], email) for email in emails]
    redis.stop()
    try:
        ready = _get(web, "/readyz")
        assert ready.status_code == 503
        assert set(ready.json()["down"]) == {"cache", "broker"}
        for round_ in range(ROUNDS):
            assert _sign(web, f"noredis{round_}@example.org").status_code == 202
            assert _get(web, f"/api/v1/petitions/{PETITION}/count/").status_code == 200
            confirm = requests.post(
                f"{web.url}/api/v1/signatures/confirm/", json={"token": tokens[round_]}, timeout=5
            )
            assert confirm.status_code == 200, confirm.text
            assert confirm.json()["status"] == "confirmed"
            donation = requests.post(
                f"{web.url}/api/v1/donations/",
                json=donation_payload(CAMPAIGN, email=f"d{round_}@example.org"),
                timeout=10,
            )
            assert donation.status_code == 201, donation.text
            assert donation.json()["client_secret"].startswith("seti_")
    finally:
        redis.start()
    assert _get(web, "/readyz").status_code == 200
    assert "Traceback" not in web.log()


def test_smtp_down_mails_wait_and_go_out_once_it_is_back(celery_worker, smtp_server, staff_client):
    with smtp_server.down():
        response = staff_client.post(
            "/api/v1/staff/test-email/", {"email": "dora@example.org", "locale": "en"}, format="json"
        )
        assert response.status_code == 202
        pk = response.json()["id"]
        # The worker tried, failed, and put the mail back in the queue for a later attempt.
        wait_until(
            lambda: OutgoingEmail.objects.filter(
                pk=pk, attempts__gte=1, status=OutgoingEmail.Status.QUEUED
            ).exists(),
            timeout=30,
        )
        assert OutgoingEmail.objects.get(pk=pk).last_error
        assert smtp_server.to("dora@example.org") == []

    smtp_server.wait_for("dora@example.org", timeout=60)
    wait_until(lambda: OutgoingEmail.objects.get(pk=pk).status == OutgoingEmail.Status.SENT)
    assert len(smtp_server.to("dora@example.org")) == 1


@pytest.mark.django_db
def test_stripe_down_answers_503_with_retry_after_and_the_retry_charges_once(
    api_client, campaign, localstripe, settings
):
    body = donation_start(api_client, campaign.slug, amount=2500)
    localstripe.save_card(body["client_secret"])

    real_stripe = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # the Stripe API unreachable
    down = donation_complete(api_client, body["id"])
    assert down.status_code == 503
    assert down.json()["code"] == "payment_provider_unavailable"
    assert int(down["Retry-After"]) > 0
    assert localstripe.request("GET", "/v1/payment_intents?limit=100")["data"] == []

    settings.STRIPE_API_BASE = real_stripe
    for _ in range(2):  # the donor's retry, and a second click
        again = donation_complete(api_client, body["id"])
        assert again.status_code == 200, again.json()
        assert again.json()["status"] == "succeeded"
    intents = localstripe.request("GET", "/v1/payment_intents?limit=100")["data"]
    assert [intent["amount"] for intent in intents] == [2500]
