"""Rendering and sending of outgoing mail.

Templates live at `emails/<kind>-subject.txt`, `emails/<kind>-body.txt` and optionally
`emails/<kind>-body.html`, rendered in the row's locale. Every mail carries the organisation's
imprint (German law requires it), added by the base templates: that of the row's campaign, or
the service-wide one (settings.ORGANISATION) for a mail about no campaign.

A kind can register a builder that runs at send time, just before rendering: it may add to the
context what must not rest in the database (a fresh token) and attach files (a receipt PDF).
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from campaign.selectors import campaign_organisation_by_id_get

if TYPE_CHECKING:
    from campaign.models import OutgoingEmail


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass
class PreparedEmail:
    """What a builder hands back: extra template context and attachments."""

    context: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


EmailBuilder = Callable[["OutgoingEmail"], PreparedEmail]
_builders: dict[str, EmailBuilder] = {}
# Non-transactional kinds (updates, newsletters, reminders): they honour the suppression list
# and carry the one-click unsubscribe headers (campaign.privacy.suppression).
_bulk_kinds: set[str] = set()


def register_bulk_kind(kind: str) -> None:
    _bulk_kinds.add(kind)


def is_bulk_kind(kind: str) -> bool:
    return kind in _bulk_kinds


def register_email_builder(kind: str) -> Callable[[EmailBuilder], EmailBuilder]:
    def decorator(func: EmailBuilder) -> EmailBuilder:
        _builders[kind] = func
        return func

    return decorator


def base_context(*, campaign_id: int | None = None) -> dict[str, Any]:
    return {
        "organisation": campaign_organisation_by_id_get(campaign_id=campaign_id),
        "public_base_url": settings.PUBLIC_BASE_URL,
    }


def email_render(email: OutgoingEmail) -> EmailMultiAlternatives:
    builder = _builders.get(email.kind)
    prepared = builder(email) if builder else PreparedEmail()
    context = {
        **base_context(campaign_id=email.campaign_id),
        **email.context,
        **prepared.context,
        "locale": email.locale,
    }
    headers = {"Auto-Submitted": "auto-generated", **prepared.headers}
    if is_bulk_kind(email.kind):
        from campaign.privacy.suppression import unsubscribe_headers, unsubscribe_url

        headers.update(unsubscribe_headers(email=email.to_email, locale=email.locale))
        context["unsubscribe_url"] = unsubscribe_url(email=email.to_email, locale=email.locale)
    with translation.override(email.locale):
        subject = render_to_string(f"emails/{email.kind}-subject.txt", context).strip()
        body = render_to_string(f"emails/{email.kind}-body.txt", context)
        try:
            html: str | None = render_to_string(f"emails/{email.kind}-body.html", context)
        except TemplateDoesNotExist:
            html = None
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a subject is one line
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to_email],
        headers=headers,
    )
    if html:
        message.attach_alternative(html, "text/html")
    for attachment in prepared.attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


# One SMTP connection per worker thread, reused across tasks: opening a connection per mail
# costs more than sending it.
_local = threading.local()


def _connection() -> Any:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = get_connection(fail_silently=False)
        _local.connection = connection
    return connection


def _close_connection() -> None:
    connection = getattr(_local, "connection", None)
    _local.connection = None
    if connection is not None:
        with contextlib.suppress(Exception):  # a broken connection is dropped either way
            connection.close()


class SendOutcomeUnknown(Exception):
    """The connection broke while the message was being sent: the server may have accepted it."""


def _open_live_connection() -> Any:
    """The kept connection, checked with a NOOP (a server may have closed it meanwhile), or a
    new one. Nothing has been sent when this fails."""
    connection = _connection()
    if getattr(connection, "connection", None) is not None:  # an SMTP backend with a kept socket
        try:
            status, _ = connection.connection.noop()
            if status != 250:
                raise smtplib.SMTPServerDisconnected(f"NOOP answered {status}")
        except (smtplib.SMTPException, OSError):
            _close_connection()
            connection = _connection()
    connection.open()
    return connection


def email_deliver(message: EmailMultiAlternatives, *, at_most_once: bool = False) -> str:
    """Sends over the kept connection and returns the Message-ID. When the connection breaks
    mid-send, an at-least-once mail is sent again over a new connection (a rare duplicate is
    acceptable), while an at-most-once mail raises SendOutcomeUnknown (it must not be sent twice)."""
    message_id = message.extra_headers.get("Message-ID") or _make_msgid()
    message.extra_headers["Message-ID"] = message_id
    message.connection = _open_live_connection()
    try:
        message.send()
    except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
        _close_connection()
        if at_most_once:
            raise SendOutcomeUnknown(type(exc).__name__) from exc
        message.connection = _open_live_connection()
        try:
            message.send()
        except Exception:
            _close_connection()
            raise
    return message_id


def _make_msgid() -> str:
    from email.utils import make_msgid

    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return make_msgid(domain=domain)
