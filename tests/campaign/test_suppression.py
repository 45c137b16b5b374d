"""The suppression list: a real SMTP server (aiosmtpd) refuses a recipient permanently, and
the address is suppressed: the next supporter update does not go to it, while transactional
mail (a confirmation, a receipt) is still attempted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from campaign import emails
from campaign.models import OutgoingEmail, SuppressedAddress
from campaign.outbox.queueing import outgoing_email_queue
from campaign.outbox.sending import outgoing_email_send
from campaign.privacy.hashing import address_hash
from petitions.models import PetitionUpdate, Signature
from petitions.updates import UPDATE_EMAIL_KIND, petition_update_batch_send
from tests.conftest import free_port
from tests.fixtures.petitions import SignatureFactory

pytestmark = pytest.mark.django_db

GONE = "gone@example.org"


class _RefusingHandler:
    def __init__(self) -> None:
        self.delivered: list[list[str]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.lower() == GONE:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def refusing_smtp(settings: Any) -> Iterator[_RefusingHandler]:
    from aiosmtpd.controller import Controller

    handler = _RefusingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    emails._close_connection()
    yield handler
    emails._close_connection()
    controller.stop()


def _mailing(petition: Any) -> PetitionUpdate:
    update = PetitionUpdate.objects.create(
        petition=petition, subject_de="Neu", body_text_de="Text", status="sending"
    )
    while petition_update_batch_send(update_id=update.pk) is not None:
        pass
    update.refresh_from_db()
    return update


def _send_queued() -> None:
    for pk in OutgoingEmail.objects.filter(status="queued").values_list("pk", flat=True):
        outgoing_email_send(outgoing_email_id=pk)


def test_a_hard_bounce_suppresses_the_address_for_further_updates(refusing_smtp, petition):
    for address in (GONE, "here@example.org"):
        SignatureFactory(
            petition=petition, email=address, status=Signature.Status.CONFIRMED, updates_consent=True
        )
    _mailing(petition)
    _send_queued()

    refused = OutgoingEmail.objects.get(kind=UPDATE_EMAIL_KIND, to_email=GONE)
    assert refused.status == OutgoingEmail.Status.FAILED and refused.last_error == "recipient refused"
    assert SuppressedAddress.objects.get(email_hash=address_hash(GONE)).reason == "bounced"
    assert refusing_smtp.delivered == [["here@example.org"]]

    second = _mailing(petition)
    assert second.suppressed_count == 1
    assert not OutgoingEmail.objects.filter(kind=UPDATE_EMAIL_KIND, to_email=GONE, status="queued").exists()
    _send_queued()
    assert refusing_smtp.delivered == [["here@example.org"], ["here@example.org"]]


def test_transactional_mail_is_not_held_back_by_the_list(refusing_smtp, db):
    SuppressedAddress.objects.create(email_hash=address_hash("here@example.org"), reason="unsubscribed")
    row = outgoing_email_queue(kind="test_message", to_email="here@example.org", context={"name": "staff"})
    assert outgoing_email_send(outgoing_email_id=row.pk) is True
    assert refusing_smtp.delivered == [["here@example.org"]]
