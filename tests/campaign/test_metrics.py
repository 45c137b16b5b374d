"""/metrics in one process: who may read it, what the middleware and the outbox count, and the
alert rules and dashboard of docs/operations.md naming only metrics that exist."""

from __future__ import annotations

import json
import re
import smtplib
from pathlib import Path
from unittest import mock

import pytest
import yaml
from prometheus_client import REGISTRY

from campaign.outbox.queueing import outgoing_email_queue
from campaign.outbox.sending import TransientEmailError, outgoing_email_send

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_it_is_a_404_with_neither_token_nor_networks_configured(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_CIDRS = []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_it_answers_the_token_and_nothing_else(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"  # noqa: S105 - a test value
    settings.METRICS_ALLOWED_CIDRS = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token s3cret-token").status_code == 404
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"campaign_outbox_pending" in response.content


def test_an_allow_listed_network_needs_no_token_and_forwarded_addresses_do_not_count(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_CIDRS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 404


def test_requests_are_counted_by_url_name_not_path(client):
    before = _value("campaign_http_requests_total", view="campaign-detail", method="GET", status="404")
    client.get("/api/v1/campaigns/no-such-campaign/")
    client.get("/api/v1/campaigns/another-one/")
    after = _value("campaign_http_requests_total", view="campaign-detail", method="GET", status="404")
    assert after - before == 2
    unresolved = _value("campaign_http_requests_total", view="<unresolved>", method="GET", status="404")
    client.get("/no/such/page/")
    assert (
        _value("campaign_http_requests_total", view="<unresolved>", method="GET", status="404")
        == unresolved + 1
    )


def _queue():
    return outgoing_email_queue(
        kind="test_message", to_email="ada@example.org", locale="de", context={"name": "A"}
    )


def test_the_outbox_counts_sent_retried_and_failed_mails(settings):
    # One mail per batch: the requeued flaky mail must not ride along with the refused one.
    settings.OUTBOX_BATCH_SIZE = 1
    sent = _value("campaign_mails_sent_total", kind="test_message")
    retried = _value("campaign_mails_retried_total")
    failed = _value("campaign_mails_failed_total", kind="test_message")

    email = _queue()
    assert outgoing_email_send(outgoing_email_id=email.pk) is True
    assert outgoing_email_send(outgoing_email_id=email.pk) is False  # counted once
    flaky = _queue()
    with mock.patch("campaign.outbox.sending.email_deliver", side_effect=smtplib.SMTPServerDisconnected()):
        with pytest.raises(TransientEmailError):
            outgoing_email_send(outgoing_email_id=flaky.pk)
    refused = _queue()
    error = smtplib.SMTPRecipientsRefused({"ada@example.org": (550, b"no such user")})
    with mock.patch("campaign.outbox.sending.email_deliver", side_effect=error):
        outgoing_email_send(outgoing_email_id=refused.pk)

    assert _value("campaign_mails_sent_total", kind="test_message") == sent + 1
    assert _value("campaign_mails_retried_total") == retried + 1
    assert _value("campaign_mails_failed_total", kind="test_message") == failed + 1


def test_a_failing_task_is_counted_by_its_name():
    from campaign.task_metrics import task_failure_count

    class Task:
        name = "petitions.example"

    before = _value("campaign_task_failures_total", task="petitions.example")
    task_failure_count(sender=Task())
    assert _value("campaign_task_failures_total", task="petitions.example") == before + 1


def _documented_metrics() -> set[str]:
    text = (DOCS / "operations.md").read_text()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(campaign_[a-z_]+)`", section))


def _base_names(expression: str) -> set[str]:
    names = set(re.findall(r"\bcampaign_[a-z_]+", expression))
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def test_the_alert_rules_parse_and_name_documented_metrics():
    text = (DOCS / "operations.md").read_text()
    block = text.split("### Alert rules", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    rules = yaml.safe_load(block)["groups"][0]["rules"]
    alerts = {rule["alert"] for rule in rules}
    assert {"OutboxStuck", "StripeWebhooksLagging", "HighErrorRate", "BeatSilent"} <= alerts
    documented = _documented_metrics()
    for rule in rules:
        assert _base_names(rule["expr"]) <= documented, rule["alert"]


def test_the_grafana_dashboard_parses_and_names_documented_metrics():
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    documented = _documented_metrics()
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 12
    for expression in expressions:
        assert _base_names(expression) <= documented, expression
