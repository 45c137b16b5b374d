"""The count endpoint under a flood: one database read per process and cache period (or
counter pass), answers a CDN can cache, and the counts' generation shared through Redis."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from petitions import selectors
from petitions.counting import petition_counts_update
from petitions.models import Signature
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.django_db


def _get(api_client, petition, **headers):
    return api_client.get(f"/api/v1/petitions/{petition.slug}/count/", **headers)


def test_a_flood_of_count_requests_reads_the_database_once(api_client, petition, settings):
    settings.PETITIONS_COUNT_CACHE_SECONDS = 60

    with CaptureQueriesContext(connection) as queries:
        responses = [_get(api_client, petition) for _ in range(500)]

    assert {r.status_code for r in responses} == {200}
    # One load of the petition (and its milestones) for all 500 requests.
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


def test_a_counter_pass_costs_each_process_one_more_read(api_client, petition, settings):
    settings.PETITIONS_COUNT_CACHE_SECONDS = 60
    assert _get(api_client, petition).json()["signature_count"] == 0
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    cached_before = dict(selectors._count_cache)
    petition_counts_update()
    # The count this process cached before the pass is still there, as in every other
    # process: the new generation alone makes it read again.
    assert selectors._count_cache == cached_before

    with CaptureQueriesContext(connection) as queries:
        counts = [_get(api_client, petition).json()["signature_count"] for _ in range(100)]

    assert counts == [1] * 100
    assert len(queries) <= 2


def test_a_process_keeps_its_count_while_a_pass_publishes_and_moves_on_after(api_client, petition, settings):
    settings.PETITIONS_COUNT_CACHE_SECONDS = 60
    assert _get(api_client, petition).json()["signature_count"] == 0
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    generation, _ = selectors.counts_state_get() or (None, None)
    assert generation is not None  # the tests run on Redis

    selectors.counts_publish_begin()
    # The pass committed its count, but has not published it yet: nobody may run ahead (the
    # others still serve the old count), even past the cache period.
    petition.__class__.objects.filter(pk=petition.pk).update(signature_count=1)
    settings.PETITIONS_COUNT_CACHE_SECONDS = 0
    assert _get(api_client, petition).json()["signature_count"] == 0
    selectors.counts_publish_end(changed=True)

    assert selectors.counts_state_get() == (generation + 1, False)
    assert _get(api_client, petition).json()["signature_count"] == 1


def test_with_redis_down_the_count_is_served_from_the_time_limited_cache(api_client, petition, monkeypatch):
    monkeypatch.setattr(selectors, "counts_state_get", lambda: None)

    assert _get(api_client, petition).json()["signature_count"] == 0
    SignatureFactory(petition=petition, status=Signature.Status.CONFIRMED)
    petition_counts_update()  # publishing fails open too

    assert _get(api_client, petition).json()["signature_count"] == 1  # this process cleared its own
