"""Deliveries to officials at the service level: which rows and outbox mails exist after
milestones, weekly runs and capped releases. The real worker and SMTP server are in
tests/integration/test_officials_delivery.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaign.emails import email_render
from campaign.models import OutgoingEmail
from officials.deliveries import (
    deliveries_for_milestone_create,
    deliveries_process,
    deliveries_release,
    deliveries_sync,
    delivery_resend,
)
from officials.models import Delivery, DeliveryPlan
from petitions.counting import petition_counts_update
from petitions.models import Milestone, Signature
from tests.fixtures.officials import WEEKLY_MONDAY_9


def _outbox() -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(kind="officials_delivery").order_by("pk"))


def test_a_milestone_creates_one_delivery_per_planned_official_with_a_snapshot(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    mitte_mp = make_official(constituency=regions[75])
    ministry = make_official(constituency=None, language="en")
    make_plan(petition, [mitte_mp, ministry], milestones=[3, 10])
    milestone = make_milestone(petition, 3)
    for postcode in ["10115", "10119", "20095"]:
        sign(petition, postcode=postcode)

    petition_counts_update()  # crosses 3: the pass calls deliveries_for_milestone_create

    deliveries = {d.official_id: d for d in Delivery.objects.filter(petition=petition)}
    assert set(deliveries) == {mitte_mp.pk, ministry.pk}
    mp = deliveries[mitte_mp.pk]
    assert mp.trigger == "milestone:3"
    assert mp.status == Delivery.Status.QUEUED
    assert (mp.totals["total"], mp.totals["online"], mp.totals["offline"]) == (3, 3, 0)
    assert mp.totals["constituency"]["number"] == 75
    assert mp.totals["constituency"]["count"] == 2  # 10115 and 10119 (larger share in Mitte)
    assert mp.totals["constituency"]["share_percent"] == "66.7"
    assert deliveries[ministry.pk].totals["constituency"] is None
    emails = _outbox()
    assert {e.to_email for e in emails} == {mitte_mp.email, ministry.email}
    # At-most-once, and no personal data rests in the outbox row.
    assert all(e.at_most_once and e.context == {} for e in emails)
    assert {e.locale for e in emails} == {"de", "en"}

    # A retried call, or the task running again, adds nothing.
    assert deliveries_for_milestone_create(milestone_id=milestone.pk) == 0
    assert Delivery.objects.count() == 2
    assert len(_outbox()) == 2


def test_a_parliament_plan_reaches_its_active_officials_once(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    mp = make_official(constituency=regions[18])
    other = make_official(constituency=regions[217])
    make_official(constituency=regions[19], active=False)
    make_plan(petition, [mp], parliament="bundestag", milestones=[1])
    make_plan(petition, [mp], name="Zweiter Plan", milestones=[1])
    milestone = make_milestone(petition, 1)
    sign(petition)
    petition_counts_update()

    assert Milestone.objects.get(pk=milestone.pk).reached_at is not None
    assert sorted(Delivery.objects.values_list("official_id", flat=True)) == sorted([mp.pk, other.pk])


def test_a_count_that_drops_below_and_rises_over_the_milestone_sends_nothing_new(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    make_plan(petition, [make_official()], milestones=[2])
    make_milestone(petition, 2)
    first = sign(petition)
    sign(petition)
    petition_counts_update()
    assert Delivery.objects.count() == 1

    Signature.objects.filter(pk=first.pk).update(status=Signature.Status.WITHDRAWN)
    petition_counts_update()
    sign(petition)
    petition_counts_update()
    deliveries_process()

    petition.refresh_from_db()
    assert petition.signature_count == 2
    assert Delivery.objects.count() == 1
    assert len(_outbox()) == 1


def test_the_mail_states_the_totals_and_attaches_the_report_without_names(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    official = make_official(constituency=regions[75], salutation="Sehr geehrte Frau Dr. Beispiel")
    make_plan(petition, [official], milestones=[2])
    make_milestone(petition, 2)
    sign(petition, postcode="10115", first_name="Geheim", last_name="Person", share_name_with_officials=True)
    sign(petition, postcode="80331")
    petition_counts_update()

    message = email_render(_outbox()[0])

    body = message.body
    assert message.subject == f"2 Unterschriften: „{petition.title_de}“"
    assert "Sehr geehrte Frau Dr. Beispiel," in body
    assert "Unterschriften insgesamt: 2" in body
    assert "Ihr Wahlkreis 75 Berlin-Mitte: 1 Unterschriften (50,0 % der Online-Unterschriften)" in body
    assert f"/?petition={petition.slug}" in body
    assert "Geheim" not in body and "signer" not in body  # no personal data in the mail
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == (f"uebergabebericht-{petition.slug}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    from tests.officials.test_report import pdf_text

    assert "Geheim" not in pdf_text(content)  # the plan did not choose to include names


def test_names_go_into_the_report_only_when_the_plan_includes_them(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    official = make_official(constituency=regions[75], language="en")
    make_plan(petition, [official], milestones=[2], include_names=True)
    make_milestone(petition, 2)
    sign(
        petition, postcode="10115", first_name="Anna", last_name="Zustimmung", share_name_with_officials=True
    )
    sign(petition, postcode="10115", first_name="Bert", last_name="Ohnezustimmung")
    petition_counts_update()

    message = email_render(_outbox()[0])

    assert message.subject == f"2 signatures: “{petition.title_en}”"
    assert (
        "Your constituency 75 Berlin-Mitte: 2 signatures (100.0 % of the online signatures)" in message.body
    )
    from tests.officials.test_report import pdf_text

    text = pdf_text(message.attachments[0][1])
    assert "Anna Zustimmung" in text
    assert "Ohnezustimmung" not in text


def _utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_the_weekly_schedule_sends_only_when_the_count_changed(
    regions, petition, sign, make_official, make_plan
):
    official = make_official(constituency=regions[75])
    make_plan(petition, [official], **WEEKLY_MONDAY_9)  # Monday 09:00 Berlin = 08:00 UTC in winter
    sign(petition)
    petition_counts_update()

    deliveries_process(now=_utc(11, 30, 7, 59))  # Monday 30 Nov, 08:59 in Berlin: not yet
    assert Delivery.objects.count() == 0

    deliveries_process(now=_utc(11, 30, 8, 1))
    assert list(Delivery.objects.values_list("trigger", "status")) == [("period:2026-W49", "queued")]
    deliveries_process(now=_utc(11, 30, 12))  # the same week: evaluated once
    assert Delivery.objects.count() == 1

    deliveries_process(now=_utc(12, 7, 8, 5))  # Monday 7 Dec: the count has not changed
    assert Delivery.objects.count() == 1

    sign(petition, postcode="10119")
    petition_counts_update()
    deliveries_process(now=_utc(12, 10, 10))  # Thursday 10 Dec: this week was evaluated on Monday
    deliveries_process(now=_utc(12, 14, 8, 1))  # Monday 14 Dec: changed since the last mail
    assert list(Delivery.objects.order_by("created_at").values_list("trigger", flat=True)) == [
        "period:2026-W49",
        "period:2026-W51",
    ]
    latest = Delivery.objects.get(trigger="period:2026-W51")
    assert (latest.totals["total"], latest.totals["constituency"]["count"]) == (2, 2)
    assert len(_outbox()) == 2


def test_the_hourly_cap_spreads_a_large_delivery_over_several_runs(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    officials = [make_official() for _ in range(5)]
    make_plan(petition, officials, milestones=[1], hourly_cap=2)
    milestone = make_milestone(petition, 1)
    sign(petition)
    petition_counts_update()
    Milestone.objects.filter(pk=milestone.pk).update(reached_at=None)
    Delivery.objects.all().delete()
    OutgoingEmail.objects.all().delete()
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    assert deliveries_for_milestone_create(milestone_id=milestone.pk, now=start) == 5
    assert Delivery.objects.filter(status=Delivery.Status.QUEUED).count() == 2
    assert deliveries_release(now=start + timedelta(minutes=30)) == 0  # the hour is full
    assert deliveries_release(now=start + timedelta(minutes=61)) == 2
    assert deliveries_release(now=start + timedelta(minutes=90)) == 0
    assert deliveries_release(now=start + timedelta(minutes=122)) == 1

    assert Delivery.objects.filter(status=Delivery.Status.SCHEDULED).count() == 0
    assert len(_outbox()) == 5
    assert sorted(e.to_email for e in _outbox()) == sorted(o.email for o in officials)


def test_the_delivery_reflects_its_mail_and_staff_can_resend_one_that_needs_review(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    make_plan(petition, [make_official(), make_official()], milestones=[1])
    make_milestone(petition, 1)
    sign(petition)
    petition_counts_update()
    sent, stuck = Delivery.objects.order_by("pk")
    OutgoingEmail.objects.filter(pk=sent.outgoing_email_id).update(
        status=OutgoingEmail.Status.SENT,
        sent_at=datetime(2026, 11, 30, tzinfo=UTC),
        message_id="<m1@example.org>",
    )
    OutgoingEmail.objects.filter(pk=stuck.outgoing_email_id).update(status=OutgoingEmail.Status.NEEDS_REVIEW)

    assert deliveries_sync() == 2

    sent.refresh_from_db()
    stuck.refresh_from_db()
    assert (sent.status, sent.message_id) == (Delivery.Status.SENT, "<m1@example.org>")
    assert stuck.status == Delivery.Status.NEEDS_REVIEW
    deliveries_process()  # nothing automatic resends it
    assert OutgoingEmail.objects.filter(subject_id=stuck.pk).count() == 1

    assert delivery_resend(delivery_id=sent.pk) is False  # a sent delivery is never resent
    assert delivery_resend(delivery_id=stuck.pk) is True
    stuck.refresh_from_db()
    assert (stuck.status, stuck.resend_count) == (Delivery.Status.QUEUED, 1)
    assert OutgoingEmail.objects.filter(subject_id=stuck.pk).count() == 2


def test_a_plan_without_a_complete_schedule_is_rejected_by_the_database(petition):
    import pytest
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryPlan.objects.create(petition=petition, name="halb", schedule_weekday=0)


def test_a_waiting_delivery_to_an_official_deactivated_meanwhile_is_canceled(
    regions, petition, sign, make_official, make_plan, make_milestone
):
    first, second = make_official(), make_official()
    make_plan(petition, [first, second], milestones=[1], hourly_cap=1)
    make_milestone(petition, 1)
    sign(petition)
    petition_counts_update()
    waiting = Delivery.objects.get(status=Delivery.Status.SCHEDULED)
    waiting.official.active = False
    waiting.official.save(update_fields=["active"])

    assert deliveries_release(now=datetime.now(UTC) + timedelta(hours=2)) == 0

    waiting.refresh_from_db()
    assert waiting.status == Delivery.Status.CANCELED
    assert OutgoingEmail.objects.filter(subject_id=waiting.pk).count() == 0
