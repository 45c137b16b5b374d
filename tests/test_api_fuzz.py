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
from schemathesis.specs.openapi.checks import positive_data_acceptance, response_schema_conformance

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


# Answers to schema-conforming data that are refusals by design: what a schema cannot state
# (whether a slug or a token exists, how two fields relate, a country's own postcode format).
# Per operation: the error codes, and the fields of a 400 `invalid`, that are excused, with why.
NUL = "NUL characters are not allowed."
DELIBERATE_REFUSALS: dict[str, dict[str, Any]] = {
    # Only Stripe can sign a webhook; an unsigned one is refused.
    "POST /api/v1/stripe/webhook/": {"codes": {"invalid_signature"}, "nul_in_keys": True},
    # A token that was never issued.
    "POST /api/v1/signatures/confirm/": {"codes": {"invalid_token"}},
    "POST /api/v1/signatures/withdraw/": {"codes": {"invalid_token"}},
    "POST /api/v1/donations/cancel/": {"codes": {"invalid_token"}},
    "POST /api/v1/donations/{public_id}/complete/": {"codes": {"invalid_token"}},
    # A campaign slug that names no running campaign; a signing reference that was never issued.
    # A receipt needs the address (street, postcode, city, country): a relation between fields.
    "POST /api/v1/donations/": {
        "fields": {"campaign", "signing_ref", "petition", "street", "postcode", "city", "country"}
    },
    # The consent version must be the one the petition shows now; a country with a known
    # postcode format (DE: five digits) is narrower than the generic pattern.
    # email-validator refuses special-use domains (.test, ...) that the `email` format allows.
    "POST /api/v1/petitions/{slug}/signatures/": {"fields": {"consent_version", "postcode", "email"}},
    "GET /api/v1/regions/lookup/": {"fields": {"postcode"}},
    # A campaign slug that names no campaign.
    "GET /api/v1/staff/donations/summary/": {"fields": {"campaign"}},
    "GET /api/v1/staff/donations/export.csv": {"fields": {"campaign"}},
    "GET /api/v1/staff/donations/export.xlsx": {"fields": {"campaign"}},
    # Each kind checks its own `params` (a free-form object in the schema).
    "POST /api/v1/staff/exports/": {"codes": set(), "any_field": True, "nul_in_keys": True},
    # "At least one filter", and `until` after `since`: relations between fields.
    "POST /api/v1/staff/petitions/{slug}/flagged/invalidations/": {
        "codes": {"filter_required"},
        "fields": {"until", "created_to"},
    },
    "POST /api/v1/staff/petitions/{slug}/flagged/unflag/": {
        "codes": {"filter_required"},
        "fields": {"until"},
    },
    "POST /api/v1/staff/petitions/{slug}/invalidations/": {
        "codes": {"filter_required"},
        "fields": {"created_to"},
    },
    "GET /api/v1/staff/petitions/{slug}/flagged/": {"fields": {"until"}},
    "GET /api/v1/staff/petitions/{slug}/signatures.csv": {"fields": {"created_to"}},
    "GET /api/v1/staff/petitions/{slug}/signatures.xlsx": {"fields": {"created_to"}},
    # A constituency id that does not exist.
    "GET /api/v1/staff/petitions/{slug}/report.pdf": {"fields": {"constituency"}},
    # The English subject and text come together or not at all.
    "POST /api/v1/staff/petitions/{slug}/updates/": {"fields": {"subject_en", "body_text_en"}},
    # email-validator refuses the special-use domains (.test, .invalid, ...) that the `email`
    # format allows.
    "GET /api/v1/staff/privacy/consents/": {"fields": {"email"}},
    "POST /api/v1/staff/privacy/erasures/": {"fields": {"email"}},
    "POST /api/v1/privacy/requests/": {"fields": {"email"}},
    "POST /api/v1/staff/test-email/": {"fields": {"email"}},
    "POST /api/v1/donations/manage-link/": {"fields": {"email"}},
    "POST /api/v1/mail/events/": {"fields": set()},
}


def _refused_by_design(label: str, response: Any) -> bool:
    excused = DELIBERATE_REFUSALS.get(label)
    if excused is None or response.status_code != 400:
        return False
    try:
        error = response.json()
    except ValueError:
        return False
    if error.get("code") in excused.get("codes", set()):
        return True
    fields = error.get("fields") or {}
    if error.get("code") != "invalid" or not fields:
        return False
    if excused.get("nul_in_keys") and all(messages == [NUL] for messages in fields.values()):
        return True
    return excused.get("any_field", False) or set(fields) <= excused.get("fields", set())


@pytest.mark.django_db(transaction=True)
def test_data_conforming_to_the_schema_is_accepted(fuzz_target):
    """Positive data acceptance: every request the schema allows gets past validation (2xx, or
    401/403/404/409/429 where the API legitimately refuses), except DELIBERATE_REFUSALS."""
    schema = schemathesis.openapi.from_url(f"{fuzz_target['url']}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
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
            response = case.call(base_url=fuzz_target["url"], headers=fuzz_target["headers"], timeout=30)
            if _refused_by_design(f"{case.method} {case.path}", response):
                return
            try:
                case.validate_response(response, checks=[positive_data_acceptance])
            except BaseExceptionGroup:  # collected, reported together below
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300}: "
                    f"{response.status_code} {response.text[:300]}"
                )

        call()

    assert failures == [], "\n\n".join(failures[:15])
