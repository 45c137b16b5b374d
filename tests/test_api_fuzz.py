"""Schemathesis against a running instance: every operation of the OpenAPI schema, with made-up
and real identifiers (a live campaign, petition and donation) and a staff token. No answer may be
a server error, and every documented answer must match its schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

# Examples per operation (made-up and real ids together): about a minute on two cores.
EXAMPLES = 12


@pytest.fixture
def fuzz_target(
    live_server: Any, staff_user: Any, localstripe: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    from rest_framework.test import APIClient
    from rest_framework.throttling import SimpleRateThrottle

    from campaign.staff_tokens import staff_token_create
    from tests.donations.helpers import donation_start
    from tests.factories import CampaignFactory
    from tests.fixtures.petitions import PetitionFactory, SignatureFactory

    # Many requests from one address: past the throttles, to the views themselves.
    for scope in ("sign", "sign_max", "donate", "token"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/minute")
    campaign = CampaignFactory(slug="fuzz-campaign")
    petition = PetitionFactory(campaign=campaign, slug="fuzz-petition")
    SignatureFactory(petition=petition)
    donation = donation_start(APIClient(), campaign.slug)
    _, token = staff_token_create(user=staff_user, name="fuzz")  # every staff role
    return {
        "url": live_server.url,
        "headers": {"Authorization": f"Token {token}"},
        "ids": {"slug": [campaign.slug, petition.slug], "public_id": [donation["id"]]},
    }


def _with_real_ids(ids: dict[str, list[str]]) -> Any:
    def replace(case: Any, picks: dict[str, int]) -> Any:
        for name, choices in ids.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = choices[picks[name] % len(choices)]
        if case.query and "campaign" in case.query:
            case.query["campaign"] = ids["slug"][0]
        return case

    return replace


@pytest.mark.django_db(transaction=True)
def test_no_request_gets_a_server_error_or_an_answer_off_its_schema(fuzz_target):
    schema = schemathesis.openapi.from_url(f"{fuzz_target['url']}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the schema really lists the API
    failures: list[str] = []
    real = _with_real_ids(fuzz_target["ids"])
    picks = st.fixed_dictionaries({name: st.integers(0, 9) for name in fuzz_target["ids"]})

    for operation in operations:
        generated = operation.as_strategy()
        strategy = st.one_of(generated, st.builds(real, generated, picks))

        @given(case=strategy)
        @hypothesis_settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def call(case: Any) -> None:
            try:
                case.call_and_validate(
                    base_url=fuzz_target["url"],
                    headers=fuzz_target["headers"],
                    checks=[not_a_server_error, response_schema_conformance],
                    timeout=30,
                )
            except Exception as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {str(exc)[:600]}")

        call()

    assert failures == [], "\n\n".join(failures[:15])
