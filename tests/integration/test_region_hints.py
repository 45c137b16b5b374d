"""The confirmation page says which Wahlkreis the signature counts for and who receives the
count, from the public postcode lookup on the shipped German data, in Chromium against the
live server; a postcode the mapping does not assign gets a neutral line, a foreign one nothing,
and neither leaves an error in the console."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from petitions.models import Signature, SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

LOOKUP = "/api/v1/regions/lookup/"


@pytest.fixture
def german_data_committed(transactional_db: Any) -> None:
    """The shipped German data (the 299 Wahlkreise of 2025, every postcode, the members of the
    21st Bundestag), committed so the live server sees it; the flush after the test drops it."""
    from officials.political_data_loading import political_data_load

    political_data_load(country="de")


@pytest.fixture
def watched_page(page: Any, localstripe: Any, settings: Any) -> Any:
    """The page, recording its script errors and its answers from the postcode lookup; the
    donate step the page opens loads Stripe.js from localstripe."""
    settings.STRIPE_JS_URL = f"{localstripe.url}/js.stripe.com/v3/"
    page.script_errors = []
    page.lookups = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            # Chromium logs every 4xx answer as well; the answers are recorded one by one.
            and not message.text.startswith("Failed to load resource: the server responded")
            and page.script_errors.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            urlsplit(response.url).path == LOOKUP and page.lookups.append((response.status, response.url))
        ),
    )
    return page


def _open_confirm_page(live_server: Any, page: Any, signature: Signature, query: str = "") -> Any:
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)
    page.goto(f"{live_server.url}/signatures/confirm/?token={token}{query}")
    page.locator("#state-done").wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    return page.locator("#region-note")


@pytest.mark.usefixtures("german_data_committed")
def test_the_confirm_page_names_the_wahlkreis_and_who_receives_the_count(
    live_server: Any, watched_page: Any
) -> None:
    signature = SignatureFactory(petition=PetitionFactory(), postcode="10117", country="DE", locale="de")

    note = _open_confirm_page(live_server, watched_page, signature)
    note.wait_for(state="visible")

    text = note.text_content()
    assert text.startswith("Ihre Unterschrift zählt im Wahlkreis 74 Berlin-Mitte (Berlin). Die Zahl erhält: ")
    # The member elected in Berlin-Mitte in 2025, with the list members who look after it.
    assert "Hanna Steinmüller (GRÜNE)" in text
    assert Signature.objects.get(pk=signature.pk).status == Signature.Status.CONFIRMED
    assert [status for status, _ in watched_page.lookups] == [200]
    assert watched_page.script_errors == []


@pytest.mark.usefixtures("german_data_committed")
def test_the_confirm_page_names_the_wahlkreis_in_english(live_server: Any, watched_page: Any) -> None:
    signature = SignatureFactory(petition=PetitionFactory(), postcode="10117", country="DE", locale="de")

    note = _open_confirm_page(live_server, watched_page, signature, "&lang=en")
    note.wait_for(state="visible")

    text = note.text_content()
    assert text.startswith(
        "Your signature counts for constituency 74 Berlin-Mitte (Berlin). The count goes to: "
    )
    assert "Hanna Steinmüller (GRÜNE)" in text
    assert watched_page.script_errors == []


@pytest.mark.usefixtures("german_data_committed")
def test_a_postcode_outside_the_mapping_gets_a_neutral_line_and_no_error(
    live_server: Any, watched_page: Any
) -> None:
    # Five digits, so well-formed, but no German postcode: the lookup answers 404.
    signature = SignatureFactory(petition=PetitionFactory(), postcode="99999", country="DE", locale="de")

    note = _open_confirm_page(live_server, watched_page, signature)
    note.wait_for(state="visible")

    assert note.text_content() == (
        "Ihre Postleitzahl ist keinem Wahlkreis zugeordnet; Ihre Unterschrift zählt in der Gesamtzahl."
    )
    assert "Wahlkreis 74" not in watched_page.content()
    assert [status for status, _ in watched_page.lookups] == [404]
    assert watched_page.script_errors == []


@pytest.mark.usefixtures("german_data_committed")
@pytest.mark.parametrize(("country", "postcode"), [("AT", "1010"), ("DE", "")])
def test_a_foreign_or_missing_postcode_asks_nothing_and_shows_nothing(
    live_server: Any, watched_page: Any, country: str, postcode: str
) -> None:
    signature = SignatureFactory(petition=PetitionFactory(), postcode=postcode, country=country, locale="de")

    note = _open_confirm_page(live_server, watched_page, signature)

    assert note.is_hidden()
    assert watched_page.lookups == []
    assert watched_page.script_errors == []
