"""The widget's donate step in Chromium against localstripe's Stripe.js stand-in (served by
localstripe at /js.stripe.com/v3/): the card through the Card Element, SEPA with an IBAN checked
in the page, 3-D Secure through the stand-in's dialog; localstripe's webhooks reach the service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.fixtures.browser import CONSENT_DE
from tests.fixtures.localstripe import CARD_3DS, CARD_OK, IBAN_OK

pytestmark = pytest.mark.integration


@pytest.fixture
def stripe_site(
    localstripe: Any, webhook_secret: str, celery_worker: Any, host_site: Any, live_server: Any, settings: Any
) -> Any:
    """The host page, with the service's Stripe.js pointing at localstripe and localstripe's
    webhooks pointing at the service (a real worker processes the recorded events)."""
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    localstripe.webhook_register("widget", f"{live_server.url}/api/v1/stripe/webhook/", webhook_secret)
    return host_site


def donate_form(page: Any) -> Any:
    return page.locator("[data-campaign-widget] .cw-donate-form")


def open_donate_step(page: Any, site: Any, live_server: Any, petition: Any, lang: str = "de") -> Any:
    page.goto(
        site.widget_page(
            api=live_server.url,
            petition=petition.slug,
            lang=lang,
            attrs={"data-step": "donate", "data-show": "counter"},
        )
    )
    form = donate_form(page)
    form.wait_for()
    return form


def fill_donor(form: Any) -> None:
    form.get_by_label("Vorname", exact=True).fill("Erika")
    form.get_by_label("Nachname", exact=True).fill("Mustermann")
    form.get_by_label("E-Mail-Adresse", exact=True).fill("erika@example.org")


def fill_card(form: Any, number: str) -> None:
    card = form.locator(".cw-card-element")
    card.locator("input[placeholder=number]").wait_for()
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("10115")


def donated_events(page: Any) -> list[dict]:
    return [e["detail"] for e in page.evaluate("window.widgetEvents") if e["type"] == "donated"]


def test_it_signs_and_then_donates_by_card_through_the_card_element(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any
) -> None:
    from donations.models import Donation, StripeEvent
    from petitions.models import Signature

    page.goto(stripe_site.widget_page(api=live_server.url, petition=widget_petition.slug))
    widget = page.locator("[data-campaign-widget]")
    widget.get_by_label("Vorname", exact=True).fill("Erika")
    widget.get_by_label("Nachname", exact=True).fill("Mustermann")
    widget.get_by_label("E-Mail-Adresse", exact=True).fill("erika@example.org")
    widget.get_by_label("Postleitzahl", exact=True).fill("10115")
    widget.get_by_label(CONSENT_DE, exact=True).check()
    widget.get_by_role("button", name="Unterschreiben").click()
    widget.get_by_role("heading", name=re.compile("Bitte bestätigen Sie")).wait_for()
    assert Signature.objects.count() == 1

    # The donate step offers the campaign's suggested amounts and knows the signer already.
    widget.get_by_role("button", name="Spenden").click()
    form = donate_form(page)
    form.wait_for()
    assert form.get_by_label("Vorname", exact=True).input_value() == "Erika"
    assert form.get_by_label("E-Mail-Adresse", exact=True).input_value() == "erika@example.org"
    amounts = form.locator(".cw-amounts input[type=radio]")
    assert [amounts.nth(i).get_attribute("value") for i in range(amounts.count())] == ["1000", "2500", "5000"]
    form.get_by_label("50 €", exact=True).check()
    fill_card(form, CARD_OK)
    form.get_by_role("button", name="50 € spenden").click()

    widget.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    donation = Donation.objects.get()
    assert (donation.amount, donation.method, donation.interval) == (5000, "card", "once")
    assert donation.status == Donation.Status.SUCCEEDED
    assert donation.petition_slug == widget_petition.slug  # the petition the gift started from
    (event,) = donated_events(page)
    assert event["amount"] == 5000 and event["donation"] == str(donation.public_id)
    # Stripe's event arrives by webhook and is recorded once.
    wait_until(
        lambda: StripeEvent.objects.filter(type="payment_intent.succeeded", status="processed").exists()
    )


def test_it_takes_a_monthly_sepa_gift_with_an_iban_checked_in_the_page(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any, screenshot_dir: Path
) -> None:
    from donations.models import Donation, StripeEvent

    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    fill_donor(form)
    form.get_by_label("Monatlich", exact=True).check()
    form.get_by_label("Anderer Betrag in Euro", exact=True).fill("12,50")
    form.get_by_label("SEPA-Lastschrift", exact=True).check()
    iban = form.get_by_label("IBAN", exact=True)
    # The mandate text is shown with the IBAN field and read out with it.
    mandate = form.locator(".cw-mandate")
    assert mandate.is_visible() and "Lastschrift einzuziehen" in mandate.text_content()
    assert mandate.get_attribute("id") in iban.get_attribute("aria-describedby")

    # A mistyped IBAN (one digit off) fails the mod-97 check before anything is sent.
    iban.fill("DE89 3704 0044 0532 0130 01")
    form.get_by_role("button", name="12,50 € monatlich spenden").click()
    error = page.locator(f"#{iban.get_attribute('id')}-error")
    error.wait_for()
    assert "IBAN ist ungültig" in error.text_content()
    assert iban.get_attribute("aria-invalid") == "true"
    assert not Donation.objects.exists()

    iban.fill(" ".join(IBAN_OK[i : i + 4] for i in range(0, len(IBAN_OK), 4)))
    page.locator("[data-campaign-widget]").screenshot(path=str(screenshot_dir / "widget-de-donate-sepa.png"))
    form.get_by_role("button", name="12,50 € monatlich spenden").click()
    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    assert "in den nächsten Tagen" in page.locator(".cw-thanks").text_content()

    donation = Donation.objects.get()
    assert (donation.amount, donation.method, donation.interval) == (1250, "sepa_debit", "month")
    # Stripe reports the settled debit by webhook; the service records it once.
    wait_until(
        lambda: StripeEvent.objects.filter(type="payment_intent.succeeded", status="processed").exists()
    )
    assert StripeEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    assert Donation.objects.get(pk=donation.pk).status == Donation.Status.SUCCEEDED


def test_it_completes_3d_secure_through_the_stand_in_dialog(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any
) -> None:
    from donations.models import Donation

    form = open_donate_step(page, stripe_site, live_server, widget_petition, lang="en")
    form.get_by_label("First name", exact=True).fill("Jane")
    form.get_by_label("Last name", exact=True).fill("Doe")
    form.get_by_label("Email address", exact=True).fill("jane@example.org")
    form.get_by_label("€25", exact=True).check()
    fill_card(form, CARD_3DS)
    form.get_by_role("button", name="Donate €25").click()

    # The bank's authentication dialog (the stand-in's) asks, maybe once for saving the card
    # and once for the charge; the donor completes each.
    thanks = page.get_by_role("heading", name="Thank you for your donation!")
    dialogs = 0
    for _ in range(200):
        if thanks.is_visible():
            break
        button = page.get_by_role("button", name="Complete authentication")
        if button.count():
            button.first.click()
            dialogs += 1
        page.wait_for_timeout(100)
    thanks.wait_for()
    assert dialogs >= 1
    donation = Donation.objects.get()
    wait_until(lambda: Donation.objects.get(pk=donation.pk).status == Donation.Status.SUCCEEDED)


def test_it_reports_a_failed_authentication_and_takes_no_money(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any
) -> None:
    from donations.models import Donation

    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    fill_donor(form)
    fill_card(form, CARD_3DS)
    form.get_by_role("button", name="25 € spenden").click()
    page.get_by_role("button", name="Fail authentication").click()
    error = form.locator(".cw-form-error")
    error.wait_for()
    assert "Die Zahlung ist nicht zustande gekommen" in error.text_content()
    assert not donated_events(page)
    assert not Donation.objects.filter(status=Donation.Status.SUCCEEDED).exists()


def test_it_completes_a_sepa_gift_with_the_keyboard_only(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any
) -> None:
    from donations.models import Donation

    open_donate_step(page, stripe_site, live_server, widget_petition)
    page.locator("body").focus()

    def focused() -> str:
        return page.evaluate("document.activeElement && (document.activeElement.name || '')")

    def tab_to(name: str) -> None:
        for _ in range(30):
            page.keyboard.press("Tab")
            if focused() == name:
                return
        pytest.fail(f"Tab never reached {name}")

    tab_to("amount_choice")
    page.keyboard.press("ArrowRight")  # 25 € -> 50 €
    tab_to("interval")
    page.keyboard.press("ArrowRight")  # one-off -> monthly
    tab_to("first_name")
    page.keyboard.type("Erika")
    page.keyboard.press("Tab")
    page.keyboard.type("Mustermann")
    page.keyboard.press("Tab")
    page.keyboard.type("erika@example.org")
    tab_to("payment_method")
    page.keyboard.press("ArrowRight")  # card -> SEPA Direct Debit
    page.keyboard.press("Tab")
    assert focused() == "iban"  # the hidden card fields are skipped
    page.keyboard.type(IBAN_OK)
    tab_to("wants_receipt")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    assert page.evaluate("document.activeElement.textContent") == "50\u00a0€ monatlich spenden"
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    assert page.evaluate("document.activeElement.textContent") == "Vielen Dank für Ihre Spende!"
    donation = Donation.objects.get()
    assert (donation.amount, donation.method, donation.interval) == (5000, "sepa_debit", "month")
