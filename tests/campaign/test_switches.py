"""Operator switches: read-only mode (writes 503 with a message in German or English, reads go
on), donations stopped (a new gift 503), both shown on the health endpoints."""

from __future__ import annotations

import pytest

from donations.models import Donation
from tests.donations.helpers import donation_payload
from tests.fixtures.petitions import sign_payload

pytestmark = pytest.mark.django_db


def test_read_only_mode_refuses_writes_in_the_supporters_language_and_serves_reads(
    api_client, petition, settings
):
    settings.READ_ONLY_MODE = True
    url = f"/api/v1/petitions/{petition.slug}/signatures/"

    german = api_client.post(url, sign_payload(), format="json")
    english = api_client.post(url, sign_payload(), format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert german.status_code == english.status_code == 503
    assert german.json()["code"] == english.json()["code"] == "read_only"
    assert "Wartungsarbeiten" in german.json()["message"]
    assert "maintenance" in english.json()["message"]
    assert int(german["Retry-After"]) > 0
    assert not petition.signatures.exists()
    assert api_client.get(f"/api/v1/petitions/{petition.slug}/").status_code == 200
    assert api_client.get(f"/api/v1/petitions/{petition.slug}/count/").status_code == 200


def test_the_switches_show_on_the_health_endpoints(api_client, settings):
    settings.READ_ONLY_MODE = True
    settings.DONATIONS_PAUSED = True
    expected = {"read_only": True, "donations_paused": True}
    assert api_client.get("/healthz").json()["switches"] == expected
    assert api_client.get("/readyz").json()["switches"] == expected


def test_stopped_donations_refuse_a_new_gift_in_the_donors_language(api_client, campaign, settings):
    settings.DONATIONS_PAUSED = True

    german = api_client.post("/api/v1/donations/", donation_payload(campaign.slug), format="json")
    english = api_client.post(
        "/api/v1/donations/", donation_payload(campaign.slug, locale="en"), format="json"
    )

    assert german.status_code == english.status_code == 503
    assert german.json()["code"] == english.json()["code"] == "donations_paused"
    assert german.json()["message"].startswith("Spenden sind gerade nicht möglich")
    assert english.json()["message"].startswith("Donations are paused")
    assert not Donation.objects.exists()


def test_a_paused_petition_without_its_own_message_gets_the_default_in_each_language(api_client, petition):
    from petitions.models import Petition

    Petition.objects.filter(pk=petition.pk).update(signing_paused=True)
    url = f"/api/v1/petitions/{petition.slug}/signatures/"

    german = api_client.post(url, sign_payload(), format="json")
    english = api_client.post(url, sign_payload(locale="en"), format="json")

    assert german.status_code == english.status_code == 409
    assert german.json()["message"].startswith("Das Unterschreiben ist bei dieser Petition gerade pausiert")
    assert english.json()["message"].startswith("Signing this petition is paused")
