"""The outbox end to end: Redis, a real Celery worker process, a real SMTP server."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.celery import app
from campaign.models import OutgoingEmail
from campaign.outbox.queueing import outgoing_email_queue
from campaign.outbox.sweeping import outgoing_email_sweep
from tests.conftest import broker_unreachable, wait_until

pytestmark = pytest.mark.integration


def _status(pk: int) -> str:
    return OutgoingEmail.objects.get(pk=pk).status


def test_a_queued_mail_travels_through_the_worker_and_arrives_once(celery_worker, smtp_server, staff_client):
    response = staff_client.post(
        "/api/v1/staff/test-email/", {"email": "ada@example.org", "locale": "en"}, format="json"
    )

    assert response.status_code == 202
    pk = response.json()["id"]
    messages = smtp_server.wait_for("ada@example.org")
    wait_until(lambda: _status(pk) == OutgoingEmail.Status.SENT)
    assert messages[0]["Subject"] == "Test message"
    assert OutgoingEmail.objects.get(pk=pk).message_id == messages[0]["Message-ID"]
    outgoing_email_sweep()  # nothing left to resend
    assert len(smtp_server.to("ada@example.org")) == 1


def test_with_the_broker_down_the_request_succeeds_and_the_sweeper_sends_later(
    celery_worker, smtp_server, staff_client
):
    with broker_unreachable():
        response = staff_client.post("/api/v1/staff/test-email/", {"email": "bea@example.org"}, format="json")

    assert response.status_code == 202
    pk = response.json()["id"]
    assert _status(pk) == OutgoingEmail.Status.QUEUED
    assert smtp_server.to("bea@example.org") == []

    # The broker is back; the sweep after the requeue delay hands the row to the worker.
    outgoing_email_sweep(now=timezone.now() + timedelta(hours=1))

    smtp_server.wait_for("bea@example.org")
    wait_until(lambda: _status(pk) == OutgoingEmail.Status.SENT)
    assert len(smtp_server.to("bea@example.org")) == 1


def test_two_deliveries_of_the_same_task_send_once(celery_worker, smtp_server):
    email = outgoing_email_queue(kind="test_message", to_email="cem@example.org", context={"name": "Cem"})
    # Two more messages for the same row, picked up by the worker's two processes at once.
    app.send_task("campaign.outgoing_email_send", args=[email.pk])
    app.send_task("campaign.outgoing_email_send", args=[email.pk])

    smtp_server.wait_for("cem@example.org")
    wait_until(lambda: _status(email.pk) == OutgoingEmail.Status.SENT)
    time.sleep(1.5)  # give a wrongly-claimed duplicate the time to arrive
    assert len(smtp_server.to("cem@example.org")) == 1
    assert OutgoingEmail.objects.get(pk=email.pk).attempts == 1


def test_a_mail_whose_worker_was_killed_mid_send_is_sent_again(start_worker, celery_worker, smtp_server):
    from django.conf import settings

    victim_queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-victim"
    victim = start_worker(env=smtp_server.env, name="victim", concurrency=1, queues=victim_queue)
    smtp_server.hang_for.add("dan@example.org")
    # The row as a service writes it; its task goes to the victim worker only.
    email = OutgoingEmail.objects.create(
        kind="test_message", to_email="dan@example.org", context={"name": "Dan"}, enqueued_at=timezone.now()
    )
    app.send_task("campaign.outgoing_email_send", args=[email.pk], queue=victim_queue)
    wait_until(lambda: _status(email.pk) == OutgoingEmail.Status.INFLIGHT)
    wait_until(lambda: smtp_server.hanging)  # the worker is inside the SMTP conversation

    victim.kill()
    smtp_server.hang_for.clear()

    assert _status(email.pk) == OutgoingEmail.Status.INFLIGHT  # left behind by the dead worker
    outgoing_email_sweep(now=timezone.now() + timedelta(hours=1))

    smtp_server.wait_for("dan@example.org")
    wait_until(lambda: _status(email.pk) == OutgoingEmail.Status.SENT)
    assert OutgoingEmail.objects.get(pk=email.pk).attempts == 2
    assert len(smtp_server.to("dan@example.org")) == 1
