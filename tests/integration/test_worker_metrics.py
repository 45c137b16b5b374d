"""The Celery worker's own metrics: a real prefork worker in multiprocess mode sends a mail and
its METRICS_WORKER_PORT shows the mail counted (summed from the child that sent it)."""

from __future__ import annotations

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from campaign.models import OutgoingEmail
from tests.conftest import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _sent(port: int) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "campaign_mails_sent_total" and sample.labels.get("kind") == "test_message":
                return sample.value
    return 0.0


def test_the_worker_serves_the_mails_its_children_sent(start_worker, smtp_server, tmp_path):
    from django.conf import settings

    from campaign.tasks import outgoing_email_send_task

    port = free_port()
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-metrics"
    start_worker(
        env={
            **smtp_server.env,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
            "METRICS_WORKER_PORT": str(port),
        },
        name="metrics",
        queues=queue,
        concurrency=2,
    )
    assert _sent(port) == 0
    # The row alone, published only to this worker's queue: through the outbox it would also
    # go to the run's queue, where the session's worker (if one runs) could send it first.
    email = OutgoingEmail.objects.create(
        kind="test_message",
        to_email="ada@example.org",
        locale="de",
        context={"name": "A"},
        enqueued_at=timezone.now(),
    )

    outgoing_email_send_task.apply_async((email.pk,), queue=queue)

    wait_until(lambda: OutgoingEmail.objects.get(pk=email.pk).status == OutgoingEmail.Status.SENT, timeout=90)
    assert wait_until(lambda: _sent(port) == 1, timeout=30)
