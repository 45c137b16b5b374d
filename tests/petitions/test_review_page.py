"""The staff page of the fraud review queue (petitions/review_pages.py) through Django's test
client: who may open it and act, the filters and why each signature was flagged, unflag, the
preview with sample rows before an invalidation, the undo, the audit trail, and the counts
checked against a recount after every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from campaign.models import AuditEntry
from officials.models import RegionTotal
from petitions.counting import petition_counts_recount, petition_counts_update
from petitions.fraud import signature_fraud_check
from petitions.hashing import ip_hash_compute
from petitions.models import Invalidation, Signature
from tests.conftest import staff_login, staff_user_create

pytestmark = pytest.mark.django_db

BOT_IP = "203.0.113.66"


def _page(petition: Any) -> str:
    return f"/staff/review/{petition.slug}/"


def _client(django_user_model: Any, name: str, *roles: str) -> Client:
    return staff_login(Client(), staff_user_create(django_user_model, name, *roles))


@pytest.fixture
def queue(petition: Any, sign: Any, settings: Any) -> dict[str, Any]:
    """Five confirmed signatures from one address (the burst check flags three), one flagged
    by staff from another domain, two ordinary ones; counts after a pass."""
    settings.PETITIONS_IP_BURST_LIMIT = 2
    wave = [
        sign(petition, ip_hash=ip_hash_compute(BOT_IP), email_domain="bots.example", postcode="80331")
        for _ in range(5)
    ]
    for signature in wave:
        signature_fraud_check(signature_id=signature.pk)
    by_staff = sign(petition, is_flagged=True, flag_reason="staff", email_domain="other.example")
    sign(petition)
    sign(petition, postcode="20095")
    petition_counts_update()
    return {"wave": wave, "by_staff": by_staff}


def _counts(petition: Any) -> tuple[int, dict[str, int]]:
    petition.refresh_from_db()
    regions = dict(RegionTotal.objects.filter(petition=petition, count__gt=0).values_list("bucket", "count"))
    return petition.signature_count, regions


def _assert_counts_match_a_recount(petition: Any) -> tuple[int, dict[str, int]]:
    before = _counts(petition)
    assert petition_counts_recount() == {}  # no drift: the steps kept the counts exact
    assert _counts(petition) == before
    assert (
        before[0] == Signature.objects.filter(petition=petition, status="confirmed", is_flagged=False).count()
    )
    return before


def test_only_organisers_open_the_page_and_act(petition: Any, queue: Any, django_user_model: Any):
    anonymous = Client().get(_page(petition))
    assert anonymous.status_code == 302 and "/staff/login/" in anonymous["Location"]
    viewer = _client(django_user_model, "viewer", "viewer")
    exporter = _client(django_user_model, "exporter", "data export")
    no_role = _client(django_user_model, "norole")
    flagged_before = Signature.objects.filter(is_flagged=True).count()
    invalidation = Invalidation.objects.create(petition=petition, email_domain="bots.example")

    for client in (viewer, exporter, no_role):
        assert client.get(_page(petition)).status_code == 403
        for data in (
            {"action": "unflag", "reason": "ip_burst"},
            {"action": "preview", "reason": "ip_burst"},
            {"action": "invalidate", "reason": "ip_burst", "expected_count": "3"},
            {"action": "undo", "invalidation_id": str(invalidation.pk)},
        ):
            assert client.post(_page(petition), data).status_code == 403, data

    assert Signature.objects.filter(is_flagged=True).count() == flagged_before
    assert not AuditEntry.objects.filter(action__startswith="review.").exists()
    invalidation.refresh_from_db()
    assert invalidation.undone_at is None


def test_the_page_filters_and_says_why(petition: Any, queue: Any, django_user_model: Any):
    organiser = _client(django_user_model, "organiser", "organiser")

    everything = organiser.get(_page(petition))
    bursts = organiser.get(_page(petition), {"reason": "ip_burst"})
    by_ip = organiser.get(_page(petition), {"ip_hash": ip_hash_compute(BOT_IP)})
    by_domain = organiser.get(_page(petition), {"email_domain": "other.example"})
    later = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    none_yet = organiser.get(_page(petition), {"since": later})
    bad = organiser.get(_page(petition), {"ip_hash": "not-a-hash", "until": "tomorrow"})

    assert everything.status_code == 200
    assert everything.context["page"]["count"] == 4
    assert "Choose at least one filter" in everything.content.decode()  # no bulk action on everything
    assert bursts.context["page"]["count"] == 3
    assert "More than 2 signatures from the same IP hash" in bursts.content.decode()
    assert by_ip.context["page"]["count"] == 3
    assert [row["id"] for row in by_domain.context["page"]["results"]] == [queue["by_staff"].pk]
    assert "Flagged by staff in the admin." in by_domain.content.decode()
    assert none_yet.context["page"]["count"] == 0
    assert bad.status_code == 400
    assert set(bad.context["errors"]) == {"ip_hash", "until"}
    # No names or addresses on the page.
    text = everything.content.decode()
    for signature in Signature.objects.filter(petition=petition):
        assert signature.email not in text and signature.last_name not in text


def test_preview_invalidate_undo_and_unflag_keep_the_counts_exact(
    petition: Any, queue: Any, django_user_model: Any
):
    organiser = _client(django_user_model, "organiser", "organiser")
    counts = _assert_counts_match_a_recount(petition)
    assert counts[0] == 4  # two of the wave and the two ordinary ones
    bursts = {"reason": "ip_burst", "email_domain": "bots.example"}

    preview = organiser.post(_page(petition), {"action": "preview", **bursts})
    assert preview.status_code == 200
    assert preview.context["preview"]["signature_count"] == 3
    assert len(preview.context["preview"]["sample"]) == 3
    assert 'name="expected_count" value="3"' in preview.content.decode()
    assert not Invalidation.objects.exists()  # a preview changes nothing

    # The queue changed since the preview (one more flagged): a new preview, no invalidation.
    Signature.objects.filter(pk=queue["wave"][0].pk).update(is_flagged=True, flag_reason="ip_burst")
    petition_counts_update()  # as the admin's flag action does
    stale = organiser.post(_page(petition), {"action": "invalidate", "expected_count": "3", **bursts})
    assert stale.status_code == 200 and stale.context["preview"]["signature_count"] == 4
    assert not Invalidation.objects.exists()
    counts = _assert_counts_match_a_recount(petition)

    done = organiser.post(
        _page(petition), {"action": "invalidate", "expected_count": "4", "note": "bots", **bursts}
    )
    assert done.status_code == 302
    invalidation = Invalidation.objects.get()
    assert (invalidation.signature_count, invalidation.flag_reason, invalidation.reason) == (
        4,
        "ip_burst",
        "bots",
    )
    after = organiser.get(done["Location"])
    assert f"Invalidation #{invalidation.pk}: 4 signatures invalidated" in after.content.decode()
    assert after.context["page"]["count"] == 0  # invalidated ones leave the ip_burst filter
    assert _assert_counts_match_a_recount(petition) == counts

    undone = organiser.post(_page(petition), {"action": "undo", "invalidation_id": str(invalidation.pk)})
    assert undone.status_code == 302
    invalidation.refresh_from_db()
    assert invalidation.undone_count == 4
    assert Signature.objects.filter(petition=petition, flag_reason="ip_burst").count() == 4
    assert _assert_counts_match_a_recount(petition) == counts
    again = organiser.post(_page(petition), {"action": "undo", "invalidation_id": str(invalidation.pk)})
    assert again.status_code == 409 and "undone already" in again.content.decode()

    unflag = organiser.post(_page(petition), {"action": "unflag", **bursts})
    assert unflag.status_code == 302
    total, regions = _assert_counts_match_a_recount(petition)
    assert total == counts[0] + 4  # the four confirmed bot-wave signatures count again
    assert sum(regions.values()) == total  # every counted signature in one region bucket

    actions = list(AuditEntry.objects.order_by("id").values_list("action", "row_count"))
    assert actions == [
        ("review.invalidation_preview", 3),
        ("review.invalidation_preview", 4),
        ("invalidation.create", 4),
        ("invalidation.undo", 4),
        ("review.unflag", 4),
    ]


def test_bulk_actions_need_a_filter_and_bad_input_is_a_400(petition: Any, queue: Any, django_user_model: Any):
    organiser = _client(django_user_model, "organiser", "organiser")

    no_filter = organiser.post(_page(petition), {"action": "unflag"})
    bad_reason = organiser.post(_page(petition), {"action": "preview", "reason": "nonsense"})
    bad_undo = organiser.post(_page(petition), {"action": "undo", "invalidation_id": "x"})
    unknown_undo = organiser.post(_page(petition), {"action": "undo", "invalidation_id": "999999"})
    unknown_action = organiser.post(_page(petition), {"action": "explode", "reason": "staff"})
    unknown_petition = organiser.get("/staff/review/no-such-petition/")

    assert no_filter.status_code == 400 and "at least one filter" in no_filter.content.decode()
    assert bad_reason.status_code == 400 and "reason" in bad_reason.context["errors"]
    assert bad_undo.status_code == 400
    assert unknown_undo.status_code == 404
    assert unknown_action.status_code == 400
    assert unknown_petition.status_code == 404
    assert Signature.objects.filter(is_flagged=True).count() == 4
