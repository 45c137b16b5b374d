"""The donor's own page in Chromium, against the running service, localstripe (its Stripe.js
stand-in served at /js.stripe.com/v3/), a real worker and the test SMTP server: the donor asks
for the link on the page, opens it from the mail and changes, pauses, resumes, re-equips and
stops a monthly gift, updates the receipt address, asks for a receipt and downloads it. Every
change arrives as a mail, read from the SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from tests.conftest import wait_until
from tests.donations.helpers import donation_complete, donation_start
from tests.fixtures.localstripe import CARD_OK, IBAN_OK

pytestmark = pytest.mark.integration

EMAIL = "erika@example.org"


@pytest.fixture
def donor_site(localstripe: Any, celery_worker: Any, live_server: Any, settings: Any) -> Any:
    """The service with Stripe.js from localstripe; mails go through the worker to SMTP."""
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server


def body_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def mail_with(smtp: Any, subject: str, after: int = 0) -> EmailMessage:
    """The first mail to the donor whose subject contains `subject`, among those after the
    first `after` mails (each step counts the mails before it)."""

    def found() -> EmailMessage | None:
        return next((m for m in smtp.to(EMAIL)[after:] if subject in str(m["Subject"])), None)

    return wait_until(found)


def monthly_gift(api_client: Any, campaign: Any, localstripe: Any, method: str) -> Any:
    from donations.models import Donation

    body = donation_start(api_client, campaign.slug, interval="month", payment_method=method, amount=1500)
    if method == "sepa_debit":
        localstripe.save_sepa(body["client_secret"])
    else:
        localstripe.save_card(body["client_secret"])
    assert donation_complete(api_client, body["id"]).status_code == 200
    return Donation.objects.get(public_id=body["id"]).mandate


def open_page_from_mail(page: Any, live_server: Any, smtp: Any) -> None:
    """Asks for the link on the page, as a donor whose session ended, and opens it."""
    page.goto(f"{live_server.url}/donations/manage/")
    page.get_by_label("Die E-Mail-Adresse, mit der Sie gespendet haben").fill(EMAIL)
    page.get_by_role("button", name="Link zusenden").click()
    page.get_by_text("Falls mit dieser Adresse gespendet wurde, ist ein Link an sie unterwegs.").wait_for()
    mail = mail_with(smtp, "Ihr persönlicher Link")
    link = re.search(r"https?://\S+/donations/manage/\?token=[\w-]+", body_of(mail))
    assert link, body_of(mail)
    # The worker builds links from its own PUBLIC_BASE_URL: open the same path and query here.
    parts = urlsplit(link.group(0))
    page.goto(f"{live_server.url}{parts.path}?{parts.query}")
    page.get_by_role("button", name="Meine Spenden anzeigen").click()
    page.get_by_role("heading", name="Monatliche Spenden").wait_for()


def submit(page: Any, form: Any, button: str, notice: str) -> None:
    form.get_by_role("button", name=button).click()
    page.locator("#result").filter(has_text=notice).wait_for()


def test_a_sepa_donor_changes_pauses_resumes_re_equips_and_stops_a_monthly_gift_by_mail_confirmed_steps(
    donor_site: Any,
    live_server: Any,
    page: Any,
    api_client: Any,
    campaign: Any,
    localstripe: Any,
    smtp_server: Any,
) -> None:
    from donations.models import Donation, Mandate

    mandate = monthly_gift(api_client, campaign, localstripe, "sepa_debit")
    open_page_from_mail(page, live_server, smtp_server)
    mandates = page.locator("#mandates")
    assert mandate.reference in mandates.text_content() and "15,00" in mandates.text_content()
    today = timezone.localdate()
    notice_days = timedelta(days=2)  # SEPA_PRENOTIFICATION_DAYS

    # The amount: the mail is the pre-notification with the date of the first debit at 20 €.
    sent = len(smtp_server.to(EMAIL))
    change = page.locator("form.change")
    change.locator("input[name=amount]").fill("20,00")
    submit(page, change, "Ändern", "Ihre monatliche Spende wurde geändert")
    mandate.refresh_from_db()
    assert mandate.amount == 2000 and mandate.next_charge_on >= today + notice_days
    changed = body_of(mail_with(smtp_server, "Ihre monatliche Spende wurde geändert", sent))
    assert "Vorabankündigung" in changed and "20,00 €" in changed
    assert f"Nächste Abbuchung mit dem neuen Betrag: {mandate.next_charge_on.isoformat()}" in changed
    assert mandate.reference in changed
    # Announced before the debit exists: nothing of the next month has been created yet.
    assert not Donation.objects.filter(mandate=mandate, period=mandate.next_period).exists()

    # The day.
    sent = len(smtp_server.to(EMAIL))
    new_day = mandate.day_of_month % 28 + 1
    change = page.locator("form.change")
    change.locator("input[name=day_of_month]").fill(str(new_day))
    submit(page, change, "Ändern", "Ihre monatliche Spende wurde geändert")
    mandate.refresh_from_db()
    assert mandate.day_of_month == new_day and mandate.next_charge_on >= today + notice_days
    moved = body_of(mail_with(smtp_server, "Ihre monatliche Spende wurde geändert", sent))
    assert f"Tag im Monat: {new_day}." in moved and mandate.next_charge_on.isoformat() in moved

    # Pause for two months, then resume early (for SEPA with notice).
    sent = len(smtp_server.to(EMAIL))
    pause = page.locator("form.pause")
    pause.locator("select[name=months]").select_option("2")
    submit(page, pause, "Pausieren", "Ihre monatliche Spende ist pausiert.")
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.PAUSED and mandate.paused_until is not None
    paused = body_of(mail_with(smtp_server, "Ihre monatliche Spende ist pausiert", sent))
    assert mandate.paused_until.isoformat() in paused
    assert "Pausiert bis" in page.locator("#mandates").text_content()

    sent = len(smtp_server.to(EMAIL))
    submit(page, page.locator("form.resume"), "Jetzt fortsetzen", "Ihre monatliche Spende läuft wieder.")
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.ACTIVE and mandate.next_charge_on >= today + notice_days
    resumed = body_of(mail_with(smtp_server, "Ihre monatliche Spende läuft wieder", sent))
    assert "Vorabankündigung" in resumed and mandate.next_charge_on.isoformat() in resumed

    # A new IBAN: Stripe.js (the stand-in) confirms a new SetupIntent in the page.
    sent = len(smtp_server.to(EMAIL))
    old_payment_method, old_reference = mandate.stripe_payment_method_id, mandate.reference
    page.get_by_role("button", name="Neue IBAN").click()
    section = page.locator("#new-payment-method")
    section.get_by_role("heading", name="Neue Zahlungsdaten").wait_for()
    assert "Lastschrift einzuziehen" in section.locator("#sepa-mandate").text_content()
    section.get_by_label("IBAN").fill("DE00 1234")  # no IBAN: refused in the page
    section.get_by_role("button", name="Speichern").click()
    assert "gültige IBAN" in section.locator("#pm-error").text_content()
    section.get_by_label("IBAN").fill(" ".join(IBAN_OK[i : i + 4] for i in range(0, len(IBAN_OK), 4)))
    submit(page, section, "Speichern", "Ihre neuen Zahlungsdaten sind gespeichert")
    mandate.refresh_from_db()
    assert mandate.stripe_payment_method_id not in ("", old_payment_method)
    new_pm = localstripe.request("GET", f"/v1/payment_methods/{mandate.stripe_payment_method_id}")
    assert new_pm["sepa_debit"]["last4"] == IBAN_OK[-4:]
    # A new mandate, with its own reference: the one the pre-notification quotes.
    assert mandate.reference == new_pm["sepa_debit"]["mandate_reference"] != old_reference
    assert mandate.next_charge_on >= today + notice_days
    re_equipped = body_of(mail_with(smtp_server, "neue Zahlungsdaten gespeichert", sent))
    assert "Vorabankündigung" in re_equipped and "mit dem neuen Mandat" in re_equipped
    assert f"Mandatsreferenz: {mandate.reference}" in re_equipped
    assert mandate.next_charge_on.isoformat() in re_equipped

    # Stop it.
    sent = len(smtp_server.to(EMAIL))
    mandates = page.locator("#mandates")
    submit(page, mandates, "Beenden", "Ihre monatliche Spende wurde beendet.")
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.CANCELED
    stopped = body_of(mail_with(smtp_server, "Ihre monatliche Spende wurde beendet", sent))
    assert "Es wird nichts mehr abgebucht" in stopped and "20,00 €" in stopped
    assert page.locator("form.change").count() == 0


def test_a_card_donor_replaces_the_card_updates_the_address_and_downloads_a_receipt(
    donor_site: Any,
    live_server: Any,
    page: Any,
    api_client: Any,
    campaign: Any,
    localstripe: Any,
    smtp_server: Any,
) -> None:
    from donations.models import Donation, Receipt

    mandate = monthly_gift(api_client, campaign, localstripe, "card")
    one_off = donation_start(api_client, campaign.slug, amount=4000)
    localstripe.save_card(one_off["client_secret"])
    assert donation_complete(api_client, one_off["id"]).json()["status"] == "succeeded"
    open_page_from_mail(page, live_server, smtp_server)

    # A new card through the Card Element (the stand-in's inputs).
    sent = len(smtp_server.to(EMAIL))
    old_payment_method = mandate.stripe_payment_method_id
    page.get_by_role("button", name="Neue Karte").click()
    card = page.locator("#payment-element")
    card.locator("input[placeholder=number]").fill(CARD_OK)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    submit(
        page, page.locator("#new-payment-method"), "Speichern", "Ihre neuen Zahlungsdaten sind gespeichert"
    )
    mandate.refresh_from_db()
    assert mandate.stripe_payment_method_id not in ("", old_payment_method)
    re_equipped = body_of(mail_with(smtp_server, "neue Zahlungsdaten gespeichert", sent))
    assert "15,00 €" in re_equipped and "Vorabankündigung" not in re_equipped  # no SEPA

    # The address future receipts state.
    sent = len(smtp_server.to(EMAIL))
    address = page.locator("#address")
    address.get_by_label("Straße und Hausnummer").fill("Neue Allee 5")
    address.get_by_label("Postleitzahl").fill("20095")
    address.get_by_label("Ort").fill("Hamburg")
    address.get_by_label("Land (zwei Buchstaben)").fill("DE")
    submit(page, address, "Speichern", "Ihre Anschrift für Zuwendungsbestätigungen wurde gespeichert.")
    told = body_of(mail_with(smtp_server, "Anschrift für Zuwendungsbestätigungen wurde geändert", sent))
    assert "Neue Allee 5" in told and "20095 Hamburg" in told

    # A receipt for the one-off gift, asked for after the fact: mailed with its PDF, and on the page.
    sent = len(smtp_server.to(EMAIL))
    row = page.locator("#donations tr").filter(has_text="40,00")
    submit(page, row, "Bestätigung anfordern", "Ihre Zuwendungsbestätigung wurde ausgestellt")
    receipt = Receipt.objects.get(donations__public_id=one_off["id"])
    assert receipt.donor_address == "Neue Allee 5\n20095 Hamburg\nDE"
    mailed = mail_with(smtp_server, f"Ihre Zuwendungsbestätigung {receipt.number}", sent)
    (attachment,) = list(mailed.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    with page.expect_download() as download_info:
        page.locator("#receipts tr").filter(has_text=receipt.number).get_by_role("link", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"Zuwendungsbestaetigung-{receipt.number}.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert Donation.objects.get(public_id=one_off["id"]).receipt_id == receipt.pk
