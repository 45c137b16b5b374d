"""Delivery events of the mail provider put hard-bounced, complaining and unsubscribed
addresses on the suppression list: through django-anymail's tracking webhooks (Postmark's
payload here) with basic auth, and through the generic JSON format signed with HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from campaign.models import SuppressedAddress
from campaign.privacy.hashing import address_hash

pytestmark = pytest.mark.django_db

SECRET = "mailhook:s3cret-value"


@pytest.fixture
def webhook_secret(settings: Any) -> str:
    settings.MAIL_WEBHOOK_SECRET = SECRET
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    return SECRET


def postmark_bounce(email: str, kind: str = "HardBounce") -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message.",
        "Email": email,
        "BouncedAt": "2026-12-03T10:00:00Z",
        "Metadata": {},
    }


def basic_auth(secret: str) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


def suppressed(email: str) -> str | None:
    row = SuppressedAddress.objects.filter(email_hash=address_hash(email)).first()
    return row.reason if row else None


def test_a_providers_hard_bounce_suppresses_the_address(client, webhook_secret):
    response = client.post(
        "/mail/anymail/postmark/tracking/",
        json.dumps(postmark_bounce("bounced@example.org")),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(webhook_secret),
    )
    assert response.status_code == 200
    assert suppressed("bounced@example.org") == "bounced"


def test_a_soft_bounce_or_an_unauthenticated_event_suppresses_nothing(client, webhook_secret):
    client.post(
        "/mail/anymail/postmark/tracking/",
        json.dumps(postmark_bounce("later@example.org", kind="Transient")),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(webhook_secret),
    )
    forged = client.post(
        "/mail/anymail/postmark/tracking/",
        json.dumps(postmark_bounce("victim@example.org")),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth("mailhook:wrong"),
    )
    assert forged.status_code >= 400
    assert suppressed("later@example.org") is None and suppressed("victim@example.org") is None


def _signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_generic_signed_format_suppresses_hard_bounces_and_complaints(api_client, webhook_secret):
    body = json.dumps(
        {
            "events": [
                {"type": "hard_bounce", "email": "gone@example.org"},
                {"type": "complaint", "email": "angry@example.org"},
                {"type": "soft_bounce", "email": "full@example.org"},
            ]
        }
    ).encode()
    response = api_client.post(
        "/api/v1/mail/events/",
        body,
        content_type="application/json",
        HTTP_X_MAIL_EVENTS_SIGNATURE=_signed(body, SECRET),
    )
    assert response.status_code == 200 and response.json() == {"received": 3, "suppressed": 2}
    assert (
        suppressed("gone@example.org"),
        suppressed("angry@example.org"),
        suppressed("full@example.org"),
    ) == (
        "bounced",
        "complained",
        None,
    )


def test_the_generic_format_refuses_a_bad_signature_and_names_bad_fields(api_client, webhook_secret):
    body = json.dumps({"events": [{"type": "hard_bounce", "email": "x@example.org"}]}).encode()
    forged = api_client.post(
        "/api/v1/mail/events/",
        body,
        content_type="application/json",
        HTTP_X_MAIL_EVENTS_SIGNATURE=_signed(body, "other"),
    )
    assert forged.status_code == 403 and "X-Mail-Events-Signature" in forged.json()["fields"]
    bad = json.dumps({"events": [{"type": "exploded", "email": "x"}]}).encode()
    response = api_client.post(
        "/api/v1/mail/events/",
        bad,
        content_type="application/json",
        HTTP_X_MAIL_EVENTS_SIGNATURE=_signed(bad, SECRET),
    )
    assert response.status_code == 400
    assert {"events.0.type", "events.0.email"} <= set(response.json()["fields"])
    assert not SuppressedAddress.objects.exists()


def test_without_a_secret_no_event_is_accepted(api_client, client, settings):
    settings.MAIL_WEBHOOK_SECRET = ""
    body = json.dumps({"events": [{"type": "hard_bounce", "email": "x@example.org"}]}).encode()
    assert (
        api_client.post(
            "/api/v1/mail/events/",
            body,
            content_type="application/json",
            HTTP_X_MAIL_EVENTS_SIGNATURE=_signed(body, ""),
        ).status_code
        == 403
    )
    client.post(
        "/mail/anymail/postmark/tracking/",
        json.dumps(postmark_bounce("x@example.org")),
        content_type="application/json",
    )
    assert not SuppressedAddress.objects.exists()
