"""Public reads: petition detail, the cacheable count, recent signers, the campaign endpoint."""

from __future__ import annotations

import pytest

from petitions.counting import petition_counts_update
from petitions.models import Petition, Signature
from petitions.selectors import petition_count_cache_clear
from tests.fixtures.petitions import MilestoneFactory, PetitionFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_the_detail_shows_text_consent_and_the_next_goal(api_client, petition):
    MilestoneFactory(petition=petition, target=10)
    MilestoneFactory(petition=petition, target=100)
    Petition.objects.filter(pk=petition.pk).update(offline_count=12)

    body = api_client.get(f"/api/v1/petitions/{petition.slug}/").json()

    assert body["slug"] == petition.slug
    assert body["is_open"] is True
    assert body["signature_count"] == 12
    assert body["goal"] == 100
    assert body["consent_version"] == "v1"
    assert body["consent_text"]["en"] == "I agree to the processing of my data."
    assert body["title"]["de"] == petition.title_de


def test_drafts_are_not_found(api_client):
    draft = PetitionFactory(status=Petition.Status.DRAFT)

    assert api_client.get(f"/api/v1/petitions/{draft.slug}/").status_code == 404
    assert api_client.get(f"/api/v1/petitions/{draft.slug}/count/").status_code == 404
    assert api_client.get("/api/v1/petitions/missing/count/").json()["code"] == "petition_not_found"


def test_the_count_is_cacheable_and_answers_304_on_a_matching_etag(api_client, petition, count_period_next):
    SignatureFactory.create_batch(2, petition=petition, status=Signature.Status.CONFIRMED)
    Petition.objects.filter(pk=petition.pk).update(offline_count=3)
    petition_counts_update()
    petition_count_cache_clear()
    count_period_next()  # the new count shows from the next count period on

    response = api_client.get(f"/api/v1/petitions/{petition.slug}/count/")

    assert response.status_code == 200
    body = response.json()
    assert body["signature_count"] == 5  # online plus offline
    assert set(body) == {"signature_count", "goal", "updated_at"}
    cache_control = response["Cache-Control"]
    for directive in ("public", "max-age=", "stale-while-revalidate=", "stale-if-error="):
        assert directive in cache_control
    assert response["Last-Modified"]
    again = api_client.get(f"/api/v1/petitions/{petition.slug}/count/", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    other = api_client.get(f"/api/v1/petitions/{petition.slug}/count/", HTTP_IF_NONE_MATCH='"other"')
    assert other.status_code == 200


def test_the_count_changes_its_etag_after_a_counter_pass(api_client, petition, count_period_next):
    first = api_client.get(f"/api/v1/petitions/{petition.slug}/count/")
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()
    count_period_next()

    second = api_client.get(f"/api/v1/petitions/{petition.slug}/count/")

    assert second.json()["signature_count"] == first.json()["signature_count"] + 1
    assert second["ETag"] != first["ETag"]


def test_recent_signers_show_only_consenting_confirmed_unflagged_signers(api_client, petition):
    SignatureFactory(
        petition=petition,
        first_name="Anna",
        last_name="Schmidt",
        city="Köln",
        status=Signature.Status.CONFIRMED,
        show_name_publicly=True,
    )
    SignatureFactory(
        petition=petition, first_name="Hidden", status=Signature.Status.CONFIRMED, show_name_publicly=False
    )
    SignatureFactory(petition=petition, first_name="Pending", show_name_publicly=True)
    SignatureFactory(
        petition=petition,
        first_name="Flagged",
        status=Signature.Status.CONFIRMED,
        show_name_publicly=True,
        is_flagged=True,
    )
    Signature.objects.filter(status=Signature.Status.CONFIRMED).update(confirmed_at="2026-01-01T10:00:00Z")

    response = api_client.get(f"/api/v1/petitions/{petition.slug}/recent-signers/")

    assert response.status_code == 200
    assert response.json() == [{"name": "Anna S.", "city": "Köln", "signed_at": "2026-01-01T11:00:00+01:00"}]
    assert b"@" not in response.content  # never an e-mail address
    assert b"10115" not in response.content  # never a postcode


def test_the_campaign_endpoint_lists_public_petitions(api_client, petition):
    PetitionFactory(campaign=petition.campaign, status=Petition.Status.DRAFT)

    body = api_client.get(f"/api/v1/campaigns/{petition.campaign.slug}/").json()

    assert [p["slug"] for p in body["petitions"]] == [petition.slug]
    assert body["petitions"][0]["signature_count"] == 0


def test_a_withdrawn_signer_leaves_the_recent_signers_at_once(
    api_client, petition, django_capture_on_commit_callbacks
):
    from petitions.models import SignatureToken
    from petitions.tokens import signature_token_mint

    signature = SignatureFactory(
        petition=petition, first_name="Weg", status=Signature.Status.CONFIRMED, show_name_publicly=True
    )
    Signature.objects.filter(pk=signature.pk).update(confirmed_at="2026-01-01T10:00:00Z")
    url = f"/api/v1/petitions/{petition.slug}/recent-signers/"
    assert [s["name"] for s in api_client.get(url).json()] == ["Weg M."]

    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.WITHDRAW)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/v1/signatures/withdraw/", {"token": token}, format="json")

    assert api_client.get(url).json() == []


def test_the_schema_documents_every_petitions_endpoint(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()

    for path in [
        "/api/v1/petitions/{slug}/",
        "/api/v1/petitions/{slug}/count/",
        "/api/v1/petitions/{slug}/recent-signers/",
        "/api/v1/petitions/{slug}/signatures/",
        "/api/v1/altcha/challenge/",
        "/api/v1/signatures/confirm/",
        "/api/v1/signatures/withdraw/",
        "/api/v1/staff/petitions/{slug}/invalidations/",
    ]:
        assert path in schema


def test_made_up_slugs_do_not_grow_the_count_cache_without_bound(api_client, petition, monkeypatch):
    from petitions import selectors

    monkeypatch.setattr(selectors, "_CACHE_MAX_ENTRIES", 5)
    for i in range(12):
        assert api_client.get(f"/api/v1/petitions/made-up-{i}/count/").status_code == 404

    assert len(selectors._cache) <= 5
    assert api_client.get(f"/api/v1/petitions/{petition.slug}/count/").status_code == 200
