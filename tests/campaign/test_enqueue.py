"""The lean enqueue writes exactly the message Celery's `.delay()` would, with one LPUSH."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings

from campaign.outbox.fast_enqueue import task_enqueue


@pytest.fixture
def app() -> Iterator[Celery]:
    """A Celery app configured like the project's, on a queue no worker listens to."""
    app = Celery("enqueue-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = f"enqueue-test-{uuid.uuid4().hex[:8]}"
    app.conf.task_always_eager = False
    broker_url, queue = app.conf.broker_url, app.conf.task_default_queue
    yield app
    redis.Redis.from_url(broker_url).delete(queue)


def pop(app: Celery) -> dict[str, Any]:
    raw = redis.Redis.from_url(app.conf.broker_url).rpop(app.conf.task_default_queue)
    assert raw is not None, "nothing was queued"
    message = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def without_ids(message: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in message["headers"].items() if k not in {"id", "root_id"}}
    properties = {
        k: v for k, v in message["properties"].items() if k not in {"correlation_id", "delivery_tag"}
    }
    return {**message, "headers": headers, "properties": properties}


def test_it_writes_the_message_delay_writes(app):
    @app.task(name="tests.enqueue_probe", bind=True, acks_late=True, max_retries=3)
    def probe(self: Any, item_id: int, **kwargs: Any) -> None:
        pass

    probe.delay(42, reason="x")
    by_celery = pop(app)
    task_enqueue(probe, 42, reason="x")
    by_us = pop(app)

    assert without_ids(by_us) == without_ids(by_celery)
    assert by_us["headers"]["task"] == "tests.enqueue_probe"
    assert by_us["body"][:2] == [[42], {"reason": "x"}]
    # Fresh ids per message, and the id ties the headers to the properties as Celery does.
    assert by_us["headers"]["id"] == by_us["headers"]["root_id"] == by_us["properties"]["correlation_id"]
    assert by_us["headers"]["id"] != by_celery["headers"]["id"]
    assert by_us["properties"]["delivery_tag"] != by_celery["properties"]["delivery_tag"]


def test_it_matches_for_the_outbox_task_and_its_time_limits(app):
    @app.task(
        name="campaign.outgoing_email_send_probe",
        bind=True,
        acks_late=True,
        time_limit=30,
        soft_time_limit=20,
    )
    def send(self: Any, outgoing_email_id: int, **kwargs: Any) -> None:
        pass

    send.delay(7)
    by_celery = pop(app)
    task_enqueue(send, 7)
    by_us = pop(app)

    assert without_ids(by_us) == without_ids(by_celery)
    assert by_us["headers"]["timelimit"] == [30, 20]


def test_in_eager_mode_it_runs_the_task_like_delay(app):
    app.conf.task_always_eager = True
    calls = []

    @app.task(name="tests.enqueue_eager")
    def eager(value: int) -> None:
        calls.append(value)

    task_enqueue(eager, 5)

    assert calls == [5]
    assert redis.Redis.from_url(app.conf.broker_url).llen(app.conf.task_default_queue) == 0


def test_with_the_broker_down_it_fails_fast_so_the_outbox_sweeper_takes_over(app):
    from tests.conftest import free_port

    @app.task(name="tests.enqueue_down")
    def down(value: int) -> None:
        pass

    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"

    with pytest.raises(redis.ConnectionError):
        task_enqueue(down, 1)


def test_the_project_uses_redis_for_the_broker_in_tests():
    # The fast path only applies to Redis; the tests above prove it against the real one.
    assert settings.CELERY_BROKER_URL.startswith("redis://")
