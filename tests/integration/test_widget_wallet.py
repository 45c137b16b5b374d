"""Apple Pay / Google Pay in the widget's donate step, in Chromium against localstripe.

localstripe cannot play a wallet, so the browser side of Stripe's Express Checkout Element is a
stand-in (tests/fixtures/express_checkout_stub.js, an init script wrapping the `Stripe()` that
localstripe's Stripe.js defines): it records the options the page gives the Elements group (the
amount the wallet's sheet shows) and the click's `resolve` payload, reports a wallet or none in
the element's `ready` event and, on its button, fires `click` and `confirm`; its
`createPaymentMethod` stands for the wallet's card, which `confirmCardSetup` then saves on the
donation's SetupIntent at localstripe. The service, localstripe, the webhooks and the worker are
the real ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.fixtures.localstripe import CARD_DECLINED_ON_SETUP, CARD_OK
from tests.integration.test_widget_donate import fill_card, fill_donor, open_donate_step

pytestmark = pytest.mark.integration

STUB = (Path(__file__).resolve().parent.parent / "fixtures" / "express_checkout_stub.js").read_text()


@pytest.fixture
def stripe_site(
    localstripe: Any, webhook_secret: str, celery_worker: Any, host_site: Any, live_server: Any, settings: Any
) -> Any:
    """The host page, with Stripe.js from localstripe and localstripe's webhooks to the service."""
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    localstripe.webhook_register("wallet", f"{live_server.url}/api/v1/stripe/webhook/", webhook_secret)
    return host_site


def with_wallet(page: Any, localstripe: Any, *, available: bool, card: str = CARD_OK) -> None:
    config = {"available": available, "card": card, "api": localstripe.url}
    page.add_init_script(STUB.replace("__CONFIG__", json.dumps(config)))


def stub_state(page: Any) -> dict:
    return page.evaluate("window.walletStub")


def donated_events(page: Any) -> list[dict]:
    return [e["detail"] for e in page.evaluate("window.widgetEvents") if e["type"] == "donated"]


def test_it_shows_no_wallet_button_without_a_wallet_and_takes_the_card_as_before(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any, localstripe: Any
) -> None:
    from donations.models import Donation

    with_wallet(page, localstripe, available=False)
    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    page.wait_for_function("window.walletStub && window.walletStub.readyFired")
    # Payment mode with the preselected gift, so a wallet's sheet would show the amount; the
    # card is saved for off-session use like every gift's (the SetupIntent's usage).
    options = stub_state(page)["elementsOptions"]
    assert (options["mode"], options["amount"], options["currency"]) == ("payment", 2500, "eur")
    assert (options["paymentMethodTypes"], options["paymentMethodCreation"]) == (["card"], "manual")
    assert options["setupFutureUsage"] == "off_session"
    assert form.locator(".cw-wallet").is_hidden()
    assert form.get_by_role("group", name="Mit Apple Pay oder Google Pay spenden").count() == 0

    fill_donor(form)
    fill_card(form, CARD_OK)
    form.get_by_role("button", name="25 € spenden").click()
    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    donation = Donation.objects.get()
    assert (donation.amount, donation.method, donation.status) == (2500, "card", Donation.Status.SUCCEEDED)
    assert donated_events(page)[0]["wallet"] is None


def test_it_takes_a_gift_through_the_wallet_button_as_a_card_payment(
    stripe_site: Any,
    live_server: Any,
    page: Any,
    widget_petition: Any,
    localstripe: Any,
    screenshot_dir: Path,
) -> None:
    from donations.models import Donation, StripeEvent

    with_wallet(page, localstripe, available=True)
    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    wallet = form.get_by_role("group", name="Mit Apple Pay oder Google Pay spenden")
    wallet.wait_for()
    assert "Oder mit Karte oder Lastschrift:" in wallet.text_content()
    # The card and SEPA forms stay below it.
    assert form.locator(".cw-card-element").is_visible()
    assert form.get_by_label("SEPA-Lastschrift", exact=True).is_visible()

    fill_donor(form)
    form.get_by_label("50 €", exact=True).check()
    page.locator("[data-campaign-widget]").screenshot(
        path=str(screenshot_dir / "widget-de-donate-wallet.png")
    )
    wallet.get_by_role("button", name="Apple Pay").click()

    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    state = stub_state(page)
    assert state["sheet"] == "open" and state["failed"] == []
    assert state["resolved"] == {}  # a one-off gift: no recurring request
    # The sheet showed the 50 € chosen; the wallet's card saved on the SetupIntent.
    (created,) = state["created"]
    assert created["amount"] == 5000
    assert created["params"]["billing_details"] == {"name": "Erika Mustermann", "email": "erika@example.org"}
    (confirmed,) = state["confirmed"]
    assert (confirmed["setupIntent"], confirmed["paymentMethod"]) == ("succeeded", created["id"])
    assert state["destroyed"]  # the thank-you step removes the wallet element

    # Recorded and paid: the wallet's card saved on the SetupIntent, charged by `complete`.
    donation = Donation.objects.get()
    assert (donation.amount, donation.method, donation.interval) == (5000, "card", "once")
    assert donation.status == Donation.Status.SUCCEEDED
    assert donation.stripe_payment_method_id.startswith("pm_")
    assert donation.stripe_payment_intent_id.startswith("pi_")
    payment_intent = localstripe.request("GET", f"/v1/payment_intents/{donation.stripe_payment_intent_id}")
    assert (payment_intent["status"], payment_intent["amount"]) == ("succeeded", 5000)
    (event,) = donated_events(page)
    assert (event["wallet"], event["payment_method"], event["amount"]) == ("apple_pay", "card", 5000)
    wait_until(
        lambda: StripeEvent.objects.filter(type="payment_intent.succeeded", status="processed").exists()
    )
    assert Donation.objects.get(pk=donation.pk).status == Donation.Status.SUCCEEDED


def test_it_keeps_the_wallet_sheet_closed_while_the_form_is_incomplete(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any, localstripe: Any
) -> None:
    from donations.models import Donation

    with_wallet(page, localstripe, available=True)
    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    wallet = form.get_by_role("group", name="Mit Apple Pay oder Google Pay spenden")
    wallet.wait_for()
    wallet.get_by_role("button", name="Apple Pay").click()

    first_name = form.get_by_label("Vorname", exact=True)
    page.locator(f"#{first_name.get_attribute('id')}-error").wait_for()
    assert first_name.get_attribute("aria-invalid") == "true"
    state = stub_state(page)
    assert (state["clicks"], state["sheet"], state["confirmed"]) == (1, "closed", [])
    assert not Donation.objects.exists()


def test_it_reports_a_declined_wallet_card_to_the_sheet_and_the_form(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any, localstripe: Any
) -> None:
    from donations.models import Donation

    with_wallet(page, localstripe, available=True, card=CARD_DECLINED_ON_SETUP)
    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    wallet = form.get_by_role("group", name="Mit Apple Pay oder Google Pay spenden")
    wallet.wait_for()
    fill_donor(form)
    wallet.get_by_role("button", name="Apple Pay").click()

    error = form.locator(".cw-form-error")
    error.wait_for()
    assert "Die Zahlung ist nicht zustande gekommen" in error.text_content()
    assert stub_state(page)["failed"] == [{"reason": "fail"}]
    assert not donated_events(page)
    assert not Donation.objects.filter(status=Donation.Status.SUCCEEDED).exists()
    assert form.locator(".cw-wallet").is_visible()  # the donor may try again or use the form


def test_the_wallet_sheet_shows_the_total_with_covered_fees_that_the_server_charges(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any, localstripe: Any
) -> None:
    from donations.amounts import donation_fee_compute
    from donations.models import Donation

    with_wallet(page, localstripe, available=True)
    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    wallet = form.get_by_role("group", name="Mit Apple Pay oder Google Pay spenden")
    wallet.wait_for()
    fill_donor(form)
    form.get_by_label("Anderer Betrag in Euro", exact=True).fill("12,34")
    assert stub_state(page)["amount"] == 1234  # the sheet follows the form as it is filled
    form.get_by_label("Ich übernehme die Transaktionsgebühren", exact=False).check()
    assert stub_state(page)["amount"] == 1234 + donation_fee_compute(amount=1234, method="card")
    wallet.get_by_role("button", name="Apple Pay").click()

    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    donation = Donation.objects.get()
    assert donation.amount == 1234 and donation.fee_amount > 0
    # What the sheet showed is what the server computed and charged, to the cent.
    (created,) = stub_state(page)["created"]
    assert created["amount"] == donation.total_amount
    payment_intent = localstripe.request("GET", f"/v1/payment_intents/{donation.stripe_payment_intent_id}")
    assert payment_intent["amount"] == donation.total_amount


def test_a_monthly_gift_asks_apple_pay_for_a_recurring_payment_of_the_monthly_amount(
    stripe_site: Any, live_server: Any, page: Any, widget_petition: Any, localstripe: Any
) -> None:
    from donations.models import Donation

    with_wallet(page, localstripe, available=True)
    form = open_donate_step(page, stripe_site, live_server, widget_petition)
    wallet = form.get_by_role("group", name="Mit Apple Pay oder Google Pay spenden")
    wallet.wait_for()
    fill_donor(form)
    form.get_by_label("Monatlich", exact=True).check()
    form.get_by_label("Anderer Betrag in Euro", exact=True).fill("15")
    wallet.get_by_role("button", name="Apple Pay").click()

    page.get_by_role("heading", name="Vielen Dank für Ihre Spende!").wait_for()
    state = stub_state(page)
    assert state["amount"] == 1500  # the first month, charged now
    request = state["resolved"]["applePay"]["recurringPaymentRequest"]
    assert request["regularBilling"] == {
        "amount": 1500,
        "label": "Monatliche Spende",
        "recurringPaymentIntervalUnit": "month",
        "recurringPaymentIntervalCount": 1,
    }
    # Where Apple Pay sends the donor to manage it: their own page on the service.
    assert request["managementURL"] == f"{live_server.url}/donations/manage/"
    donation = Donation.objects.get()
    assert (donation.amount, donation.interval, donation.status) == (1500, "month", Donation.Status.SUCCEEDED)
    assert donation.mandate.stripe_payment_method_id == donation.stripe_payment_method_id
