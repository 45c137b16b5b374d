"""Deliveries to officials end to end: the counter pass crosses a milestone, a real Celery
worker sends through a real SMTP server; retries and a killed worker never double a mail."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.celery import app
from campaign.models import OutgoingEmail
from campaign.outbox.sweeping import outgoing_email_sweep
from officials.deliveries import (
    deliveries_for_milestone_create,
    deliveries_release,
    deliveries_sync,
    delivery_resend,
)
from officials.models import Delivery
from petitions.counting import petition_counts_update
from tests.conftest import broker_unreachable, wait_until
from tests.officials.test_report import pdf_text

pytestmark = pytest.mark.integration


def _synced_status(delivery_id: int) -> str:
    deliveries_sync()
    return Delivery.objects.get(pk=delivery_id).status


def test_crossing_a_milestone_mails_each_planned_official_once_with_their_numbers(
    celery_worker, smtp_server, regions, make_petition, sign, make_official, make_plan, make_milestone
):
    petition = make_petition()
    berlin = make_official(constituency=regions[75], salutation="Sehr geehrte Frau Beispiel")
    munich = make_official(constituency=regions[220], language="en", salutation="Dear Mr Isar")
    ministry = make_official(constituency=None)
    make_plan(petition, [berlin, munich, ministry], milestones=[4])
    milestone = make_milestone(petition, 4)
    for postcode in ["10115", "10119", "80331", "20095"]:
        sign(petition, postcode=postcode)

    petition_counts_update()

    (to_berlin,) = smtp_server.wait_for(berlin.email)
    (to_munich,) = smtp_server.wait_for(munich.email)
    (to_ministry,) = smtp_server.wait_for(ministry.email)
    body = to_berlin.get_body(preferencelist=("plain",)).get_content()
    assert "Unterschriften insgesamt: 4" in body
    assert "Ihr Wahlkreis 75 Berlin-Mitte: 2 Unterschriften (50,0 % der Online-Unterschriften)" in body
    english = to_munich.get_body(preferencelist=("plain",)).get_content()
    assert "Total signatures: 4" in english
    assert (
        "Your constituency 220 München-West/Mitte: 1 signatures (25.0 % of the online signatures)" in english
    )
    assert "Wahlkreis" not in to_ministry.get_body(preferencelist=("plain",)).get_content()
    for message, total_line in [
        (to_berlin, "Unterschriften insgesamt: 4"),
        (to_munich, "Total signatures: 4"),
        (to_ministry, "Unterschriften insgesamt: 4"),
    ]:
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert total_line in pdf_text(attachment.get_content())
    for delivery in Delivery.objects.all():
        wait_until(lambda d=delivery: _synced_status(d.pk) == Delivery.Status.SENT)
    delivery = Delivery.objects.get(official=berlin)
    assert delivery.message_id == to_berlin["Message-ID"]
    assert delivery.sent_at is not None

    # The task and the service run again (a retry, a redelivered message): still one mail each.
    deliveries_for_milestone_create(milestone_id=milestone.pk)
    app.send_task("officials.deliveries_for_milestone_create", args=[milestone.pk])
    app.send_task("campaign.outgoing_email_send", args=[delivery.outgoing_email_id])
    app.send_task("officials.deliveries_process")
    outgoing_email_sweep(now=timezone.now() + timedelta(hours=1))
    time.sleep(2)  # give a wrongly sent duplicate the time to arrive
    for official in (berlin, munich, ministry):
        assert len(smtp_server.to(official.email)) == 1
    assert Delivery.objects.count() == 3


def test_a_worker_killed_mid_delivery_leaves_it_for_review_and_never_resends_by_itself(
    start_worker,
    celery_worker,
    smtp_server,
    regions,
    make_petition,
    sign,
    make_official,
    make_plan,
    make_milestone,
):
    from django.conf import settings

    petition = make_petition()
    official = make_official(constituency=regions[75])
    make_plan(petition, [official], milestones=[1])
    make_milestone(petition, 1)
    sign(petition)
    # The broker is down during the pass, so the mail's task goes only to the victim below.
    with broker_unreachable():
        petition_counts_update()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.QUEUED

    victim_queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-victim"
    victim = start_worker(env=smtp_server.env, name="officials-victim", concurrency=1, queues=victim_queue)
    smtp_server.hang_for.add(official.email)
    app.send_task("campaign.outgoing_email_send", args=[delivery.outgoing_email_id], queue=victim_queue)
    wait_until(lambda: OutgoingEmail.objects.get(pk=delivery.outgoing_email_id).status == "inflight")
    wait_until(lambda: smtp_server.hanging)  # the worker is inside the SMTP conversation

    victim.kill()
    smtp_server.hang_for.clear()

    outgoing_email_sweep(now=timezone.now() + timedelta(hours=1))  # the dead worker's row
    assert _synced_status(delivery.pk) == Delivery.Status.NEEDS_REVIEW
    # Later sweeps and runs do not send it again.
    outgoing_email_sweep(now=timezone.now() + timedelta(hours=2))
    app.send_task("officials.deliveries_process")
    time.sleep(2)
    assert smtp_server.to(official.email) == []
    assert _synced_status(delivery.pk) == Delivery.Status.NEEDS_REVIEW

    # Staff checked with the office and resend explicitly: exactly one mail.
    assert delivery_resend(delivery_id=delivery.pk)
    smtp_server.wait_for(official.email)
    wait_until(lambda: _synced_status(delivery.pk) == Delivery.Status.SENT)
    assert len(smtp_server.to(official.email)) == 1


def test_the_hourly_cap_holds_mails_back_until_a_later_run(
    celery_worker, smtp_server, regions, make_petition, sign, make_official, make_plan, make_milestone
):
    petition = make_petition()
    officials = [make_official() for _ in range(3)]
    make_plan(petition, officials, milestones=[1], hourly_cap=2)
    make_milestone(petition, 1)
    sign(petition)

    petition_counts_update()

    wait_until(lambda: sum(1 for o in officials if smtp_server.to(o.email)) == 2)
    (held,) = [o for o in officials if not smtp_server.to(o.email)]
    time.sleep(1)
    assert smtp_server.to(held.email) == []  # over the cap: still scheduled
    assert Delivery.objects.get(official=held).status == Delivery.Status.SCHEDULED

    deliveries_release(now=timezone.now() + timedelta(minutes=61))  # the next hour's run

    smtp_server.wait_for(held.email)
    assert all(len(smtp_server.to(o.email)) == 1 for o in officials)
