"""A supporter update end to end on a real Celery worker, Redis and SMTP server: the mailing
runs batch after batch at the update's rate, each signer gets it once in their language, a
one-click POST unsubscribes, and the next update does not reach that address."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaign.models import OutgoingEmail
from petitions.models import PetitionUpdate, Signature
from tests.conftest import staff_api_client, staff_user_create, wait_until
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

pytestmark = pytest.mark.integration

ADDRESSES = ["ida@example.org", "jan@example.org", "kim@example.org"]


def _organiser(django_user_model: Any) -> APIClient:
    return staff_api_client(staff_user_create(django_user_model, "org-flow", "organiser"))


def _send(client: APIClient, slug: str) -> int:
    response = client.post(
        f"/api/v1/staff/petitions/{slug}/updates/",
        {
            "subject": "Neuigkeiten",
            "body_text": "Es geht voran.",
            "subject_en": "News",
            "body_text_en": "Progress.",
            "send": True,
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _finished(update_id: int) -> bool:
    done = PetitionUpdate.objects.get(pk=update_id).status == PetitionUpdate.Status.SENT
    return done and not OutgoingEmail.objects.filter(status__in=["queued", "inflight"]).exists()


def test_an_update_goes_out_in_batches_and_a_one_click_unsubscribe_stops_the_next(
    celery_worker, smtp_server, django_user_model, settings
):
    settings.PETITIONS_UPDATE_BATCH_SIZE = 2
    settings.PETITIONS_UPDATE_BATCH_INTERVAL_SECONDS = 1
    petition = PetitionFactory()
    for index, address in enumerate(ADDRESSES):
        SignatureFactory(
            petition=petition,
            email=address,
            locale="en" if index == 1 else "de",
            status=Signature.Status.CONFIRMED,
            updates_consent=True,
        )
    organiser = _organiser(django_user_model)

    first = _send(organiser, petition.slug)
    wait_until(lambda: _finished(first), timeout=40)
    assert sorted(str(m["To"]) for m in smtp_server.messages) == ADDRESSES
    assert smtp_server.to("jan@example.org")[0]["Subject"] == "News"
    message = smtp_server.to("ida@example.org")[0]
    link = re.search(r"<https?://[^/>]+(/unsubscribe/\?t=[^>]+)>", message["List-Unsubscribe"]).group(1)
    answer = Client(enforce_csrf_checks=True).post(
        link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 200

    smtp_server.clear()
    second = _send(organiser, petition.slug)
    wait_until(lambda: _finished(second), timeout=40)
    assert sorted(str(m["To"]) for m in smtp_server.messages) == ADDRESSES[1:]
