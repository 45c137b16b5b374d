"""The petition flow end to end: the real PostgreSQL, a real Celery worker process on Redis,
the real SMTP server, and HTTP against a live server."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.test import override_settings

from campaign.models import OutgoingEmail
from petitions.models import Petition, Signature
from petitions.tasks import petition_counts_update_task
from tests.conftest import broker_unreachable, wait_until
from tests.fixtures.petitions import PetitionFactory, mail_link_token, sign_payload

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

# Generous: the worker shares two cores with the whole test run.
WORKER_TIMEOUT = 60


@pytest.fixture
def open_petition(transactional_db) -> Petition:
    return PetitionFactory()


def post_json(url: str, payload: dict, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def counted_total(api_client, petition: Petition) -> int:
    from petitions.counting import petition_counts_update
    from petitions.selectors import count_now, count_period_start, petition_count_cache_clear

    # The worker ran the pass: its change shows from the first count period after its stamp;
    # a second change in the same period waits for the next pass (the beat's, here ours).
    while True:
        stored = Petition.objects.get(pk=petition.pk)
        changed_at = stored.public_count_changed_at
        while changed_at and count_period_start(count_now()) < changed_at.timestamp():
            time.sleep(0.1)
        if stored.public_count == stored.signature_count:
            break
        petition_counts_update()
    petition_count_cache_clear()
    return api_client.get(f"/api/v1/petitions/{petition.slug}/count/").json()["signature_count"]


def test_sign_mail_confirm_count_and_recent_signers(api_client, celery_worker, smtp_server, open_petition):
    url = f"/api/v1/petitions/{open_petition.slug}/signatures/"
    shown = api_client.post(url, sign_payload(email="shown@example.org", first_name="Anna"), format="json")
    hidden = api_client.post(
        url,
        sign_payload(email="hidden@example.org", first_name="Bernd", show_name_publicly=False),
        format="json",
    )
    assert shown.status_code == hidden.status_code == 202

    # The confirmation mail arrives over SMTP, from the worker.
    [mail] = smtp_server.wait_for("shown@example.org", timeout=WORKER_TIMEOUT)
    [hidden_mail] = smtp_server.wait_for("hidden@example.org", timeout=WORKER_TIMEOUT)
    assert "Anna" in mail.get_body(preferencelist=("plain",)).get_content()
    assert mail.get_body(preferencelist=("html",)) is not None
    assert "Beispiel-Kinderschutz" in mail.get_body(preferencelist=("plain",)).get_content()  # imprint

    # Nothing counts before confirmation.
    from petitions.counting import petition_counts_update

    petition_counts_update()
    assert Petition.objects.get(pk=open_petition.pk).signature_count == 0
    for message in (mail, hidden_mail):
        response = api_client.post(
            "/api/v1/signatures/confirm/", {"token": mail_link_token(message, "confirm")}, format="json"
        )
        assert response.json()["status"] == "confirmed"

    petition_counts_update_task.delay()
    wait_until(lambda: Petition.objects.get(pk=open_petition.pk).signature_count == 2, timeout=WORKER_TIMEOUT)

    assert counted_total(api_client, open_petition) == 2
    signers = api_client.get(f"/api/v1/petitions/{open_petition.slug}/recent-signers/").json()
    assert [s["name"] for s in signers] == ["Anna M."]  # Bernd did not agree to be shown


def test_repeated_signing_keeps_one_row_and_caps_the_mails(
    api_client, celery_worker, smtp_server, open_petition
):
    url = f"/api/v1/petitions/{open_petition.slug}/signatures/"
    for email in ["Max.Muster@example.org", "max.muster+petition@example.org", "MAX.MUSTER@EXAMPLE.ORG"]:
        assert api_client.post(url, sign_payload(email=email), format="json").status_code == 202

    smtp_server.wait_for("max.muster@example.org", timeout=WORKER_TIMEOUT)
    assert Signature.objects.filter(petition=open_petition).count() == 1
    # Within the resend interval the repeats write no further mail.
    assert OutgoingEmail.objects.filter(kind="petitions-signature-confirm").count() == 1
    wait_until(
        lambda: OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT, timeout=WORKER_TIMEOUT
    )
    assert len(smtp_server.to("max.muster@example.org")) == 1


@pytest.fixture
def wide_live_server(transactional_db):
    """A threaded live server like pytest-django's, with a listen backlog that takes 50
    simultaneous connections (Django's default backlog of 10 resets the rest)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    class WideServer(ThreadedWSGIServer):
        request_queue_size = 128

    server = WideServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fifty_concurrent_identical_signings_make_one_row_and_one_mail(
    wide_live_server, celery_worker, smtp_server, open_petition
):
    url = f"{wide_live_server}/api/v1/petitions/{open_petition.slug}/signatures/"
    barrier = threading.Barrier(50)
    results: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def sign() -> None:
        barrier.wait()
        result = post_json(url, sign_payload(email="crowd@example.org"))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=sign) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 50
    assert {status for status, _ in results} == {202}
    assert {body for _, body in results} == {b'{"status":"pending_confirmation"}'}
    assert Signature.objects.filter(petition=open_petition).count() == 1
    assert OutgoingEmail.objects.count() == 1
    smtp_server.wait_for("crowd@example.org", timeout=WORKER_TIMEOUT)
    wait_until(
        lambda: OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT, timeout=WORKER_TIMEOUT
    )
    assert len(smtp_server.to("crowd@example.org")) == 1


def test_signing_works_with_redis_down_and_the_sweeper_sends_the_mail_later(
    api_client, celery_worker, smtp_server, open_petition
):
    from campaign.outbox.publisher import publisher_flush
    from campaign.outbox.sweeping import outgoing_email_sweep

    with broker_unreachable():
        response = api_client.post(
            f"/api/v1/petitions/{open_petition.slug}/signatures/",
            sign_payload(email="offline@example.org"),
            format="json",
        )
        # The background publish tried (and failed) while Redis was still down.
        assert publisher_flush(timeout=WORKER_TIMEOUT)
    assert response.status_code == 202
    assert Signature.objects.filter(petition=open_petition).count() == 1
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.QUEUED

    # Redis is back: the beat's sweeper re-enqueues the waiting row.
    with override_settings(OUTBOX_REQUEUE_AFTER_SECONDS=0):
        outgoing_email_sweep()
    [mail] = smtp_server.wait_for("offline@example.org", timeout=WORKER_TIMEOUT)
    assert mail_link_token(mail, "confirm")


def test_the_worker_flags_an_ip_burst_silently(api_client, celery_worker, smtp_server, open_petition):
    url = f"/api/v1/petitions/{open_petition.slug}/signatures/"
    responses = [
        api_client.post(
            url, sign_payload(email=f"burst{i}@example.org"), format="json", REMOTE_ADDR="192.0.2.99"
        )
        for i in range(12)
    ]
    assert {r.status_code for r in responses} == {202}
    assert len({r.content for r in responses}) == 1

    # Every signer still gets the mail (flagging is silent); the checks ran in the worker.
    smtp_server.wait_for("burst11@example.org", timeout=WORKER_TIMEOUT)
    wait_until(
        lambda: not Signature.objects.filter(petition=open_petition, fraud_checked_at__isnull=True).exists(),
        timeout=WORKER_TIMEOUT,
    )
    flagged = Signature.objects.filter(petition=open_petition, is_flagged=True)
    # The default burst limit is 10 per minute per IP and petition.
    assert sorted(flagged.values_list("email", flat=True)) == ["burst10@example.org", "burst11@example.org"]
    assert set(flagged.values_list("flag_reason", flat=True)) == {"ip_burst"}


def test_withdraw_from_the_mail_erases_data_and_the_next_pass_subtracts(
    api_client, celery_worker, smtp_server, open_petition
):
    api_client.post(
        f"/api/v1/petitions/{open_petition.slug}/signatures/",
        sign_payload(email="leave@example.org"),
        format="json",
    )
    [mail] = smtp_server.wait_for("leave@example.org", timeout=WORKER_TIMEOUT)
    api_client.post("/api/v1/signatures/confirm/", {"token": mail_link_token(mail, "confirm")}, format="json")
    petition_counts_update_task.delay()
    wait_until(lambda: Petition.objects.get(pk=open_petition.pk).signature_count == 1, timeout=WORKER_TIMEOUT)

    response = api_client.post(
        "/api/v1/signatures/withdraw/", {"token": mail_link_token(mail, "withdraw")}, format="json"
    )
    assert response.json() == {"status": "withdrawn"}
    signature = Signature.objects.get()
    assert (signature.first_name, signature.last_name, signature.email) == ("", "", "")
    assert "leave" not in signature.email_normalized
    assert not OutgoingEmail.objects.filter(to_email__icontains="leave").exists()

    petition_counts_update_task.delay()
    wait_until(lambda: Petition.objects.get(pk=open_petition.pk).signature_count == 0, timeout=WORKER_TIMEOUT)
    assert counted_total(api_client, open_petition) == 0


def test_a_milestone_mails_staff_once(celery_worker, smtp_server, open_petition, settings):
    from petitions.counting import petition_counts_update
    from petitions.models import Milestone
    from tests.fixtures.petitions import MilestoneFactory, SignatureFactory

    settings.STAFF_NOTIFICATION_EMAILS = ["campaign-staff@example.org"]
    MilestoneFactory(petition=open_petition, target=2)
    SignatureFactory.create_batch(2, petition=open_petition, status=Signature.Status.CONFIRMED)

    petition_counts_update()
    petition_counts_update()

    [mail] = smtp_server.wait_for("campaign-staff@example.org", timeout=WORKER_TIMEOUT)
    assert "Meilenstein erreicht: 2 Unterschriften" in mail["Subject"]
    assert Milestone.objects.get().reached_at is not None
    assert OutgoingEmail.objects.filter(kind="petitions-milestone-reached").count() == 1
