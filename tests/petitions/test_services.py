"""Services of the petitions app on the real PostgreSQL: tokens, confirmation, withdrawal, the
counter pass, milestones, recount, fraud checks and invalidations."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaign.exceptions import ApplicationError
from campaign.models import OutgoingEmail
from petitions.confirmation import signature_confirm, signature_withdraw
from petitions.counting import milestones_check, petition_counts_recount, petition_counts_update
from petitions.fraud import signature_fraud_check
from petitions.hashing import ip_hash_compute, token_hash
from petitions.invalidation import invalidation_create, invalidation_preview
from petitions.models import Milestone, Petition, Signature, SignatureToken
from petitions.tokens import signature_token_mint
from petitions.validation import email_normalize
from tests.fixtures.petitions import MilestoneFactory, PetitionFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def confirm_token(signature: Signature) -> str:
    return signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)


def withdraw_token(signature: Signature) -> str:
    return signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)


@pytest.mark.parametrize(
    ("entered", "normalized"),
    [
        ("Erika@Example.ORG", "erika@example.org"),
        ("erika+petition@example.org", "erika@example.org"),
        ("e.r.i.k.a@gmail.com", "erika@gmail.com"),
        ("E.Rika+x@GoogleMail.com", "erika@gmail.com"),
        ("e.rika@web.de", "e.rika@web.de"),  # dots matter outside Gmail
    ],
)
def test_it_normalises_addresses(entered, normalized):
    assert email_normalize(entered)[0] == normalized


def test_it_stores_only_the_hash_of_a_token(petition):
    signature = SignatureFactory(petition=petition)
    token = confirm_token(signature)

    stored = SignatureToken.objects.get()
    assert token not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_it_confirms_idempotently(petition):
    signature = SignatureFactory(petition=petition)
    token = confirm_token(signature)

    assert signature_confirm(token=token).status == Signature.Status.CONFIRMED
    first = Signature.objects.get().confirmed_at
    assert signature_confirm(token=token).status == Signature.Status.CONFIRMED
    assert Signature.objects.get().confirmed_at == first


def test_it_rejects_unknown_and_expired_tokens(petition):
    signature = SignatureFactory(petition=petition)
    token = confirm_token(signature)
    SignatureToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ApplicationError) as unknown:
        signature_confirm(token="x" * 43)
    with pytest.raises(ApplicationError) as expired:
        signature_confirm(token=token)

    assert (unknown.value.code, unknown.value.status_code) == ("token_invalid", 404)
    assert (expired.value.code, expired.value.status_code) == ("token_expired", 400)
    assert Signature.objects.get().status == Signature.Status.PENDING


def test_a_withdraw_token_cannot_confirm(petition):
    signature = SignatureFactory(petition=petition)

    with pytest.raises(ApplicationError):
        signature_confirm(token=withdraw_token(signature))


def test_the_counter_pass_counts_confirmed_unflagged_signatures_once(petition):
    confirmed = SignatureFactory.create_batch(3, petition=petition, status=Signature.Status.CONFIRMED)
    SignatureFactory(petition=petition, status=Signature.Status.PENDING)
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED, is_flagged=True)

    result = petition_counts_update()
    again = petition_counts_update()

    petition.refresh_from_db()
    assert petition.signature_count == 3
    assert petition.counts_updated_at is not None
    assert result["changes"] == 3
    assert again["changes"] == 0  # nothing counted twice
    assert set(Signature.objects.filter(counted=True).values_list("pk", flat=True)) == {
        s.pk for s in confirmed
    }


def test_a_confirmed_flagged_signature_never_counts(petition):
    signature = SignatureFactory(petition=petition, is_flagged=True, flag_reason="ip_burst")

    signature_confirm(token=confirm_token(signature))
    petition_counts_update()

    petition.refresh_from_db()
    assert Signature.objects.get().status == Signature.Status.CONFIRMED
    assert petition.signature_count == 0


def test_the_counter_pass_subtracts_withdrawn_and_flagged_signatures(petition):
    keep, withdraw, flag = SignatureFactory.create_batch(
        3, petition=petition, status=Signature.Status.CONFIRMED
    )
    petition_counts_update()

    signature_withdraw(token=withdraw_token(withdraw))
    Signature.objects.filter(pk=flag.pk).update(is_flagged=True)
    petition_counts_update()

    petition.refresh_from_db()
    assert petition.signature_count == 1
    assert list(Signature.objects.filter(counted=True).values_list("pk", flat=True)) == [keep.pk]


def test_the_counter_pass_hands_region_changes_with_deltas(petition, monkeypatch):
    from petitions import counting

    seen = []
    monkeypatch.setattr(counting, "_region_counts_apply", lambda changes: seen.extend(changes))
    signature = SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED, postcode="80331")
    petition_counts_update()
    signature_withdraw(token=withdraw_token(signature))
    petition_counts_update()

    assert [(c.petition_id, c.postcode, c.country, c.delta) for c in seen] == [
        (petition.pk, "80331", "DE", 1),
        (petition.pk, "80331", "DE", -1),
    ]
    # Once subtracted from the region totals, the withdrawn postcode is erased.
    assert Signature.objects.get().postcode == ""


def test_the_counter_pass_skips_when_another_pass_holds_the_lock(petition):
    import psycopg
    from django.conf import settings

    from petitions.counting import COUNTS_LOCK_KEY

    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    db = settings.DATABASES["default"]
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        dbname=connection.settings_dict["NAME"],
        autocommit=False,
    )
    try:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [COUNTS_LOCK_KEY])
        assert petition_counts_update() is None
    finally:
        other.rollback()
        other.close()
    assert petition_counts_update()["changes"] == 1


def test_withdraw_erases_personal_data_and_keeps_the_row(petition):
    signature = SignatureFactory(
        petition=petition,
        status=Signature.Status.CONFIRMED,
        ip_hash=ip_hash_compute("198.51.100.7"),
        consent_origin="https://campaign.example.org",
        newsletter_consent=True,
        show_name_publicly=True,
    )
    OutgoingEmail.objects.create(
        kind="petitions-signature-confirm",
        to_email=signature.email,
        subject_type="petitions.signature",
        subject_id=signature.pk,
        context={"signature_id": signature.pk},
    )
    token = withdraw_token(signature)

    signature_withdraw(token=token)
    signature_withdraw(token=token)  # idempotent

    row = Signature.objects.get()
    assert row.status == Signature.Status.WITHDRAWN
    assert (row.first_name, row.last_name, row.email, row.city, row.ip_hash, row.consent_origin) == ("",) * 6
    assert row.email_normalized == f"withdrawn:{row.pk}"
    assert row.postcode == ""  # never counted, so not needed for the region totals
    assert not (row.newsletter_consent or row.show_name_publicly or row.share_name_with_officials)
    email = OutgoingEmail.objects.get()
    assert email.to_email == ""
    assert email.status == OutgoingEmail.Status.CANCELED


def test_the_same_address_can_sign_again_after_withdrawing(api_client, petition):
    from tests.fixtures.petitions import sign_payload

    url = f"/api/v1/petitions/{petition.slug}/signatures/"
    api_client.post(url, sign_payload(), format="json")
    signature_withdraw(token=withdraw_token(Signature.objects.get()))
    api_client.post(url, sign_payload(), format="json")

    assert Signature.objects.filter(email_normalized="erika@example.org", status="pending").count() == 1


def test_a_milestone_is_recorded_once_and_staff_are_mailed(petition, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["staff@example.org"]
    milestone = MilestoneFactory(petition=petition, target=2)
    MilestoneFactory(petition=petition, target=100)
    signatures = SignatureFactory.create_batch(2, petition=petition, status=Signature.Status.CONFIRMED)

    petition_counts_update()
    reached_at = Milestone.objects.get(pk=milestone.pk).reached_at
    # The count drops below the target and rises again: no second notice.
    Signature.objects.filter(pk=signatures[0].pk).update(is_flagged=True)
    petition_counts_update()
    Signature.objects.filter(pk=signatures[0].pk).update(is_flagged=False)
    petition_counts_update()

    assert reached_at is not None
    assert Milestone.objects.get(pk=milestone.pk).reached_at == reached_at
    assert Milestone.objects.get(target=100).reached_at is None
    mails = OutgoingEmail.objects.filter(kind="petitions-milestone-reached")
    assert [m.to_email for m in mails] == ["staff@example.org"]


def test_offline_signatures_count_towards_milestones(petition):
    MilestoneFactory(petition=petition, target=500)
    Petition.objects.filter(pk=petition.pk).update(offline_count=500)

    assert milestones_check() == 1


def test_the_recount_corrects_and_reports_drift(petition, caplog):
    SignatureFactory.create_batch(2, petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()
    Petition.objects.filter(pk=petition.pk).update(signature_count=7)

    drift = petition_counts_recount()

    petition.refresh_from_db()
    assert drift == {petition.pk: -5}
    assert petition.signature_count == 2
    assert "drifted by -5" in caplog.text


def make_signature(petition, *, ip="192.0.2.1", domain="example.org", seconds_ago=0, **kwargs):
    signature = SignatureFactory(
        petition=petition,
        ip_hash=ip_hash_compute(ip),
        email_domain=domain,
        email=f"{uuid.uuid4().hex}@{domain}",
        **kwargs,
    )
    Signature.objects.filter(pk=signature.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return signature


def test_it_flags_an_ip_burst_silently(petition, settings):
    settings.PETITIONS_IP_BURST_LIMIT = 3
    signatures = [make_signature(petition) for _ in range(5)]
    other_ip = make_signature(petition, ip="192.0.2.2")

    for signature in [*signatures, other_ip]:
        signature_fraud_check(signature_id=signature.pk)

    flags = {s.pk: (s.is_flagged, s.flag_reason) for s in Signature.objects.all()}
    # The first three are within the limit; the fourth and fifth exceed it.
    assert [flags[s.pk] for s in signatures] == [(False, "")] * 3 + [(True, "ip_burst")] * 2
    assert flags[other_ip.pk] == (False, "")


def test_it_flags_sustained_use_of_one_ip(petition, settings):
    settings.PETITIONS_IP_SUSTAINED_LIMIT = 2
    signatures = [make_signature(petition, seconds_ago=3600 * (3 - i)) for i in range(3)]

    for signature in signatures:
        signature_fraud_check(signature_id=signature.pk)

    assert Signature.objects.get(pk=signatures[-1].pk).flag_reason == "ip_sustained"
    assert not Signature.objects.get(pk=signatures[0].pk).is_flagged


def test_it_flags_a_burst_from_one_small_domain_but_not_from_big_providers(petition, settings):
    settings.PETITIONS_DOMAIN_LIMIT = 2
    small = [make_signature(petition, ip=f"192.0.2.{i}", domain="tiny.example") for i in range(4)]
    big = [make_signature(petition, ip=f"198.51.100.{i}", domain="gmail.com") for i in range(4)]

    for signature in [*small, *big]:
        signature_fraud_check(signature_id=signature.pk)

    assert [Signature.objects.get(pk=s.pk).flag_reason for s in small] == [
        "",
        "",
        "domain_rate",
        "domain_rate",
    ]
    assert not Signature.objects.filter(pk__in=[s.pk for s in big], is_flagged=True).exists()


def test_it_flags_blocked_and_disposable_domains(petition, settings):
    settings.PETITIONS_BLOCKED_EMAIL_DOMAINS = ["bad.example"]
    blocked = make_signature(petition, domain="bad.example")
    disposable = make_signature(petition, ip="192.0.2.9", domain="mailinator.com")

    signature_fraud_check(signature_id=blocked.pk)
    signature_fraud_check(signature_id=disposable.pk)

    assert Signature.objects.get(pk=blocked.pk).flag_reason == "domain_blocked"
    assert Signature.objects.get(pk=disposable.pk).flag_reason == "domain_disposable"


def test_the_fraud_check_runs_once_per_signature(petition, settings):
    signature = make_signature(petition)
    signature_fraud_check(signature_id=signature.pk)
    settings.PETITIONS_BLOCKED_EMAIL_DOMAINS = ["example.org"]

    signature_fraud_check(signature_id=signature.pk)  # a resent mail

    assert not Signature.objects.get().is_flagged


def test_invalidation_previews_then_flags_and_recounts(petition, staff_user):
    bad_ip = "203.0.113.66"
    bad = [make_signature(petition, ip=bad_ip, status=Signature.Status.CONFIRMED) for _ in range(3)]
    good = make_signature(petition, ip="203.0.113.1", status=Signature.Status.CONFIRMED)
    petition_counts_update()
    petition.refresh_from_db()
    assert petition.signature_count == 4

    preview = invalidation_preview(petition=petition, ip_hash=ip_hash_compute(bad_ip))
    assert preview == 3
    assert not Signature.objects.filter(is_flagged=True).exists()  # a preview changes nothing

    invalidation = invalidation_create(
        petition=petition, user=staff_user, reason="bot wave", ip_hash=ip_hash_compute(bad_ip)
    )

    petition.refresh_from_db()
    assert invalidation.signature_count == 3
    assert invalidation.created_by == staff_user
    assert petition.signature_count == 1
    assert set(Signature.objects.filter(is_flagged=True).values_list("pk", flat=True)) == {s.pk for s in bad}
    assert not Signature.objects.get(pk=good.pk).is_flagged


def test_invalidation_needs_a_filter(petition, staff_user):
    with pytest.raises(ApplicationError) as error:
        invalidation_preview(petition=petition)
    assert error.value.code == "filter_required"


def test_invalidation_by_domain_and_time_window(petition, staff_user):
    inside = make_signature(petition, domain="spam.example", seconds_ago=60)
    make_signature(petition, ip="192.0.2.50", domain="spam.example", seconds_ago=7200)
    make_signature(petition, ip="192.0.2.51", domain="other.example", seconds_ago=60)
    now = timezone.now()

    count = invalidation_preview(
        petition=petition,
        email_domain="SPAM.example",
        created_from=now - timedelta(hours=1),
        created_to=now,
    )

    assert count == 1
    assert inside.pk in Signature.objects.filter(email_domain="spam.example").values_list("pk", flat=True)


def test_reminders_are_off_by_default_and_sent_once_when_enabled(petition, settings):
    from petitions.reminders import signature_reminders_send

    old = SignatureFactory(petition=petition)
    Signature.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    SignatureFactory(petition=petition)  # too recent

    assert signature_reminders_send() == 0
    settings.PETITIONS_REMINDER_ENABLED = True
    assert signature_reminders_send() == 1
    assert signature_reminders_send() == 0
    reminder = OutgoingEmail.objects.get()
    assert reminder.kind == "petitions-signature-reminder"

    # The reminder is the confirmation mail again, with working links and its own subject.
    from django.core import mail

    from campaign.outbox.sending import outgoing_email_send

    assert outgoing_email_send(outgoing_email_id=reminder.pk) is True
    message = mail.outbox[-1]
    assert message.subject.startswith("Erinnerung")
    assert "/signatures/confirm/?token=" in message.body
    assert "/signatures/confirm/?token=" in message.alternatives[0][0]


def test_unconfirmed_signatures_are_purged_after_the_retention_period(petition, settings):
    from petitions.retention import signatures_unconfirmed_purge

    settings.PETITIONS_UNCONFIRMED_RETENTION_DAYS = 31
    old = SignatureFactory(petition=petition)
    recent = SignatureFactory(petition=petition)
    old_confirmed = SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    OutgoingEmail.objects.create(
        kind="petitions-signature-confirm",
        to_email=old.email,
        subject_type="petitions.signature",
        subject_id=old.pk,
    )
    confirm_token(old)
    Signature.objects.filter(pk__in=[old.pk, old_confirmed.pk]).update(
        created_at=timezone.now() - timedelta(days=32)
    )

    kept_token = confirm_token(recent)
    expired_token = confirm_token(recent)
    SignatureToken.objects.filter(token_hash=token_hash(expired_token)).update(
        expires_at=timezone.now() - timedelta(days=8)
    )

    assert signatures_unconfirmed_purge() == 1

    assert set(Signature.objects.values_list("pk", flat=True)) == {recent.pk, old_confirmed.pk}
    # The old signature's tokens went with it, and expired tokens are gone too.
    assert list(SignatureToken.objects.values_list("token_hash", flat=True)) == [token_hash(kept_token)]
    assert OutgoingEmail.objects.get().to_email == ""


def test_the_command_runs_a_pass_and_a_recount(petition):
    from io import StringIO

    from django.core.management import call_command

    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    out = StringIO()
    call_command("petition_counts", stdout=out)
    Petition.objects.filter(pk=petition.pk).update(signature_count=5)
    call_command("petition_counts", "--recount", stdout=out)

    assert "1 changes over 1 petitions" in out.getvalue()
    assert f"{{{petition.pk}: -4}}" in out.getvalue()
    assert Petition.objects.get(pk=petition.pk).signature_count == 1


def test_retention_erases_personal_data_of_ended_petitions_and_keeps_counts(petition, settings):
    from petitions.retention import signatures_retention_apply

    settings.PETITIONS_RETENTION_DAYS = 365
    ended = PetitionFactory(closes_at=timezone.now() - timedelta(days=400), status=Petition.Status.CLOSED)
    old = SignatureFactory(
        petition=ended, status=Signature.Status.CONFIRMED, postcode="80331", city="München"
    )
    current = SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    OutgoingEmail.objects.create(
        kind="petitions-signature-confirm",
        to_email=old.email,
        subject_type="petitions.signature",
        subject_id=old.pk,
    )
    petition_counts_update()

    assert signatures_retention_apply() == 1
    assert signatures_retention_apply() == 0  # done once

    row = Signature.objects.get(pk=old.pk)
    assert (row.first_name, row.last_name, row.email, row.city, row.ip_hash) == ("",) * 5
    assert row.email_normalized == f"erased:{row.pk}"
    assert (row.status, row.counted, row.postcode, row.country) == ("confirmed", True, "80331", "DE")
    assert Signature.objects.get(pk=current.pk).email == current.email
    assert OutgoingEmail.objects.get().to_email == ""
    petition_counts_update()
    assert Petition.objects.get(pk=ended.pk).signature_count == 1


def test_retention_can_be_switched_off(petition, settings):
    from petitions.retention import signatures_retention_apply

    settings.PETITIONS_RETENTION_DAYS = 0
    ended = PetitionFactory(closes_at=timezone.now() - timedelta(days=4000))
    SignatureFactory(petition=ended)

    assert signatures_retention_apply() == 0


def test_a_bad_blocked_ip_range_is_reported_by_the_checks_and_never_breaks_signing(settings):
    from petitions.checks import petitions_settings_check
    from petitions.hashing import ip_is_blocked

    settings.PETITIONS_BLOCKED_IP_RANGES = ["not-a-range", "192.0.2.0/24"]

    assert [e.id for e in petitions_settings_check()] == ["petitions.E001"]
    assert ip_is_blocked("192.0.2.7")
    assert not ip_is_blocked("198.51.100.7")
