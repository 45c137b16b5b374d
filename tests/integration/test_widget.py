"""The widget in a real browser (Debian Chromium), embedded in a page on another origin than the
service, against the real API, the real Celery worker and the real SMTP server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import wait_until
from tests.fixtures.browser import CONSENT_DE

pytestmark = pytest.mark.integration


@pytest.fixture
def petition(widget_petition: Any) -> Any:
    return widget_petition


def enable_altcha(petition: Any) -> None:
    from petitions.selectors import petition_count_cache_clear

    petition.altcha_enabled = True
    petition.save(update_fields=["altcha_enabled"])
    petition_count_cache_clear()


def widget(page: Any) -> Any:
    return page.locator("[data-campaign-widget]")


def fill_sign_form(page: Any, *, email: str, postcode: str = "10115", consent: str = CONSENT_DE) -> None:
    form = widget(page)
    form.get_by_label("Vorname", exact=True).fill("Erika")
    form.get_by_label("Nachname", exact=True).fill("Mustermann")
    form.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    form.get_by_label("Postleitzahl", exact=True).fill(postcode)
    form.get_by_label("Ort (freiwillig)", exact=True).fill("Berlin")
    form.get_by_label(consent, exact=True).check()


def test_it_signs_confirms_by_mail_and_the_count_goes_up_without_a_reload(
    celery_worker: Any, smtp_server: Any, host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    from petitions.counting import petition_counts_update
    from petitions.models import Signature

    url = host_site.widget_page(
        api=live_server.url,
        petition=petition.slug,
        attrs={"data-refresh": "1"},
        query="?utm_source=newsletter&utm_medium=email&utm_campaign=advent",
    )
    page.goto(url, referer="https://news.example.org/article")
    counter = widget(page).locator(".cw-count-number")
    page.wait_for_function("() => document.querySelector('[data-campaign-widget]').dataset.count === '0'")
    assert widget(page).get_by_role("progressbar").get_attribute("aria-valuemax") == "100"

    fill_sign_form(page, email="erika@example.org")
    widget(page).get_by_role("button", name="Unterschreiben").click()
    heading = widget(page).get_by_role("heading", name=re.compile("Bitte bestätigen Sie"))
    heading.wait_for()
    # Focus moves to the new step, so keyboard and screen-reader users land on it.
    assert page.evaluate("document.activeElement.textContent").startswith("Fast geschafft")
    assert any(e["type"] == "signed" for e in page.evaluate("window.widgetEvents"))

    signature = Signature.objects.get(petition=petition)
    assert signature.status == Signature.Status.PENDING
    assert (signature.utm_source, signature.utm_medium, signature.utm_campaign) == (
        "newsletter",
        "email",
        "advent",
    )
    assert signature.referrer == "https://news.example.org/article"
    assert signature.consent_version == "2026-11"
    assert signature.locale == "de"

    (mail,) = smtp_server.wait_for("erika@example.org")
    body = mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/signatures/confirm/\?token=[\w.~-]+", body)
    assert link, body
    # The worker process builds links from its own PUBLIC_BASE_URL; open the same path and
    # query on the service under test.
    parts = urlsplit(link.group(0))
    confirm = page.context.new_page()
    confirm.goto(f"{live_server.url}{parts.path}?{parts.query}")
    wait_until(lambda: Signature.objects.get(pk=signature.pk).status == Signature.Status.CONFIRMED)
    # The confirmation page thanks, shows the petition's count and offers the donate step.
    confirm.get_by_role("heading", name="Danke! Ihre Unterschrift ist bestätigt.").wait_for()
    confirm.locator("[data-campaign-widget] .cw-donate-form").wait_for()
    assert confirm.locator("[data-campaign-widget]").get_attribute("data-count") == "0"
    assert confirm.locator("[data-campaign-widget] form.cw-sign").count() == 0
    confirm.close()

    assert counter.text_content() == "0"  # confirmed, but not counted before the counter pass
    petition_counts_update()
    page.wait_for_function(
        "() => document.querySelector('[data-campaign-widget]').dataset.count === '1'", timeout=60_000
    )
    assert counter.text_content() == "1"
    counts = [
        e["detail"]["signature_count"] for e in page.evaluate("window.widgetEvents") if e["type"] == "count"
    ]
    assert counts[0] == 0 and counts[-1] == 1


def test_it_shows_the_api_field_errors_next_to_the_fields_and_stores_nothing(
    host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    from petitions.models import Signature

    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug))
    # Both pass the page's own checks; the API rejects them.
    fill_sign_form(page, email="erika@mustermann", postcode="1011")
    widget(page).get_by_role("button", name="Unterschreiben").click()

    email = widget(page).get_by_label("E-Mail-Adresse", exact=True)
    postcode = widget(page).get_by_label("Postleitzahl", exact=True)
    page.wait_for_function(
        "() => document.querySelector('[data-campaign-widget] input[name=email]').getAttribute('aria-invalid') === 'true'"
    )
    assert postcode.get_attribute("aria-invalid") == "true"
    assert widget(page).get_by_label("Vorname", exact=True).get_attribute("aria-invalid") is None
    # Each message sits next to its field and is referenced by it (read out with the field).
    email_error = page.locator(f"#{email.get_attribute('id')}-error")
    postcode_error = page.locator(f"#{postcode.get_attribute('id')}-error")
    assert email_error.is_visible() and "gültige E-Mail-Adresse" in email_error.text_content()
    assert postcode_error.is_visible() and "Postleitzahl" in postcode_error.text_content()
    assert email_error.get_attribute("id") in email.get_attribute("aria-describedby")
    # The first wrong field gets the focus; a summary is announced.
    assert page.evaluate("document.activeElement.name") == "email"
    summary = widget(page).locator(".cw-form-error")
    assert "E-Mail-Adresse" in summary.text_content() and "Postleitzahl" in summary.text_content()
    live = widget(page).locator("[aria-live=polite]")
    page.wait_for_function("el => el.textContent.includes('Postleitzahl')", arg=live.element_handle())
    assert Signature.objects.count() == 0

    # The page's own checks: a missing consent is reported without asking the API.
    widget(page).get_by_label(CONSENT_DE, exact=True).uncheck()
    widget(page).get_by_label("E-Mail-Adresse", exact=True).fill("erika@example.org")
    widget(page).get_by_label("Postleitzahl", exact=True).fill("10115")
    widget(page).get_by_role("button", name="Unterschreiben").click()
    consent = widget(page).get_by_label(CONSENT_DE, exact=True)
    page.wait_for_function(
        "() => document.querySelector('[data-campaign-widget] input[name=privacy_consent]').getAttribute('aria-invalid') === 'true'"
    )
    assert email.get_attribute("aria-invalid") is None
    assert consent.evaluate("el => el === document.activeElement")
    assert Signature.objects.count() == 0


def test_it_cannot_sign_from_an_origin_not_allowed_by_cors_and_says_so(
    foreign_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    from petitions.models import Signature

    page.goto(foreign_site.widget_page(api=live_server.url, petition=petition.slug))
    alert = widget(page).get_by_role("alert")
    alert.wait_for()
    assert "nicht für die Kampagne freigeschaltet" in alert.text_content()
    assert widget(page).locator("form").count() == 0

    # A script on that origin cannot sign either: the JSON request needs a preflight the API
    # refuses, and a "simple" cross-origin POST is not JSON, so the API rejects it.
    outcome = page.evaluate(
        """async ([api, slug]) => {
            const body = JSON.stringify({first_name: "Mal", last_name: "Lory", email: "m@example.org",
                postcode: "10115", country: "DE", privacy_consent: true, consent_version: "2026-11"});
            const url = `${api}/api/v1/petitions/${slug}/signatures/`;
            let json;
            try { await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body}); json = "answered"; }
            catch (e) { json = "blocked"; }
            await fetch(url, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
            return json;
        }""",
        [live_server.url, petition.slug],
    )
    assert outcome == "blocked"
    assert Signature.objects.count() == 0


def test_it_completes_the_sign_form_with_the_keyboard_only(
    host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    from petitions.models import Signature

    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug, lang="en"))
    widget(page).get_by_label("First name", exact=True).wait_for()
    page.locator("body").focus()

    def tab_to(name: str) -> None:
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.name") == name:
                return
        pytest.fail(f"Tab never reached {name}")

    tab_to("first_name")
    page.keyboard.type("Jane")
    page.keyboard.press("Tab")
    page.keyboard.type("Doe")
    page.keyboard.press("Tab")
    page.keyboard.type("jane@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("SW1A 1AA")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "country"
    page.keyboard.type("United Kingdom")  # type-ahead in the select
    page.keyboard.press("Tab")
    page.keyboard.type("London")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "privacy_consent"
    page.keyboard.press("Space")
    tab_to("show_name_publicly")
    page.keyboard.press("Space")
    # The honeypot is out of the tab order: the next stop is the submit button.
    tab_to("share_name_with_officials")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")

    widget(page).get_by_role("heading", name=re.compile("please confirm your email")).wait_for()
    signature = Signature.objects.get(petition=petition)
    assert (signature.first_name, signature.country, signature.postcode) == ("Jane", "GB", "SW1A 1AA")
    assert signature.show_name_publicly and not signature.share_name_with_officials
    assert signature.locale == "en"
    assert not signature.is_flagged  # the honeypot stayed empty


def test_it_solves_the_altcha_proof_of_work_in_the_page_when_the_petition_enables_it(
    host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    from petitions.models import Signature

    enable_altcha(petition)
    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug))
    fill_sign_form(page, email="altcha@example.org")
    widget(page).get_by_role("button", name="Unterschreiben").click()
    widget(page).get_by_role("heading", name=re.compile("Bitte bestätigen Sie")).wait_for()
    assert Signature.objects.filter(petition=petition, is_flagged=False).count() == 1


def test_it_refuses_a_forged_altcha_solution(
    host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    """The proof above is only worth something if the server checks it."""
    from petitions.models import Signature

    enable_altcha(petition)
    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug))
    fill_sign_form(page, email="forged@example.org")
    # Replace the solver's answer with a made-up one.
    page.evaluate(
        """() => { const w = document.querySelector('[data-campaign-widget]').campaignWidget;
                   w.altchaStart = () => Promise.resolve(btoa(JSON.stringify({algorithm: 'SHA-256',
                       challenge: 'x', number: 1, salt: 'y', signature: 'z'}))); }"""
    )
    widget(page).get_by_role("button", name="Unterschreiben").click()
    widget(page).locator(".cw-form-error").wait_for()
    assert not Signature.objects.filter(petition=petition, is_flagged=False).exists()


def test_it_shows_the_count_but_no_form_when_the_petition_is_closed(
    host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    from petitions.models import Petition
    from petitions.selectors import petition_count_cache_clear

    petition.status = Petition.Status.CLOSED
    petition.offline_count = 42
    petition.save(update_fields=["status", "offline_count"])
    petition_count_cache_clear()
    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug, lang="en"))
    alert = widget(page).get_by_role("alert")
    alert.wait_for()
    assert "no longer accepts signatures" in alert.text_content()
    assert widget(page).locator(".cw-count-number").text_content() == "42"
    assert widget(page).locator("form").count() == 0


def test_it_takes_its_colours_from_css_custom_properties_of_the_host_page(
    host_site: Any, live_server: Any, page: Any, petition: Any
) -> None:
    page.goto(host_site.widget_page(api=live_server.url, petition=petition.slug))
    button = widget(page).get_by_role("button", name="Unterschreiben")
    button.wait_for()
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(179, 18, 58)"  # the default
    # Set on an ancestor, after the widget's own stylesheet has loaded.
    page.add_style_tag(content="body { --cw-accent: rgb(0, 85, 170); --cw-radius: 0px; }")
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(0, 85, 170)"
    assert button.evaluate("el => getComputedStyle(el).borderTopLeftRadius") == "0px"
