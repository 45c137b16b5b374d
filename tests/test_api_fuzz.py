"""Fuzzing the OpenAPI schema: whatever a client sends, the API answers without a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings


@pytest.fixture
def api_schema(transactional_db):
    from campaign.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def test_no_request_makes_the_api_answer_with_a_server_error(api_schema):
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 2  # the schema really lists the API

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def call(case):
            response = case.call()
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
                )
            elif response.status_code >= 400 and "json" in response.headers.get("content-type", [""])[0]:
                assert "code" in response.json(), f"{case.method} {case.formatted_path}: no error code"

        call()

    assert failures == []
