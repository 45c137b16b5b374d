"""The fraud review queue through the staff API: the list of flagged signatures with why, its
filters and bad input, bulk unflag, invalidation with its preview, the undo, the audit trail,
and the counts (total, per region, milestones) checked against the recount."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.models import AuditEntry, OutgoingEmail
from officials.models import RegionTotal
from petitions.counting import MILESTONE_EMAIL_KIND, petition_counts_recount, petition_counts_update
from petitions.fraud import signature_fraud_check
from petitions.hashing import ip_hash_compute
from petitions.models import Milestone, Signature
from tests.conftest import staff_api_client, staff_user_create

pytestmark = pytest.mark.django_db

BOT_IP = "203.0.113.66"


@pytest.fixture
def organiser(django_user_model):
    return staff_api_client(staff_user_create(django_user_model, "organiser", "organiser"))


@pytest.fixture
def exporter(django_user_model):
    return staff_api_client(staff_user_create(django_user_model, "exporter", "data export"))


def _url(petition, tail=""):
    return f"/api/v1/staff/petitions/{petition.slug}/{tail}"


def _bot_wave(petition, sign, settings, n=5, domain="bots.example"):
    """n confirmed signatures from one address; the fraud check flags all but the first two."""
    settings.PETITIONS_IP_BURST_LIMIT = 2
    wave = [
        sign(petition, ip_hash=ip_hash_compute(BOT_IP), email_domain=domain, postcode="80331")
        for _ in range(n)
    ]
    for signature in wave:
        signature_fraud_check(signature_id=signature.pk)
    return wave


def _counts(petition):
    petition.refresh_from_db()
    regions = dict(RegionTotal.objects.filter(petition=petition, count__gt=0).values_list("bucket", "count"))
    return petition.signature_count, regions


def _audit_details_have_no_personal_data(petition):
    addresses = set(Signature.objects.filter(petition=petition).values_list("email", flat=True))
    for entry in AuditEntry.objects.all():
        text = repr(entry.details)
        assert not any(address in text for address in addresses), entry.details


def test_the_queue_lists_flagged_signatures_with_why_and_filters(petition, sign, settings, exporter):
    wave = _bot_wave(petition, sign, settings)
    by_staff = sign(petition, is_flagged=True, flag_reason="staff", email_domain="other.example")
    sign(petition)  # not flagged

    everything = exporter.get(_url(petition, "flagged/"))
    bursts = exporter.get(_url(petition, "flagged/"), {"reason": "ip_burst"})
    by_ip = exporter.get(_url(petition, "flagged/"), {"ip_hash": ip_hash_compute(BOT_IP)})
    by_domain = exporter.get(_url(petition, "flagged/"), {"email_domain": "OTHER.example"})
    later = exporter.get(
        _url(petition, "flagged/"), {"since": (timezone.now() + timedelta(hours=1)).isoformat()}
    )
    page = exporter.get(_url(petition, "flagged/"), {"limit": 2})
    rest = exporter.get(_url(petition, "flagged/"), {"limit": 2, "offset": 2})

    assert everything.status_code == 200, everything.content
    assert everything.json()["count"] == 4
    assert {r["id"] for r in bursts.json()["results"]} == {s.pk for s in wave[2:]}
    assert by_ip.json()["count"] == 3
    assert [r["id"] for r in by_domain.json()["results"]] == [by_staff.pk]
    assert later.json()["count"] == 0
    assert page.json()["next_offset"] == 2 and len(page.json()["results"]) == 2
    assert rest.json()["next_offset"] is None
    assert {r["id"] for r in page.json()["results"] + rest.json()["results"]} == {
        r["id"] for r in everything.json()["results"]
    }
    row = bursts.json()["results"][0]
    assert row["why"]["code"] == "ip_burst"
    assert "More than 2 signatures from the same IP hash" in row["why"]["text"]
    assert "@" in row["email"] and row["first_name"].startswith("Vorname")  # the data export role sees them
    entry = AuditEntry.objects.filter(action="review.list").order_by("pk").last()
    assert (entry.details["limit"], entry.details["offset"], entry.row_count) == (2, 2, 2)
    assert AuditEntry.objects.filter(action="review.list").count() == 7
    _audit_details_have_no_personal_data(petition)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"reason": "bogus"}, "reason"),
        ({"ip_hash": "not-a-hash"}, "ip_hash"),
        ({"email_domain": "a b"}, "email_domain"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(petition, exporter, query, field):
    response = exporter.get(_url(petition, "flagged/"), query)

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_the_actions_refuse_bad_input_naming_the_field(petition, organiser):
    no_filter = organiser.post(_url(petition, "flagged/unflag/"), {}, format="json")
    bad_ids = organiser.post(_url(petition, "flagged/unflag/"), {"ids": ["x"]}, format="json")
    empty_ids = organiser.post(_url(petition, "flagged/invalidations/"), {"ids": []}, format="json")
    unknown = organiser.post(_url(petition, "invalidations/999999/undo/"), {}, format="json")

    assert no_filter.status_code == 400 and no_filter.json()["code"] == "filter_required"
    assert bad_ids.status_code == 400 and "ids" in str(bad_ids.json()["fields"])
    assert empty_ids.status_code == 400 and "ids" in empty_ids.json()["fields"]
    assert unknown.status_code == 404


def test_the_list_with_names_needs_the_data_export_role_and_the_actions_the_organiser(
    petition, organiser, exporter
):
    assert organiser.get(_url(petition, "flagged/")).status_code == 403
    for tail in ("flagged/unflag/", "flagged/invalidations/"):
        assert exporter.post(_url(petition, tail), {"reason": "ip_burst"}, format="json").status_code == 403


def test_flag_invalidate_undo_unflag_keeps_the_counts_exact_against_the_recount(
    petition, regions, sign, settings, organiser, exporter
):
    settings.STAFF_NOTIFICATION_EMAILS = ["lead@example.org"]
    honest = [sign(petition, postcode=code) for code in ("10115", "10115", "10119", "80331", "20095")]
    wave = _bot_wave(petition, sign, settings)  # 2 counted, 3 flagged ip_burst
    Milestone.objects.create(petition=petition, target=7)
    petition_counts_update()
    before = _counts(petition)
    reached_at = Milestone.objects.get().reached_at
    assert before[0] == 7 and reached_at is not None

    # A filter invalidation of counted signatures (the existing endpoint), then its undo.
    applied = organiser.post(
        _url(petition, "invalidations/"), {"email_domain": "example.org", "dry_run": False}, format="json"
    )
    assert applied.status_code == 201, applied.content
    assert _counts(petition)[0] == 7 - len(honest)
    undone = organiser.post(_url(petition, f"invalidations/{applied.json()['id']}/undo/"), format="json")
    assert undone.status_code == 200, undone.content
    assert undone.json()["restored_count"] == len(honest)
    assert _counts(petition) == before
    again = organiser.post(_url(petition, f"invalidations/{applied.json()['id']}/undo/"), format="json")
    assert again.status_code == 409

    # The review queue: preview, invalidate the flagged wave, undo, unflag.
    preview = organiser.post(_url(petition, "flagged/invalidations/"), {"reason": "ip_burst"}, format="json")
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["dry_run"] is True and body["signature_count"] == 3
    assert {row["id"] for row in body["sample"]} == {s.pk for s in wave[2:]}
    assert all("email" not in row and "last_name" not in row for row in body["sample"])
    assert not Signature.objects.filter(flag_reason__startswith="invalidation:").exists()

    created = organiser.post(
        _url(petition, "flagged/invalidations/"),
        {"reason": "ip_burst", "dry_run": False, "note": "bot wave"},
        format="json",
    )
    assert created.status_code == 201, created.content
    invalidation_id = created.json()["id"]
    assert created.json()["signature_count"] == 3
    assert _counts(petition) == before  # flagged signatures never counted
    invalidated = exporter.get(_url(petition, "flagged/"), {"reason": "invalidation"}).json()["results"]
    assert {r["why"]["invalidation_id"] for r in invalidated} == {invalidation_id}
    assert {r["why"]["earlier_reason"] for r in invalidated} == {"ip_burst"}
    # An invalidated signature leaves the queue's actions; it comes back by the undo.
    ids = [s.pk for s in wave[2:]]
    assert organiser.post(_url(petition, "flagged/unflag/"), {"ids": ids}, format="json").json() == {
        "unflagged": 0
    }

    undone = organiser.post(_url(petition, f"invalidations/{invalidation_id}/undo/"), format="json")
    assert undone.status_code == 200, undone.content
    assert set(Signature.objects.filter(pk__in=ids).values_list("is_flagged", "flag_reason")) == {
        (True, "ip_burst")
    }
    assert _counts(petition) == before

    unflagged = organiser.post(
        _url(petition, "flagged/unflag/"),
        {"ip_hash": ip_hash_compute(BOT_IP), "reason": "ip_burst"},
        format="json",
    )
    assert unflagged.json() == {"unflagged": 3}
    after = _counts(petition)
    assert after[0] == before[0] + 3
    assert sum(after[1].values()) == sum(before[1].values()) + 3

    # The recount finds nothing to correct: the counter passes kept every count exact.
    assert petition_counts_recount() == {}
    assert _counts(petition) == after
    # The milestone was reached once: not reset by the drop, not notified again.
    assert Milestone.objects.get().reached_at == reached_at
    assert OutgoingEmail.objects.filter(kind=MILESTONE_EMAIL_KIND).count() == 1

    steps = AuditEntry.objects.filter(action__startswith="review.") | AuditEntry.objects.filter(
        action__startswith="invalidation."
    )
    actions = list(steps.order_by("pk").values_list("action", "row_count"))
    assert actions == [
        ("invalidation.create", 5),
        ("invalidation.undo", 5),
        ("review.invalidation_preview", 3),
        ("invalidation.create", 3),
        ("review.list", 3),
        ("review.unflag", 0),
        ("invalidation.undo", 3),
        ("review.unflag", 3),
    ]
    _audit_details_have_no_personal_data(petition)
