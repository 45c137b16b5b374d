"""German donation receipts: the PDF's text (read back with pypdf), the simplified form up to
300 EUR, numbering without gaps or repeats, voiding, the annual collective receipt."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone
from pypdf import PdfReader

from campaign.models import OutgoingEmail
from donations.models import Donation, Donor, Mandate, Receipt
from donations.receipts import (
    amount_in_words_de,
    annual_receipts_issue,
    receipt_issue_for_donation,
    receipt_number_take,
    receipt_pdf_render,
    receipt_void,
)
from tests.donations.helpers import RECEIPT_ADDRESS, donation_complete, donation_start

pytestmark = pytest.mark.django_db


def pdf_text(receipt: Receipt) -> str:
    reader = PdfReader(io.BytesIO(receipt_pdf_render(receipt)))
    # Words, whatever the line breaks: the assertions are about content, not layout.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def settled_donation(
    campaign,
    *,
    amount: int,
    first_name: str = "Erika",
    last_name: str = "Mustermann",
    wants_receipt: bool = True,
    **extra,
) -> Donation:
    donor = Donor.objects.create(
        email=f"{first_name}.{amount}@example.org".lower(),
        email_normalized=f"{first_name}.{amount}.{Donor.objects.count()}@example.org".lower(),
        first_name=first_name,
        last_name=last_name,
        street="Musterstraße 1",
        postcode="10115",
        city="Berlin",
        country="DE",
    )
    return Donation.objects.create(
        campaign=campaign,
        donor=donor,
        amount=amount,
        method="card",
        status="succeeded",
        wants_receipt=wants_receipt,
        succeeded_at=timezone.now(),
        **extra,
    )


def issue(donation: Donation) -> Receipt:
    with transaction.atomic():
        locked = Donation.objects.select_for_update().select_related("donor").get(pk=donation.pk)
        receipt = receipt_issue_for_donation(locked)
    assert receipt is not None
    return receipt


def test_it_writes_the_amount_in_german_words():
    assert amount_in_words_de(50000) == "fünfhundert Euro"
    assert amount_in_words_de(2550) == "fünfundzwanzig Euro und fünfzig Cent"
    assert amount_in_words_de(123400) == "eintausendzweihundertvierunddreißig Euro"


def test_it_issues_a_full_receipt_above_300_eur_with_the_required_fields(campaign, settings):
    donation = settled_donation(campaign, amount=50000)

    receipt = issue(donation)
    text = pdf_text(receipt)

    assert receipt.kind == Receipt.Kind.SINGLE
    assert "Bestätigung über Geldzuwendungen" in text
    assert "Vereinfachter" not in text
    assert receipt.number in text
    assert "Erika Mustermann" in text
    assert "Musterstraße 1 10115 Berlin" in text
    assert "500,00 EUR" in text
    assert "fünfhundert Euro" in text
    assert f"{timezone.localdate():%d.%m.%Y}" in text
    assert settings.DONATION_RECEIPT["tax_office"] in text
    assert settings.DONATION_RECEIPT["tax_number"] in text
    assert "01.01.2025" in text  # the exemption notice's date
    assert "Förderung der Jugendhilfe" in text
    assert "nicht um einen Mitgliedsbeitrag" in text
    assert "nicht um den Verzicht auf Erstattung von Aufwendungen" in text


def test_it_issues_the_simplified_proof_up_to_300_eur(campaign):
    receipt = issue(settled_donation(campaign, amount=30000))
    text = pdf_text(receipt)

    assert receipt.kind == Receipt.Kind.SIMPLIFIED
    assert "Vereinfachter Zuwendungsnachweis" in text
    assert "dreihundert Euro" in text


@pytest.mark.parametrize(
    ("first_name", "last_name"), [("Αλέξανδρος", "Παπαδόπουλος"), ("Наталья", "Иванова")]
)
def test_it_prints_a_donor_name_in_a_non_latin_script(campaign, first_name, last_name):
    receipt = issue(settled_donation(campaign, amount=40000, first_name=first_name, last_name=last_name))

    assert f"{first_name} {last_name}" in pdf_text(receipt)


def test_it_receipts_a_donation_at_most_once(campaign):
    donation = settled_donation(campaign, amount=40000)
    issue(donation)

    with transaction.atomic():
        locked = Donation.objects.select_for_update().select_related("donor").get(pk=donation.pk)
        assert receipt_issue_for_donation(locked) is None
    assert Receipt.objects.count() == 1


def test_it_does_not_receipt_money_that_has_not_settled(campaign):
    donation = settled_donation(campaign, amount=40000)
    Donation.objects.filter(pk=donation.pk).update(status="processing")  # a SEPA debit under way

    with transaction.atomic():
        locked = Donation.objects.select_for_update().select_related("donor").get(pk=donation.pk)
        assert receipt_issue_for_donation(locked) is None


def test_it_voids_a_receipt_and_tells_the_donor(campaign):
    receipt = issue(settled_donation(campaign, amount=40000))

    assert receipt_void(receipt, reason="refund") is True
    assert receipt_void(receipt, reason="refund") is False

    receipt.refresh_from_db()
    assert receipt.status == Receipt.Status.VOID
    assert "UNGÜLTIG" in pdf_text(receipt)
    assert OutgoingEmail.objects.filter(kind="donation_receipt_voided").count() == 1


def test_it_voids_the_receipt_of_a_refunded_donation_via_the_api_flow(api_client, campaign, localstripe):
    from donations.charging import donation_apply_refund

    body = donation_start(api_client, campaign.slug, amount=35000, **RECEIPT_ADDRESS)
    localstripe.save_card(body["client_secret"])
    donation_complete(api_client, body["id"])
    donation = Donation.objects.get(public_id=body["id"])
    assert donation.receipt.status == Receipt.Status.ISSUED

    with transaction.atomic():
        locked = (
            Donation.objects.select_for_update(of=("self",))
            .select_related("receipt", "donor")
            .get(pk=donation.pk)
        )
        donation_apply_refund(locked, amount_refunded=35000, amount=35000)

    donation.refresh_from_db()
    assert donation.status == "refunded"
    assert donation.receipt.status == Receipt.Status.VOID


@pytest.mark.django_db(transaction=True)
def test_it_numbers_receipts_without_gaps_or_repeats_under_concurrency():
    year = timezone.localdate().year
    numbers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def take(rollback: bool) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                try:
                    with transaction.atomic():
                        sequence, _ = receipt_number_take(year=year)
                        if rollback:
                            raise RuntimeError("rolled back")
                        numbers.append(sequence)
                except RuntimeError:
                    pass
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    # Two of eight issuers roll back: their numbers must be given back, not lost.
    threads = [threading.Thread(target=take, args=(index < 2,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == list(range(1, 31))


def monthly_gifts(campaign, *, method: str, statuses: dict[int, str]) -> list[Donation]:
    """A monthly donor with a receipt wanted and one 10 EUR gift per month of 2025 given."""
    donor = Donor.objects.create(
        email="monthly@example.org",
        email_normalized="monthly@example.org",
        first_name="Jan",
        last_name="Jansen",
        street="Weg 2",
        postcode="20095",
        city="Hamburg",
        country="DE",
    )
    mandate = Mandate.objects.create(
        campaign=campaign,
        donor=donor,
        amount=1000,
        method=method,
        status="active",
        reference="SPENDE-TEST",
        stripe_customer_id="cus_1",
        stripe_payment_method_id="pm_1",
        wants_receipt=True,
    )
    return [
        Donation.objects.create(
            campaign=campaign,
            donor=donor,
            mandate=mandate,
            period=f"2025-{month:02d}",
            amount=1000,
            method=method,
            interval="month",
            status=status,
            succeeded_at=datetime(2025, month, 5, 12, tzinfo=UTC),
        )
        for month, status in statuses.items()
    ]


def test_it_issues_one_annual_receipt_per_donor_leaving_out_refunded_gifts(campaign):
    monthly_gifts(
        campaign,
        method="sepa_debit",
        statuses={1: "succeeded", 2: "succeeded", 3: "refunded", 4: "succeeded"},
    )

    assert annual_receipts_issue(year=2025) == 1
    assert annual_receipts_issue(year=2025) == 0  # a second run issues nothing new

    receipt = Receipt.objects.get()
    assert receipt.kind == Receipt.Kind.ANNUAL
    assert receipt.amount == 3000  # the refunded March gift is left out
    assert (receipt.period_start, receipt.period_end) == (date(2025, 1, 1), date(2025, 12, 31))
    assert Donation.objects.filter(receipt=receipt).count() == 3
    text = pdf_text(receipt)
    assert "Sammelbestätigung" in text
    assert "dreißig Euro" in text
    assert "01.01.2025 bis 31.12.2025" in text
    # The appendix lists each gift in the total, and only those.
    assert f"Anlage zur Sammelbestätigung Nr. {receipt.number}" in text
    for day in ("05.01.2025", "05.02.2025", "05.04.2025"):
        assert f"{day} Geldzuwendung nein 10,00 EUR" in text
    assert "05.03.2025" not in text
    assert "Gesamtsumme 30,00 EUR" in text


def test_it_mails_the_receipt_with_the_pdf_attached(campaign):
    from campaign.emails import email_render

    receipt = issue(settled_donation(campaign, amount=40000))
    email = OutgoingEmail.objects.get(kind="donation_receipt")

    message = email_render(email)

    assert receipt.number in message.subject
    (filename, content, mimetype) = message.attachments[0]
    assert filename == f"Zuwendungsbestaetigung-{receipt.number}.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")


def test_a_refund_replaces_the_annual_receipt_with_a_corrected_one(campaign):
    from donations.charging import donation_apply_refund

    gifts = monthly_gifts(campaign, method="card", statuses={1: "succeeded", 2: "succeeded", 3: "succeeded"})
    annual_receipts_issue(year=2025)
    first = Receipt.objects.get()

    with transaction.atomic():
        locked = (
            Donation.objects.select_for_update(of=("self",))
            .select_related("receipt", "donor")
            .get(pk=gifts[1].pk)
        )
        donation_apply_refund(locked, amount_refunded=1000, amount=1000)

    first.refresh_from_db()
    assert first.status == Receipt.Status.VOID
    corrected = Receipt.objects.exclude(pk=first.pk).get()
    assert (corrected.kind, corrected.amount, corrected.status) == ("annual", 2000, "issued")
    assert set(Donation.objects.filter(receipt=corrected).values_list("pk", flat=True)) == {
        gifts[0].pk,
        gifts[2].pk,
    }
    assert OutgoingEmail.objects.filter(kind="donation_receipt").count() == 2
    assert OutgoingEmail.objects.filter(kind="donation_receipt_voided").count() == 1
