"""The outbox: rows claimed once, sent once, retried on transient errors, swept when stuck."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from campaign.models import OutgoingEmail
from campaign.outbox.queueing import outgoing_email_queue
from campaign.outbox.sending import TransientEmailError, outgoing_email_send
from campaign.outbox.sweeping import outgoing_email_sweep

pytestmark = pytest.mark.django_db


def _queue(**kwargs) -> OutgoingEmail:
    defaults = {
        "kind": "test_message",
        "to_email": "ada@example.org",
        "locale": "de",
        "context": {"name": "Ada"},
    }
    return outgoing_email_queue(**{**defaults, **kwargs})


def test_queueing_enqueues_only_after_commit(django_capture_on_commit_callbacks):
    from campaign.tasks import outgoing_email_send_task

    with mock.patch("campaign.outbox.queueing.task_enqueue") as enqueue:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            email = _queue()
            enqueue.assert_not_called()  # nothing leaves before the transaction commits

    assert len(callbacks) == 1
    enqueue.assert_called_once_with(outgoing_email_send_task, email.pk)


def test_sending_claims_the_row_and_sends_once():
    email = _queue()

    assert outgoing_email_send(outgoing_email_id=email.pk) is True
    assert outgoing_email_send(outgoing_email_id=email.pk) is False  # a redelivered message

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert email.attempts == 1
    assert email.context == {}  # the data is dropped once sent
    assert email.message_id
    assert len(mail.outbox) == 1


def test_the_mail_is_rendered_in_the_locale_with_the_imprint(settings):
    settings.ORGANISATION = {
        **settings.ORGANISATION,
        "name": "Kinderschutz e.V.",
        "address": "Weg 1, 12345 Ort",
    }
    de = _queue(locale="de")
    en = _queue(locale="en", to_email="bob@example.org")

    outgoing_email_send(outgoing_email_id=de.pk)
    outgoing_email_send(outgoing_email_id=en.pk)

    german, english = mail.outbox
    assert german.subject == "Testnachricht"
    assert "Hallo Ada" in german.body
    assert english.subject == "Test message"
    for message in (german, english):
        assert "Kinderschutz e.V." in message.body
        assert "Weg 1, 12345 Ort" in message.body
        html = message.alternatives[0][0]
        assert "Kinderschutz e.V." in html


def test_an_unknown_locale_falls_back_to_german():
    email = _queue(locale="fr")

    assert email.locale == "de"


def test_a_transient_error_puts_the_row_back_in_the_queue():
    email = _queue()

    with mock.patch("campaign.outbox.sending.email_deliver", side_effect=smtplib.SMTPServerDisconnected()):
        with pytest.raises(TransientEmailError):
            outgoing_email_send(outgoing_email_id=email.pk)

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.QUEUED
    assert email.last_error == "SMTPServerDisconnected"


def test_a_refused_recipient_fails_for_good():
    email = _queue()
    refused = smtplib.SMTPRecipientsRefused({"ada@example.org": (550, b"no such user")})

    with mock.patch("campaign.outbox.sending.email_deliver", side_effect=refused):
        assert outgoing_email_send(outgoing_email_id=email.pk) is False

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.FAILED


def test_the_task_marks_the_row_failed_when_retries_are_used_up(settings):
    from campaign.tasks import outgoing_email_send_task

    settings.OUTBOX_MAX_ATTEMPTS = 0
    email = _queue()

    with mock.patch("campaign.outbox.sending.email_deliver", side_effect=ConnectionRefusedError()):
        outgoing_email_send_task.apply(args=[email.pk])

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.FAILED


def test_the_sweeper_requeues_old_queued_rows_and_resends_rows_of_dead_workers():
    fresh = _queue(to_email="fresh@example.org")
    old = _queue(to_email="old@example.org")
    stuck = _queue(to_email="stuck@example.org")
    official = _queue(to_email="mp@example.org", at_most_once=True)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    OutgoingEmail.objects.filter(pk=old.pk).update(enqueued_at=an_hour_ago)
    OutgoingEmail.objects.filter(pk__in=[stuck.pk, official.pk]).update(
        status=OutgoingEmail.Status.INFLIGHT, claimed_at=an_hour_ago
    )

    with mock.patch("campaign.tasks.outgoing_email_send_task.delay") as delay:
        result = outgoing_email_sweep()

    assert result == {"requeued": 1, "resent": 1, "needs_review": 1}
    assert sorted(c.args[0] for c in delay.call_args_list) == sorted([old.pk, stuck.pk])
    assert OutgoingEmail.objects.get(pk=stuck.pk).status == OutgoingEmail.Status.QUEUED
    # at-most-once mail (to officials) is never sent again automatically
    assert OutgoingEmail.objects.get(pk=official.pk).status == OutgoingEmail.Status.NEEDS_REVIEW
    assert OutgoingEmail.objects.get(pk=fresh.pk).status == OutgoingEmail.Status.QUEUED


def test_the_sweeper_survives_a_broker_that_is_still_down():
    old = _queue()
    OutgoingEmail.objects.filter(pk=old.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))

    with mock.patch("campaign.tasks.outgoing_email_send_task.delay", side_effect=ConnectionRefusedError()):
        outgoing_email_sweep()

    assert OutgoingEmail.objects.get(pk=old.pk).status == OutgoingEmail.Status.QUEUED


def test_an_at_most_once_mail_whose_connection_broke_mid_send_goes_to_review(smtp_server):
    # The server takes the message, then the connection drops before its answer: the mail may
    # have arrived, so a mail to an official must not be sent again automatically.
    smtp_server.drop_after_data_for.add("mp@example.org")
    email = _queue(to_email="mp@example.org", at_most_once=True)

    assert outgoing_email_send(outgoing_email_id=email.pk) is False

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.NEEDS_REVIEW
    assert len(smtp_server.to("mp@example.org")) == 1


def test_an_at_least_once_mail_whose_connection_broke_is_sent_again(smtp_server):
    smtp_server.drop_after_data_for.add("ada@example.org")
    email = _queue(to_email="ada@example.org")

    with pytest.raises(TransientEmailError):
        outgoing_email_send(outgoing_email_id=email.pk)  # tried twice over two connections

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.QUEUED  # the retry comes later
    assert len(smtp_server.to("ada@example.org")) == 2


def test_a_kept_connection_the_server_closed_is_replaced_before_sending(smtp_server):
    from campaign import emails

    first = _queue(to_email="one@example.org")
    outgoing_email_send(outgoing_email_id=first.pk)
    emails._local.connection.connection.sock.close()  # the server hung up while idle
    second = _queue(to_email="two@example.org", at_most_once=True)

    assert outgoing_email_send(outgoing_email_id=second.pk) is True

    assert len(smtp_server.to("two@example.org")) == 1


def test_one_task_sends_a_batch_and_the_batch_rows_own_tasks_do_nothing(settings):
    settings.OUTBOX_BATCH_SIZE = 3
    emails = [_queue(to_email=f"n{i}@example.org") for i in range(5)]

    assert outgoing_email_send(outgoing_email_id=emails[0].pk) is True

    # The first row and the two oldest others went out, over one connection.
    assert [m.to for m in mail.outbox] == [["n0@example.org"], ["n1@example.org"], ["n2@example.org"]]
    assert outgoing_email_send(outgoing_email_id=emails[1].pk) is False  # claimed by the batch
    statuses = list(OutgoingEmail.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["sent"] * 3 + ["queued"] * 2
    assert len(set(OutgoingEmail.objects.filter(status="sent").values_list("message_id", flat=True))) == 3


def test_an_at_most_once_mail_is_sent_alone_and_never_joins_a_batch(settings):
    settings.OUTBOX_BATCH_SIZE = 10
    official = _queue(to_email="mp@example.org", at_most_once=True)
    other = _queue(to_email="ada@example.org")

    assert outgoing_email_send(outgoing_email_id=official.pk) is True
    assert OutgoingEmail.objects.get(pk=other.pk).status == OutgoingEmail.Status.QUEUED
    assert outgoing_email_send(outgoing_email_id=other.pk) is True
    assert OutgoingEmail.objects.get(pk=official.pk).status == OutgoingEmail.Status.SENT


def test_a_transient_error_mid_batch_keeps_what_was_sent_and_queues_the_rest(settings):
    from campaign.emails import email_deliver

    settings.OUTBOX_BATCH_SIZE = 4
    emails = [_queue(to_email=f"n{i}@example.org") for i in range(4)]
    calls = []

    def deliver_twice_then_fail(message, **kwargs):
        calls.append(message.to[0])
        if len(calls) > 2:
            raise smtplib.SMTPServerDisconnected()
        return email_deliver(message, **kwargs)

    with mock.patch("campaign.outbox.sending.email_deliver", side_effect=deliver_twice_then_fail):
        assert outgoing_email_send(outgoing_email_id=emails[0].pk) is True  # its own mail went out

    statuses = list(OutgoingEmail.objects.order_by("pk").values_list("status", "last_error"))
    assert statuses == [("sent", ""), ("sent", ""), ("queued", "SMTPServerDisconnected")] + [
        ("queued", "SMTPServerDisconnected")
    ]
    # The rows put back are sent by the next task (or the sweeper) without losing any.
    assert outgoing_email_send(outgoing_email_id=emails[2].pk) is True
    assert OutgoingEmail.objects.filter(status="sent").count() == 4
    assert len(mail.outbox) == 4


def test_a_failing_row_fails_alone_and_the_batch_goes_on(settings):
    settings.OUTBOX_BATCH_SIZE = 3
    first = _queue(to_email="one@example.org")
    broken = _queue(kind="no_such_template_kind", to_email="two@example.org")
    third = _queue(to_email="three@example.org")

    assert outgoing_email_send(outgoing_email_id=first.pk) is True

    assert OutgoingEmail.objects.get(pk=broken.pk).status == OutgoingEmail.Status.FAILED
    assert OutgoingEmail.objects.get(pk=third.pk).status == OutgoingEmail.Status.SENT


def test_a_batch_is_sent_over_one_connection_checked_once(settings, smtp_server):
    from campaign import emails

    settings.OUTBOX_BATCH_SIZE = 5
    queued = [_queue(to_email=f"c{i}@example.org") for i in range(5)]
    emails._close_connection()

    with mock.patch("campaign.emails.get_connection", wraps=emails.get_connection) as connect:
        assert outgoing_email_send(outgoing_email_id=queued[0].pk) is True

    assert connect.call_count == 1
    for i in range(5):
        assert len(smtp_server.to(f"c{i}@example.org")) == 1


def test_one_message_for_many_rows_sends_them_as_one_batch_once(settings):
    from campaign.outbox.sending import outgoing_emails_send

    settings.OUTBOX_BATCH_SIZE = 10
    emails = [_queue(to_email=f"m{i}@example.org") for i in range(3)]
    official = _queue(to_email="mp@example.org", at_most_once=True)

    assert outgoing_emails_send(outgoing_email_ids=[e.pk for e in emails] + [official.pk]) == 3

    assert sorted(m.to[0] for m in mail.outbox) == [
        "m0@example.org",
        "m1@example.org",
        "m2@example.org",
        "mp@example.org",
    ]
    assert outgoing_emails_send(outgoing_email_ids=[e.pk for e in emails]) == 0  # redelivered
    assert len(mail.outbox) == 4
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_the_publisher_hands_what_piled_up_to_the_broker_in_one_message(settings):
    import queue
    import threading

    from campaign.outbox import publisher
    from campaign.tasks import outgoing_email_send_task, outgoing_emails_send_task

    settings.OUTBOX_BATCH_SIZE = 2
    pending: queue.Queue[int] = queue.Queue()
    for pk in (11, 12, 13):
        pending.put(pk)

    with mock.patch.object(publisher, "task_enqueue") as enqueue:
        threading.Thread(target=publisher._publish_forever, args=(pending,), daemon=True).start()
        pending.join()

    assert enqueue.call_args_list == [
        mock.call(outgoing_emails_send_task, [11, 12]),
        mock.call(outgoing_email_send_task, 13),  # a row alone keeps the one-row message
    ]
