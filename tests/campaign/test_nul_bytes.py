"""NUL characters, which PostgreSQL text cannot hold, are a 400 naming the field wherever
they come in: the query, the path, a JSON or form body."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(staff_client):
    response = staff_client.get("/api/v1/staff/donations/summary/?campaign=%00%C3%AA")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"campaign": ["NUL characters are not allowed."]}


def test_a_nul_in_the_path_is_a_400(api_client):
    response = api_client.get("/api/v1/petitions/a%00b/count/")

    assert response.status_code == 400
    assert "path" in response.json()["fields"]


def test_a_nul_in_a_json_field_is_a_400_naming_it(api_client, campaign):
    payload = {"campaign": campaign.slug, "amount": 500, "first_name": "Ad\u0000a"}

    response = api_client.post(
        "/api/v1/donations/", data=json.dumps(payload), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"first_name": ["NUL characters are not allowed."]}


def test_a_nul_in_a_nested_json_field_names_its_path(api_client):
    response = api_client.post(
        "/api/v1/signatures/confirm/",
        data=json.dumps({"token": {"deep": ["ok", "x\u0000"]}}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["token.deep.1"]


def test_a_nul_in_a_form_field_is_a_400_naming_it(client):
    response = client.post(
        "/admin/login/", data="username=a%00b&password=x", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"username": ["NUL characters are not allowed."]}


def test_an_escaped_backslash_before_u0000_is_not_a_nul(staff_client):
    response = staff_client.post(
        "/api/v1/staff/test-email/",
        data=json.dumps({"email": "a@example.org", "locale": "\\u0000"}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "locale" in response.json()["fields"]
    assert response.json()["fields"]["locale"] != ["NUL characters are not allowed."]
