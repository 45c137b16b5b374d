"""No personal data in the logs of the privacy flows: signing with updates consent, the
confirmation, an update with its mails, the one-click unsubscribe, a bounce event, a person's
access and erasure requests and a staff erasure run with logging at DEBUG, and no log line of
this process names the test person's address or name."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re

import pytest
from django.test import Client

from campaign.models import OutgoingEmail
from campaign.outbox.sending import outgoing_email_send
from petitions.confirmation import signature_confirm
from petitions.updates import petition_update_batch_send
from tests.conftest import staff_api_client, staff_user_create
from tests.fixtures.petitions import mail_link_token, sign_payload

pytestmark = pytest.mark.django_db

EMAIL, FIRST, LAST = "loggable.person@example.org", "Liselotte", "Protokollova"
# The test SMTP server (aiosmtpd) logs the SMTP dialogue: it is the other side, not the service.
FOREIGN_LOGGERS = ("mail.log", "asyncio")


def _send_queued() -> None:
    for pk in OutgoingEmail.objects.filter(status="queued").values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=pk)


def _link(message, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"https?://[^/\s]+({path}\?\w+=[A-Za-z0-9_\-:.]+)", body).group(1)


def test_the_privacy_flows_log_no_address_and_no_name(
    caplog,
    api_client,
    smtp_server,
    petition,
    petitions_isolation,
    django_user_model,
    settings,
    django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)
    settings.MAIL_WEBHOOK_SECRET = "hook:secret"
    staff_client = staff_api_client(
        staff_user_create(django_user_model, "dpo-logs", "privacy officer", "organiser")
    )

    api_client.post(
        f"/api/v1/petitions/{petition.slug}/signatures/",
        sign_payload(email=EMAIL, first_name=FIRST, last_name=LAST, updates_consent=True),
        format="json",
    )
    _send_queued()
    signature_confirm(token=mail_link_token(smtp_server.wait_for(EMAIL)[-1], "confirm"))
    with django_capture_on_commit_callbacks(execute=False):
        update = staff_client.post(
            f"/api/v1/staff/petitions/{petition.slug}/updates/",
            {"subject": "Neu", "body_text": "Text", "send": True},
            format="json",
        )
    while petition_update_batch_send(update_id=update.json()["id"]) is not None:
        pass
    _send_queued()
    update_mail = [m for m in smtp_server.to(EMAIL) if m["List-Unsubscribe"]][-1]
    unsubscribe = re.search(
        r"<https?://[^/>]+(/unsubscribe/\?t=[^>]+)>", update_mail["List-Unsubscribe"]
    ).group(1)
    Client().get(unsubscribe)
    Client().post(unsubscribe)
    body = json.dumps({"events": [{"type": "hard_bounce", "email": EMAIL}]}).encode()
    signature = "sha256=" + hmac.new(b"hook:secret", body, hashlib.sha256).hexdigest()
    api_client.post(
        "/api/v1/mail/events/", body, content_type="application/json", HTTP_X_MAIL_EVENTS_SIGNATURE=signature
    )

    for kind in ("access", "erasure"):
        smtp_server.clear()
        api_client.post("/api/v1/privacy/requests/", {"email": EMAIL, "kind": kind}, format="json")
        _send_queued()
        Client().post(_link(smtp_server.wait_for(EMAIL)[-1], "/privacy/confirm/"))
        _send_queued()
    staff_client.post("/api/v1/staff/privacy/erasures/", {"email": EMAIL}, format="json")
    staff_client.post("/api/v1/staff/privacy/erasures/", {"email": "not an address"}, format="json")

    ours = [r for r in caplog.records if not r.name.startswith(FOREIGN_LOGGERS)]
    assert len(ours) > 5  # the flows did log
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in ours).lower()
    for needle in (EMAIL, FIRST, LAST, "loggable.person"):
        assert needle.lower() not in text
