"""The count endpoint under a flood: one database read per process and count period, answers
a CDN can cache, and public counts that every process changes at the same period boundary."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from petitions import selectors
from petitions.counting import petition_counts_update
from petitions.models import Petition, Signature
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.django_db


def _get(api_client, petition, **headers):
    return api_client.get(f"/api/v1/petitions/{petition.slug}/count/", **headers)


def _count(api_client, petition) -> int:
    return _get(api_client, petition).json()["signature_count"]


@pytest.fixture
def frozen_clock(monkeypatch, settings):
    """The count periods' clock, set by the test (seconds), in the middle of a period."""
    settings.PETITIONS_COUNT_CACHE_SECONDS = 10
    now = [1_800_000_005.0]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])
    return now


def test_a_flood_of_count_requests_reads_the_database_once_per_period(api_client, petition, frozen_clock):
    with CaptureQueriesContext(connection) as queries:
        responses = [_get(api_client, petition) for _ in range(500)]

    assert {r.status_code for r in responses} == {200}
    # One load of the petition (and its milestones) for all 500 requests of the period.
    assert len(queries) <= 2
    response = responses[-1]
    assert "public" in response["Cache-Control"]
    assert "max-age=" in response["Cache-Control"]
    assert response["ETag"] == responses[0]["ETag"]
    # A CDN (or the widget) revalidating gets a 304 without a body, and no database read.
    with CaptureQueriesContext(connection) as queries:
        revalidated = _get(api_client, petition, HTTP_IF_NONE_MATCH=response["ETag"])
    assert revalidated.status_code == 304
    assert len(queries) == 0

    frozen_clock[0] += 10  # the next period: one more read
    with CaptureQueriesContext(connection) as queries:
        assert {_get(api_client, petition).status_code for _ in range(100)} == {200}
    assert 1 <= len(queries) <= 2


def test_a_pass_shows_from_the_next_period_in_every_process_at_once(api_client, petition, frozen_clock):
    assert _count(api_client, petition) == 0
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()
    selectors.petition_count_cache_clear()  # a process that loads after the pass ...

    # ... shows what the processes that loaded before it show, for the rest of the period.
    assert _count(api_client, petition) == 0
    frozen_clock[0] += 5  # the next period: everybody reloads and shows the new count
    assert _count(api_client, petition) == 1


def test_a_second_change_in_the_same_period_waits_for_the_first_to_show(api_client, petition, frozen_clock):
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()  # counted, but its public change waits: one change a period

    petition.refresh_from_db()
    assert (petition.signature_count, petition.public_count_before, petition.public_count) == (2, 0, 1)
    frozen_clock[0] += 5
    assert _count(api_client, petition) == 1
    petition_counts_update()  # the first is public now: the second follows
    frozen_clock[0] += 10
    assert _count(api_client, petition) == 2


def test_a_change_stamped_just_before_a_boundary_shows_only_after_the_next(
    api_client, petition, frozen_clock
):
    frozen_clock[0] = 1_800_000_009.5  # half a second before the boundary
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()

    frozen_clock[0] = 1_800_000_010.2  # its commit may land here: not shown yet by anybody
    selectors.petition_count_cache_clear()
    assert _count(api_client, petition) == 0
    frozen_clock[0] = 1_800_000_020.0
    assert _count(api_client, petition) == 1


def test_without_a_cache_period_every_request_shows_the_latest_count(api_client, petition, settings):
    settings.PETITIONS_COUNT_CACHE_SECONDS = 0
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()

    assert _count(api_client, petition) == 1
    assert Petition.objects.get(pk=petition.pk).public_count == 1
