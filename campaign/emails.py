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
from django.template.loader import get_template
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
# A builder for many rows of its kind at once (one query for all, one commit): it returns, per
# row id, what the row's mail needs, or the exception that row's mail fails with.
EmailBatchBuilder = Callable[[list["OutgoingEmail"]], dict[int, "PreparedEmail | Exception"]]
_builders: dict[str, EmailBuilder] = {}
# Non-transactional kinds (updates, newsletters, reminders): they honour the suppression list
# and carry the one-click unsubscribe headers (campaign.privacy.suppression).
_bulk_kinds: set[str] = set()


def register_bulk_kind(kind: str) -> None:
    _bulk_kinds.add(kind)


def is_bulk_kind(kind: str) -> bool:
    return kind in _bulk_kinds


_batch_builders: dict[str, EmailBatchBuilder] = {}


def register_email_builder(kind: str) -> Callable[[EmailBuilder], EmailBuilder]:
    def decorator(func: EmailBuilder) -> EmailBuilder:
        _builders[kind] = func
        return func

    return decorator


def register_email_batch_builder(kind: str) -> Callable[[EmailBatchBuilder], EmailBatchBuilder]:
    def decorator(func: EmailBatchBuilder) -> EmailBatchBuilder:
        _batch_builders[kind] = func
        return func

    return decorator


def base_context(*, campaign_id: int | None = None) -> dict[str, Any]:
    return {
        "organisation": campaign_organisation_by_id_get(campaign_id=campaign_id),
        "public_base_url": settings.PUBLIC_BASE_URL,
    }


def email_prepare_batch(emails: list[OutgoingEmail]) -> dict[int, PreparedEmail | Exception]:
    """Runs the builders: a kind's batch builder once for all its rows, else its builder per
    row. A builder's exception is the result of its row(s), not raised."""
    results: dict[int, PreparedEmail | Exception] = {}
    by_kind: dict[str, list[OutgoingEmail]] = {}
    for email in emails:
        by_kind.setdefault(email.kind, []).append(email)
    for kind, group in by_kind.items():
        batch_builder = _batch_builders.get(kind)
        if batch_builder is not None:
            try:
                results.update(batch_builder(group))
            except Exception as exc:  # noqa: BLE001 - the rows fail; the caller records why
                results.update((email.pk, exc) for email in group)
            continue
        builder = _builders.get(kind)
        for email in group:
            try:
                results[email.pk] = builder(email) if builder else PreparedEmail()
            except Exception as exc:  # noqa: BLE001 - this row fails; the caller records why
                results[email.pk] = exc
    return results


class TemplateCache:
    """The templates of a batch of mails, each looked up once (None: the template does not
    exist, e.g. a kind without an HTML body)."""

    def __init__(self) -> None:
        self._templates: dict[str, Any] = {}

    def render(self, name: str, context: dict[str, Any]) -> str | None:
        if name not in self._templates:
            try:
                self._templates[name] = get_template(name)
            except TemplateDoesNotExist:
                self._templates[name] = None
        template = self._templates[name]
        return None if template is None else str(template.render(context))


def email_render(
    email: OutgoingEmail, *, prepared: PreparedEmail | None = None, templates: TemplateCache | None = None
) -> EmailMultiAlternatives:
    """The message of a row. `prepared` is what its builder returned (built here when not
    given); `templates` shares the template lookups across a batch."""
    if prepared is None:
        result = email_prepare_batch([email])[email.pk]
        if isinstance(result, Exception):
            raise result
        prepared = result
    templates = templates or TemplateCache()
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
        subject = templates.render(f"emails/{email.kind}-subject.txt", context)
        body = templates.render(f"emails/{email.kind}-body.txt", context)
        html = templates.render(f"emails/{email.kind}-body.html", context)
    if subject is None or body is None:
        raise TemplateDoesNotExist(f"emails/{email.kind}-subject.txt / -body.txt")
    message = EmailMultiAlternatives(
        subject=" ".join(subject.strip().split()),  # a subject is one line
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


def _kept_connection() -> Any:
    connection = _connection()
    connection.open()  # a no-op when it is open already
    return connection


def email_deliver(
    message: EmailMultiAlternatives, *, at_most_once: bool = False, connection_checked: bool = False
) -> str:
    """Sends over the kept connection and returns the Message-ID. When the connection breaks
    mid-send, an at-least-once mail is sent again over a new connection (a rare duplicate is
    acceptable), while an at-most-once mail raises SendOutcomeUnknown (it must not be sent twice).
    `connection_checked`: the kept connection was checked (NOOP) for an earlier mail of the
    same batch moments ago, so this one does not check it again."""
    message_id = message.extra_headers.get("Message-ID") or _make_msgid()
    message.extra_headers["Message-ID"] = message_id
    message.connection = _kept_connection() if connection_checked else _open_live_connection()
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
