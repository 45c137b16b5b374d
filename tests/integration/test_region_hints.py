"""The confirmation page says which Wahlkreis the signature counts for and who receives the
count, from the public postcode lookup, in Chromium against the live server."""

from __future__ import annotations

from typing import Any

import pytest

from petitions.models import SignatureToken
from petitions.tokens import signature_token_mint
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]


def test_the_confirm_page_names_the_wahlkreis_and_its_member(
    live_server: Any, page: Any, transactional_db: Any, regions: Any, make_official: Any
) -> None:
    make_official(
        name="Dr. Erika Beispiel",
        organisation="Beispielpartei",
        constituency=regions[75],
        mandate="direct",
        parliament="bundestag",
        state="Berlin",
    )
    signature = SignatureFactory(petition=PetitionFactory(), postcode="10117", country="DE", locale="de")
    token = signature_token_mint(signature_id=signature.pk, purpose=SignatureToken.Purpose.CONFIRM)

    page.goto(f"{live_server.url}/signatures/confirm/?token={token}")
    note = page.locator("#region-note")
    note.wait_for(state="visible")

    assert note.text_content() == (
        "Ihre Unterschrift zählt im Wahlkreis 75 Berlin-Mitte (Berlin). "
        "Die Zahl erhält: Dr. Erika Beispiel (Beispielpartei)."
    )
