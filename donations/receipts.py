"""German donation receipts (Zuwendungsbestätigungen): numbering, issuing, voiding, the
annual collective receipt and the PDF.

The PDF follows the fields of the official template (BMF, "Bestätigung über Geldzuwendungen"):
the donor's name and address, the amount in figures and in words, the date of the gift, the
statement that it is not a membership fee and that no waiver of reimbursement is involved, the
tax office, tax number and date of the exemption notice, and the purpose. Gifts up to 300 EUR
get the simplified proof (§ 50 Abs. 4 EStDV), which the tax office accepts together with the
bank statement.

The issuer is the organisation of the gifts' campaign once it has a tax number, else the
service-wide one (campaign.selectors.campaign_receipt_issuer_get); an annual receipt covers the
gifts of one issuer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from fpdf import FPDF

from campaign.emails import Attachment, PreparedEmail, register_email_builder
from campaign.models import Campaign
from campaign.outbox.queueing import outgoing_email_queue
from campaign.pdf import FONT_FAMILY, pdf_document_new
from campaign.privacy.sealing import unseal
from campaign.selectors import campaign_receipt_issuer_get
from donations.models import Donation, Donor, Receipt, ReceiptCounter

logger = logging.getLogger(__name__)

_Text = Callable[..., None]  # writes a paragraph onto the receipt PDF


def receipt_number_take(*, year: int) -> tuple[int, str]:
    """The next number of the year. The counter row stays locked until the caller's
    transaction ends, so concurrent issuers queue up and no number is skipped or repeated
    (a rolled-back transaction gives its number back)."""
    ReceiptCounter.objects.get_or_create(year=year)
    counter = ReceiptCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number, f"{year}-{counter.last_number:06d}"


def _donor_address(donor: Donor) -> str:
    lines = [donor.street, f"{donor.postcode} {donor.city}".strip(), donor.country]
    return "\n".join(line for line in lines if line)


def _receipt_create(
    *,
    donor: Donor,
    kind: str,
    amount: int,
    donated_on: date,
    period: tuple[date, date] | None = None,
    replaces: Receipt | None = None,
) -> Receipt:
    now = timezone.now()
    sequence, number = receipt_number_take(year=timezone.localdate(now).year)
    return Receipt.objects.create(
        year=timezone.localdate(now).year,
        sequence=sequence,
        number=number,
        kind=kind,
        donor=donor,
        donor_name=donor.full_name,
        donor_address=_donor_address(donor),
        amount=amount,
        donated_on=donated_on,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        issued_at=now,
        replaces=replaces,
    )


def _receipt_campaign(receipt: Receipt) -> Campaign | None:
    """The campaign of the receipt's gifts (the first one's: an annual receipt's gifts share an
    issuer); None for a receipt whose gifts moved to a corrected one."""
    donation = receipt.donations.select_related("campaign__organisation").order_by("pk").first()
    return donation.campaign if donation is not None else None


def _receipt_mail(receipt: Receipt, kind: str = "donation_receipt") -> None:
    donor = receipt.donor
    if not donor.email:
        return
    campaign = _receipt_campaign(receipt)
    outgoing_email_queue(
        kind=kind,
        to_email=donor.email,
        locale=donor.locale,
        context={"first_name": donor.first_name, "receipt_id": receipt.pk, "receipt_number": receipt.number},
        subject_type="donations.receipt",
        subject_id=receipt.pk,
        campaign_id=campaign.pk if campaign is not None else None,
    )


def receipt_mail_again(*, receipt_id: int) -> bool:
    """Sends a valid receipt to the donor again (the PDF is rendered anew when sent)."""
    receipt = (
        Receipt.objects.select_related("donor").filter(pk=receipt_id, status=Receipt.Status.ISSUED).first()
    )
    if receipt is None or not receipt.donor.email:
        return False
    with transaction.atomic():
        _receipt_mail(receipt)
    return True


def receipt_issue_for_donation(donation: Donation) -> Receipt | None:
    """Issues the receipt of one settled gift (the caller holds the donation's row lock, in a
    transaction). A donation is receipted at most once."""
    if donation.receipt_id is not None or donation.status != Donation.Status.SUCCEEDED:
        return None
    donor = donation.donor
    if not (donor.full_name and donor.street and donor.city):
        logger.info("donation %s: no receipt, address incomplete", donation.pk)
        return None
    amount = donation.total_amount  # a covered fee is part of the gift
    kind = (
        Receipt.Kind.SIMPLIFIED if amount <= settings.RECEIPT_SIMPLIFIED_MAX_AMOUNT else Receipt.Kind.SINGLE
    )
    donated_on = timezone.localdate(donation.succeeded_at or timezone.now())
    receipt = _receipt_create(donor=donor, kind=kind, amount=amount, donated_on=donated_on)
    donation.receipt = receipt
    donation.save(update_fields=["receipt", "updated_at"])
    _receipt_mail(receipt)
    logger.info("donation %s: receipt %s issued", donation.pk, receipt.pk)
    return receipt


def receipt_void(receipt: Receipt, *, reason: str) -> bool:
    """Withdraws a receipt after a refund or a lost dispute and tells the donor."""
    with transaction.atomic():
        locked = Receipt.objects.select_for_update(of=("self",)).select_related("donor").get(pk=receipt.pk)
        if locked.status == Receipt.Status.VOID:
            return False
        locked.status = Receipt.Status.VOID
        locked.voided_at = timezone.now()
        locked.void_reason = reason[:100]
        locked.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
        _receipt_mail(locked, kind="donation_receipt_voided")
    receipt.status = locked.status
    logger.info("receipt %s voided (%s)", receipt.pk, reason)
    return True


def receipt_withdraw(donation: Donation, *, reason: str) -> None:
    """A gift was refunded or lost in a dispute: its receipt is voided and the donor told, and
    a corrected receipt over what is left is issued at once (see collective_receipts)."""
    from donations.collective_receipts import receipt_correct

    receipt = donation.receipt
    if receipt is None or not receipt_void(receipt, reason=reason):
        return
    receipt_correct(voided=receipt)


def _issuer_key(donation: Donation) -> int | None:
    """Which organisation issues the receipt of a gift (None: the service-wide one); the same
    rule as campaign_receipt_issuer_get."""
    organisation = donation.campaign.organisation
    return organisation.pk if organisation is not None and organisation.tax_number else None


def annual_receipts_issue(*, year: int, donor_id: int | None = None) -> int:
    """The collective receipts of `year` (see donations.collective_receipts)."""
    from donations.collective_receipts import annual_receipts_issue as issue

    return issue(year=year, donor_id=donor_id)


# --- The PDF ---------------------------------------------------------------------------------


def amount_in_words_de(cents: int) -> str:
    """The amount in German words, as the official template asks ("fünfundzwanzig Euro")."""
    from num2words import num2words

    euros, rest = divmod(cents, 100)
    words = f"{num2words(euros, lang='de')} Euro"
    if rest:
        words += f" und {num2words(rest, lang='de')} Cent"
    return words


def _euro(cents: int) -> str:
    value = Decimal(cents) / 100
    return f"{value:,.2f} EUR".replace(",", "X").replace(".", ",").replace("X", ".")


def receipt_pdf_render(receipt: Receipt) -> bytes:
    issuer = campaign_receipt_issuer_get(campaign=_receipt_campaign(receipt))
    org, tax = issuer["organisation"], issuer["tax"]
    pdf: FPDF = pdf_document_new(title=f"Zuwendungsbestätigung {receipt.number}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def text(value: str, size: int = 10, style: str = "", height: float = 5) -> None:
        pdf.set_font(FONT_FAMILY, style, size)
        pdf.multi_cell(width, height, value, new_x="LMARGIN", new_y="NEXT")

    _pdf_heading(pdf, receipt, text, org)
    _pdf_donor_and_gift(pdf, receipt, text)
    _pdf_tax_status(pdf, receipt, text, tax)
    _pdf_signature_and_liability(pdf, receipt, text, org, tax)
    if receipt.kind == Receipt.Kind.ANNUAL:
        _annual_appendix(pdf, receipt, text)
    return bytes(pdf.output())


def _receipt_title(receipt: Receipt) -> str:
    if receipt.kind == Receipt.Kind.SIMPLIFIED:
        return "Vereinfachter Zuwendungsnachweis (Zuwendungen bis 300 Euro)"
    if receipt.kind == Receipt.Kind.ANNUAL:
        return "Sammelbestätigung über Geldzuwendungen"
    return "Bestätigung über Geldzuwendungen"


def _pdf_heading(pdf: FPDF, receipt: Receipt, text: _Text, org: dict[str, Any]) -> None:
    """The issuer, a void mark, the title of the official template and its legal basis."""
    text(f"{org['name']} · {org['address']}", size=8)
    pdf.ln(4)
    if receipt.status == Receipt.Status.VOID:
        text("UNGÜLTIG – diese Bestätigung wurde zurückgezogen.", size=14, style="B")
        pdf.ln(2)
    text(_receipt_title(receipt), size=14, style="B", height=7)
    text(
        "im Sinne des § 10b des Einkommensteuergesetzes an eine der in § 5 Abs. 1 Nr. 9 des "
        "Körperschaftsteuergesetzes bezeichneten Körperschaften, Personenvereinigungen oder "
        "Vermögensmassen",
        size=8,
    )


def _pdf_donor_and_gift(pdf: FPDF, receipt: Receipt, text: _Text) -> None:
    """The receipt number, the donor, the amount (in figures and words) and its date or period."""
    pdf.ln(3)
    text(f"Nummer der Bestätigung: {receipt.number}", style="B")
    pdf.ln(2)
    text("Name und Anschrift des Zuwendenden:", style="B")
    # A receipt kept after an erasure is sealed; it is rendered only for the tax duty.
    text(unseal(receipt.donor_name))
    text(unseal(receipt.donor_address))
    pdf.ln(3)
    text("Betrag der Zuwendung in Ziffern:", style="B")
    text(_euro(receipt.amount))
    text("in Buchstaben:", style="B")
    text(amount_in_words_de(receipt.amount))
    if receipt.kind == Receipt.Kind.ANNUAL and receipt.period_start and receipt.period_end:
        text("Zeitraum der Sammelbestätigung:", style="B")
        text(f"{receipt.period_start:%d.%m.%Y} bis {receipt.period_end:%d.%m.%Y}")
    else:
        text("Tag der Zuwendung:", style="B")
        text(f"{receipt.donated_on:%d.%m.%Y}")
    if receipt.replaces is not None:
        text(f"Diese Bestätigung ersetzt die zurückgezogene Bestätigung Nr. {receipt.replaces.number}.")
    pdf.ln(3)
    text("Es handelt sich nicht um den Verzicht auf Erstattung von Aufwendungen.")
    text("Es handelt sich nicht um einen Mitgliedsbeitrag.")


def _pdf_tax_status(pdf: FPDF, receipt: Receipt, text: _Text, tax: dict[str, Any]) -> None:
    """The recipient's tax exemption, the purpose, and the notes of the simplified and annual kinds."""
    pdf.ln(3)
    exemption_date = tax["exemption_date"]
    try:
        exemption_date = date.fromisoformat(exemption_date).strftime("%d.%m.%Y")
    except ValueError:
        pass
    text("Steuerbegünstigung des Zuwendungsempfängers:", style="B")
    text(f"Finanzamt: {tax['tax_office']}")
    text(f"Steuernummer: {tax['tax_number']}")
    text(f"Freistellungsbescheid vom: {exemption_date} (Veranlagungszeitraum {tax['exemption_period']})")
    text(f"Steuerbegünstigter Zweck: {tax['purpose']}")
    pdf.ln(2)
    text(
        "Wir sind wegen Förderung steuerbegünstigter Zwecke nach dem letzten uns zugegangenen "
        "Freistellungsbescheid bzw. nach der Anlage zum Körperschaftsteuerbescheid des oben genannten "
        "Finanzamts nach § 5 Abs. 1 Nr. 9 des Körperschaftsteuergesetzes von der Körperschaftsteuer und "
        "nach § 3 Nr. 6 des Gewerbesteuergesetzes von der Gewerbesteuer befreit."
    )
    pdf.ln(2)
    text(f"Es wird bestätigt, dass die Zuwendung nur zur Förderung von {tax['purpose']} verwendet wird.")
    if receipt.kind == Receipt.Kind.SIMPLIFIED:
        pdf.ln(2)
        text(
            "Dieser vereinfachte Zuwendungsnachweis gilt zusammen mit Ihrem Kontoauszug oder dem "
            "Buchungsbeleg Ihres Zahlungsdienstleisters als Nachweis (§ 50 Abs. 4 EStDV).",
            size=8,
        )
    if receipt.kind == Receipt.Kind.ANNUAL:
        pdf.ln(2)
        text(
            "Ob es sich um den Verzicht auf Erstattung von Aufwendungen handelt, ist der Anlage zur "
            "Sammelbestätigung zu entnehmen. Es wird bestätigt, dass über die in der Gesamtsumme "
            "enthaltenen Zuwendungen keine weiteren Bestätigungen ausgestellt wurden.",
            size=8,
        )


def _pdf_signature_and_liability(
    pdf: FPDF, receipt: Receipt, text: _Text, org: dict[str, Any], tax: dict[str, Any]
) -> None:
    """Place, date and signatory, and the liability notice of § 10b Abs. 4 EStG."""
    pdf.ln(6)
    text(f"{tax['place']}, {timezone.localdate(receipt.issued_at):%d.%m.%Y}")
    text(f"{tax['signatory']}, {org['name']}")
    text("Diese Bestätigung wurde maschinell erstellt und ist ohne Unterschrift gültig.", size=8)
    pdf.ln(4)
    text(
        "Hinweis: Wer vorsätzlich oder grob fahrlässig eine unrichtige Zuwendungsbestätigung erstellt "
        "oder veranlasst, dass Zuwendungen nicht zu den in der Zuwendungsbestätigung angegebenen "
        "steuerbegünstigten Zwecken verwendet werden, haftet für die entgangene Steuer "
        "(§ 10b Abs. 4 EStG, § 9 Abs. 3 KStG, § 9 Nr. 5 GewStG).",
        size=7,
        height=4,
    )


def _annual_appendix(pdf: Any, receipt: Receipt, text: Any) -> None:
    """The appendix the official template asks for: each gift with its date and amount."""
    gifts = list(
        receipt.donations.order_by("succeeded_at", "pk").values_list(
            "succeeded_at", "amount", "fee_amount", "amount_refunded"
        )
    )
    pdf.add_page()
    text(f"Anlage zur Sammelbestätigung Nr. {receipt.number}", size=12, style="B", height=6)
    pdf.ln(2)
    widths = (35, 55, 55, 35)
    headings = (
        "Datum der Zuwendung",
        "Art der Zuwendung",
        "Verzicht auf Erstattung von Aufwendungen",
        "Betrag",
    )
    pdf.set_font("DejaVu", "B", 8)
    for width, heading in zip(widths, headings, strict=True):
        pdf.cell(width, 6, heading, border=1)
    pdf.ln()
    pdf.set_font("DejaVu", "", 9)
    for succeeded_at, amount, fee, refunded in gifts:
        day = timezone.localdate(succeeded_at) if succeeded_at else receipt.donated_on
        for width, value in zip(
            widths, (f"{day:%d.%m.%Y}", "Geldzuwendung", "nein", _euro(amount + fee - refunded)), strict=True
        ):
            pdf.cell(width, 6, value, border=1)
        pdf.ln()
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(sum(widths[:3]), 6, "Gesamtsumme", border=1)
    pdf.cell(widths[3], 6, _euro(receipt.amount), border=1)
    pdf.ln()


@register_email_builder("donation_receipt")
def _receipt_mail_build(email: Any) -> PreparedEmail:
    receipt = Receipt.objects.get(pk=email.context["receipt_id"])
    return PreparedEmail(
        attachments=[
            Attachment(
                filename=f"Zuwendungsbestaetigung-{receipt.number}.pdf",
                content=receipt_pdf_render(receipt),
                mimetype="application/pdf",
            )
        ]
    )
