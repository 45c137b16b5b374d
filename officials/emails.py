"""The mail to an official, built at send time from the delivery row: the totals frozen in the
delivery, and for milestone deliveries the handover report as a PDF attachment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from campaign.emails import Attachment, PreparedEmail, register_email_builder
from officials.deliveries import DELIVERY_EMAIL_KIND
from officials.models import Delivery
from officials.report_pdf import number_format
from officials.reports import ReportOptions, handover_report_render

if TYPE_CHECKING:
    from campaign.models import OutgoingEmail


@register_email_builder(DELIVERY_EMAIL_KIND)
def delivery_email_build(email: OutgoingEmail) -> PreparedEmail:
    assert email.subject_id is not None  # delivery mails are always queued with their delivery's id
    delivery = Delivery.objects.select_related("official__constituency", "petition").get(pk=email.subject_id)
    locale = email.locale
    petition = delivery.petition
    official = delivery.official
    totals = delivery.totals
    kind, _, value = delivery.trigger.partition(":")
    constituency = totals.get("constituency")
    if constituency:
        share = constituency["share_percent"]
        constituency = {
            **constituency,
            "count_display": number_format(constituency["count"], locale),
            "share_display": share.replace(".", ",") if locale == "de" else share,
        }
    state = totals.get("state")
    if state:
        share = state["share_percent"]
        state = {
            **state,
            "count_display": number_format(state["count"], locale),
            "share_display": share.replace(".", ",") if locale == "de" else share,
        }
    context = {
        "salutation": official.salutation,
        "state": state,
        "petition_title": (petition.title_en if locale == "en" else "") or petition.title_de,
        "petition_url": settings.OFFICIALS_PETITION_URL.replace("{slug}", petition.slug),
        "total": number_format(totals.get("total", 0), locale),
        "online": number_format(totals.get("online", 0), locale),
        "offline": number_format(totals.get("offline", 0), locale),
        "offline_count": totals.get("offline", 0),
        "constituency": constituency,
        "is_milestone": kind == "milestone",
        "milestone": number_format(int(value), locale) if kind == "milestone" else "",
        "period": value if kind == "period" else "",
        "include_names": delivery.include_names,
    }
    attachments = []
    if kind == "milestone":
        pdf = handover_report_render(
            petition=petition,
            options=ReportOptions(
                constituency=official.constituency,
                include_names=delivery.include_names,
                locale=locale,
            ),
        )
        filename = f"{'handover-report' if locale == 'en' else 'uebergabebericht'}-{petition.slug}.pdf"
        attachments.append(Attachment(filename=filename, content=pdf, mimetype="application/pdf"))
    return PreparedEmail(
        context=context,
        attachments=attachments,
        headers={"X-Campaign-Delivery": str(delivery.pk)},
    )
