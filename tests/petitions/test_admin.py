"""The petitions admin pages render, search by e-mail and edit the offline count."""

from __future__ import annotations

import pytest

from petitions.models import Petition, Signature
from tests.conftest import staff_login
from tests.fixtures.petitions import MilestoneFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    staff_login(client, user)  # a session verified with the second factor
    return client


def test_the_admin_lists_and_searches_signatures(admin_client, petition):
    SignatureFactory(petition=petition, email="findme@example.org", email_normalized="findme@example.org")
    SignatureFactory(petition=petition)

    listing = admin_client.get("/admin/petitions/signature/")
    found = admin_client.get("/admin/petitions/signature/", {"q": "findme@example.org"})
    filtered = admin_client.get(
        "/admin/petitions/signature/", {"status__exact": "pending", "is_flagged__exact": "0"}
    )

    assert listing.status_code == found.status_code == filtered.status_code == 200
    assert found.context["cl"].result_count == 1
    other_spelling = admin_client.get("/admin/petitions/signature/", {"q": "FindMe+petition@Example.org"})
    assert other_spelling.context["cl"].result_count == 1
    signature = Signature.objects.get(email="findme@example.org")
    assert admin_client.get(f"/admin/petitions/signature/{signature.pk}/change/").status_code == 200


def test_the_admin_edits_the_offline_count_with_milestones_inline(admin_client, petition):
    MilestoneFactory(petition=petition, target=100)
    page = admin_client.get(f"/admin/petitions/petition/{petition.pk}/change/")
    assert page.status_code == 200
    assert b"offline_count" in page.content and b"milestones-0-target" in page.content

    data = {
        "campaign": petition.campaign_id,
        "slug": petition.slug,
        "status": "open",
        "title_de": petition.title_de,
        "title_en": petition.title_en,
        "text_de": petition.text_de,
        "text_en": petition.text_en,
        "consent_text_de": petition.consent_text_de,
        "consent_text_en": petition.consent_text_en,
        "consent_version": petition.consent_version,
        "offline_count": "250",
        "milestones-TOTAL_FORMS": "1",
        "milestones-INITIAL_FORMS": "1",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "1000",
        "milestones-0-id": str(petition.milestones.get().pk),
        "milestones-0-petition": str(petition.pk),
        "milestones-0-target": "100",
    }
    response = admin_client.post(f"/admin/petitions/petition/{petition.pk}/change/", data)

    assert response.status_code == 302, response.content[:2000]
    assert Petition.objects.get(pk=petition.pk).offline_count == 250


def test_the_admin_flags_and_unflags_selected_signatures(admin_client, petition):
    signature = SignatureFactory(petition=petition)

    admin_client.post(
        "/admin/petitions/signature/", {"action": "flag_selected", "_selected_action": [signature.pk]}
    )
    assert Signature.objects.get().is_flagged
    admin_client.post(
        "/admin/petitions/signature/", {"action": "unflag_selected", "_selected_action": [signature.pk]}
    )
    assert not Signature.objects.get().is_flagged


def test_the_admin_lists_invalidations_and_milestones(admin_client, petition):
    assert admin_client.get("/admin/petitions/invalidation/").status_code == 200
    assert admin_client.get("/admin/petitions/milestone/").status_code == 200


def test_pausing_signing_in_the_admin_is_audited_and_signing_answers_409(admin_client, petition, api_client):
    from campaign.models import AuditEntry
    from tests.fixtures.petitions import sign_payload

    data = {
        "campaign": petition.campaign_id,
        "slug": petition.slug,
        "status": "open",
        "title_de": petition.title_de,
        "title_en": petition.title_en,
        "text_de": petition.text_de,
        "text_en": petition.text_en,
        "consent_text_de": petition.consent_text_de,
        "consent_text_en": petition.consent_text_en,
        "consent_version": petition.consent_version,
        "offline_count": "0",
        "signing_paused": "on",
        "signing_paused_message_de": "Wir zählen gerade nach. Ab morgen geht es weiter.",
        "milestones-TOTAL_FORMS": "0",
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(f"/admin/petitions/petition/{petition.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert (
        AuditEntry.objects.filter(action="petition.signing_paused", object_id=str(petition.pk)).count() == 1
    )

    url = f"/api/v1/petitions/{petition.slug}/signatures/"
    german = api_client.post(url, sign_payload(), format="json")
    english = api_client.post(url, sign_payload(locale="en"), format="json")
    assert german.status_code == english.status_code == 409
    assert german.json()["code"] == english.json()["code"] == "signing_paused"
    assert german.json()["message"] == "Wir zählen gerade nach. Ab morgen geht es weiter."
    # No English text set: the German one stands in (the operator wrote only that).
    assert english.json()["message"] == german.json()["message"]
    assert not Signature.objects.exists()
    assert api_client.get("/readyz").json()["paused"] == {"petitions": [petition.slug]}

    del data["signing_paused"]
    assert admin_client.post(f"/admin/petitions/petition/{petition.pk}/change/", data).status_code == 302
    assert AuditEntry.objects.filter(action="petition.signing_resumed").count() == 1
