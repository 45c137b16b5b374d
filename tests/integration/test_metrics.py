"""/metrics on a real gunicorn with two workers in multiprocess mode: scraped after signings
and donations, the numbers moved and add up over both workers; without the token it is a 404."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.donations.helpers import donation_payload
from tests.outages import Gunicorn, ThrowawayPostgres, ThrowawayRedis, manage, production_env

CAMPAIGN = "stopstreamingexploitation"
PETITION = "stopstreamingexploitation-petition"
BEAT_ROW = """
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
every = IntervalSchedule.objects.create(every=1, period="hours")
PeriodicTask.objects.create(
    name="outbox-sweep", task="campaign.outgoing_email_sweep", interval=every, last_run_at=timezone.now()
)
"""
TOKEN = "metrics-test-token-" + "y" * 20  # noqa: S105 - a test value


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, localstripe_session: Any) -> Iterator[dict[str, Any]]:
    localstripe_session.start()
    root = tmp_path_factory.mktemp("metrics")
    postgres = ThrowawayPostgres(root=Path(tempfile.mkdtemp(prefix="metrics-pg-")), port=free_port())
    redis = ThrowawayRedis(root=root / "redis", port=free_port())
    postgres.init()
    redis.start()
    multiproc = root / "prometheus"
    multiproc.mkdir()
    env = production_env(
        database_url=postgres.url,
        redis_url=redis.url,
        run_id=uuid.uuid4().hex[:8],
        extra={
            "STRIPE_API_BASE": localstripe_session.url,
            "METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        },
    )
    web = Gunicorn(port=free_port(), env=env, log_path=root / "gunicorn.log", workers=2)
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo")
        # What beat writes when it sends a task (django-celery-beat's table).
        manage(env, "shell", "-c", BEAT_ROW)
        web.start()
        yield {"web": web, "multiproc": multiproc}
    finally:
        web.stop()
        redis.stop()
        postgres.destroy()


def _scrape(web: Gunicorn) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = requests.get(f"{web.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _pids(folder: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}


def test_the_endpoint_refuses_without_the_token(stack):
    web = stack["web"]
    assert requests.get(f"{web.url}/metrics", timeout=10).status_code == 404
    wrong = requests.get(f"{web.url}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert wrong.status_code == 404
    assert "campaign_" not in wrong.text


def test_a_scrape_after_signings_and_donations_counts_them_over_both_workers(stack):
    web = stack["web"]
    before = _scrape(web)
    consent = requests.get(f"{web.url}/api/v1/petitions/{PETITION}/", timeout=10).json()["consent_version"]
    signings = 6
    for number in range(signings):
        response = requests.post(
            f"{web.url}/api/v1/petitions/{PETITION}/signatures/",
            json={
                "first_name": "Erika",
                "last_name": "Mustermann",
                "email": f"metrics{number}@example.org",
                "postcode": "10115",
                "country": "DE",
                "privacy_consent": True,
                "consent_version": consent,
            },
            timeout=10,
        )
        assert response.status_code == 202, response.text
    donations = 3
    for number in range(donations):
        response = requests.post(
            f"{web.url}/api/v1/donations/",
            json=donation_payload(CAMPAIGN, email=f"donor{number}@example.org"),
            timeout=10,
        )
        assert response.status_code == 201, response.text
    # Until both workers have answered something (each writes its own files).
    for _ in range(200):
        if len(_pids(stack["multiproc"])) >= 2:
            break
        requests.get(f"{web.url}/healthz", timeout=10)
    assert len(_pids(stack["multiproc"])) >= 2

    after = _scrape(web)
    moved = _value(after, "campaign_signatures_created_total") - _value(
        before, "campaign_signatures_created_total"
    )
    assert moved == signings
    signed = ("campaign_http_requests_total", {"view": "signature-create", "method": "POST", "status": "202"})
    assert _value(after, signed[0], **signed[1]) - _value(before, signed[0], **signed[1]) == signings
    donated = ("campaign_http_requests_total", {"view": "donation-create", "method": "POST", "status": "201"})
    assert _value(after, donated[0], **donated[1]) - _value(before, donated[0], **donated[1]) == donations
    latency = "campaign_http_request_duration_seconds_count"
    assert _value(after, latency, view="signature-create", method="POST") >= signings
    # No worker runs here: the confirmation mails wait in the outbox.
    assert _value(after, "campaign_outbox_pending") - _value(before, "campaign_outbox_pending") == signings
    assert _value(after, "campaign_outbox_oldest_pending_age_seconds") >= 0
    # Every database source answered; beat's last run comes from its table.
    for source in ("outbox", "beat", "stripe_events", "deliveries"):
        assert _value(after, "campaign_metrics_source_up", source=source) == 1
    assert _value(after, "campaign_beat_last_run_timestamp_seconds", task="outbox-sweep") > 1_700_000_000
    assert ("campaign_stripe_events_pending", ()) in after
    assert ("campaign_deliveries_pending", ()) in after
    # Views by URL name, never the raw path (no slug in a label).
    assert not any(PETITION in value for _, labels in after for _, value in labels)
