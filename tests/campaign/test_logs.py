"""Logs: one JSON object a line with LOG_FORMAT=json, the request id from or into X-Request-ID,
the task id in worker lines, and none of the supporters' personal data."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from typing import Any

import pytest
import requests

from campaign.logs import PersonalDataFilter, logging_config, request_id_from
from tests.conftest import _worker_env, free_port, wait_until
from tests.outages import Gunicorn, production_env

# The personal data of the test's supporter; none of it may reach a log line.
NAME, SURNAME = "Zacharias", "Quellenbrink"
EMAIL = "zacharias.quellenbrink@example.org"
POSTCODE = "10115"
CLIENT_IP = "127.0.0.1"


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]


@pytest.fixture
def json_web(transactional_db: Any, tmp_path: Any) -> Any:
    from django.conf import settings

    env = production_env(
        database_url=_worker_env({})["DATABASE_URL"],
        redis_url=settings.REDIS_URL,
        run_id=uuid.uuid4().hex[:8],
        extra={"LOG_FORMAT": "json"},
    )
    web = Gunicorn(port=free_port(), env=env, log_path=tmp_path / "web.log", workers=1)
    web.start()
    yield web
    web.stop()


def test_the_web_logs_json_lines_with_request_ids_and_no_personal_data(json_web, petition):
    url = f"{json_web.url}/api/v1/petitions/{petition.slug}/signatures/"
    form = {
        "first_name": NAME,
        "last_name": SURNAME,
        "email": EMAIL,
        "postcode": POSTCODE,
        "country": "DE",
        "privacy_consent": True,
        "consent_version": petition.consent_version,
    }
    signed = requests.post(url, json=form, headers={"X-Request-ID": "req-from-proxy-1"}, timeout=10)
    assert signed.status_code == 202
    assert signed.headers["X-Request-ID"] == "req-from-proxy-1"
    # A 400 and a 404 are logged by Django with the request's id; the answer carries a new one.
    bad = requests.post(url, json={**form, "email": f"{NAME}@", "country": "XX"}, timeout=10)
    assert bad.status_code == 400
    made_up = bad.headers["X-Request-ID"]
    assert len(made_up) == 32
    assert requests.get(f"{json_web.url}/api/v1/petitions/{EMAIL}/", timeout=10).status_code == 404
    json_web.stop()

    log = json_web.log()
    records = _json_lines(log)  # every line is one JSON object
    assert {"time", "level", "logger", "message", "request_id"} <= set(records[-1])
    request_logs = [r for r in records if r.get("logger") == "django.request"]
    assert {r["request_id"] for r in request_logs} >= {made_up}
    for secret in (NAME, SURNAME, EMAIL, POSTCODE, CLIENT_IP):
        assert secret not in log


def test_worker_lines_carry_the_task_id(start_worker, smtp_server_session, transactional_db):
    from campaign.outbox.queueing import outgoing_email_queue
    from campaign.tasks import outgoing_email_send_task

    # Its own queue, so that no other worker of the run takes the task.
    queue = f"jsonlog-{uuid.uuid4().hex[:8]}"
    worker = start_worker(env={**smtp_server_session.env, "LOG_FORMAT": "json"}, name="jsonlog", queues=queue)
    email = outgoing_email_queue(kind="test_message", to_email=EMAIL, context={"name": NAME})
    outgoing_email_send_task.apply_async(args=[email.pk], queue=queue)

    def task_lines() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
        return [r for r in lines if r.get("task_id") and "succeeded" in r.get("message", "")]

    finished = wait_until(task_lines, timeout=30)
    worker.stop()
    assert len(finished[0]["task_id"]) == 36
    log = worker.log()
    for secret in (NAME, EMAIL):
        assert secret not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["logger"].startswith("celery") for r in records)


def test_the_personal_data_filter_masks_addresses():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "mail to %s from %s", (EMAIL, "10.1.2.3"), None
    )

    PersonalDataFilter().filter(record)

    assert record.getMessage() == "mail to [email] from [ip]"


def test_a_request_id_from_outside_is_kept_only_when_plain():
    assert request_id_from("abc-123") == "abc-123"
    assert request_id_from("x" * 500) != "x" * 500
    assert request_id_from("a b\nINJECTED") != "a b\nINJECTED"


def test_plain_text_stays_the_default_and_other_formats_are_refused():
    assert logging_config(level="INFO", log_format="plain")["handlers"]["console"]["formatter"] == "plain"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(level="INFO", log_format="xml")


def test_a_made_request_id_is_32_hex_digits_and_new_each_time():
    made = {request_id_from(None) for _ in range(1000)}
    assert len(made) == 1000
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in made)


def test_the_personal_data_filter_masks_compressed_ipv6_and_leaves_times_alone():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "from %s and %s at 18:43:40", ("2001:db8:4c::17", "::1"), None
    )

    PersonalDataFilter().filter(record)

    assert record.getMessage() == "from [ip] and [ip] at 18:43:40"


def test_the_personal_data_filter_masks_the_text_of_a_logged_exception():
    try:
        raise ValueError(f"Key (email)=({EMAIL}) already exists, from 203.0.113.9")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    PersonalDataFilter().filter(record)
    formatted = logging.Formatter().format(record)

    assert "Key (email)=([email]) already exists, from [ip]" in formatted
    assert EMAIL not in formatted


def test_sql_and_the_stripe_sdk_stay_out_of_debug_and_django_logs_only_through_our_handler():
    config = logging_config(level="DEBUG", log_format="json")

    # SQL statements carry their parameters; the SDK's DEBUG lines the request and answer bodies.
    assert config["loggers"]["django.db.backends"]["level"] == "INFO"
    assert config["loggers"]["stripe"]["level"] == "INFO"
    # Django's own console (unfiltered) and mail_admins handlers are replaced by none.
    assert config["loggers"]["django"]["handlers"] == []
