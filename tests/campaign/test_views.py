from __future__ import annotations

import pytest

from campaign.models import Campaign
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_it_returns_the_campaign_in_the_contract_shape(api_client):
    CampaignFactory(slug="demo", title_de="Titel", title_en="Title", suggested_amounts=[500, 1000])

    response = api_client.get("/api/v1/campaigns/demo/")

    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "demo"
    assert body["title"] == {"de": "Titel", "en": "Title"}
    assert body["suggested_amounts"] == [500, 1000]
    assert body["donation_goal"] == 1_000_000
    assert set(body["donation_totals"]) >= {"raised_amount", "donor_count"}
    assert isinstance(body["petitions"], list)
    assert body["status"] == "live"


def test_a_draft_campaign_is_not_public(api_client):
    CampaignFactory(slug="secret", status=Campaign.Status.DRAFT)

    response = api_client.get("/api/v1/campaigns/secret/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_path_answers_json_404(api_client):
    response = api_client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_bad_json_is_a_400_json_error(staff_client):
    response = staff_client.post(
        "/api/v1/staff/test-email/", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_unknown_fields_are_rejected_by_name(staff_client):
    response = staff_client.post(
        "/api/v1/staff/test-email/", {"email": "a@example.org", "surprise": 1}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "surprise" in body["fields"]


def test_a_field_error_names_the_field(staff_client):
    response = staff_client.post("/api/v1/staff/test-email/", {"email": "not-an-address"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["email"]


@pytest.mark.parametrize("payload", ["[]", "null", "42", '"text"', '{"email": ["a"]}', '{"email": {"x": 1}}'])
def test_json_of_the_wrong_shape_is_a_400_never_a_500(staff_client, payload):
    response = staff_client.post("/api/v1/staff/test-email/", data=payload, content_type="application/json")

    assert response.status_code == 400
    assert "code" in response.json()


def test_a_non_json_body_is_refused_with_415(staff_client):
    response = staff_client.post(
        "/api/v1/staff/test-email/", data="email=a@b.org", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_oversized_body_is_refused(staff_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = '{"email": "' + "a" * 5000 + '@example.org"}'

    response = staff_client.post("/api/v1/staff/test-email/", data=payload, content_type="application/json")

    assert response.status_code in {400, 413}
    assert "code" in response.json()


def test_staff_endpoints_need_staff(api_client):
    response = api_client.post("/api/v1/staff/test-email/", {"email": "a@example.org"}, format="json")

    assert response.status_code in {401, 403}
    assert response.json()["code"] in {"not_authenticated", "permission_denied"}


def test_healthz_answers(api_client):
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "switches": {"read_only": False, "donations_paused": False}}


def test_readyz_reports_each_dependency(api_client):
    response = api_client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_down(api_client):
    from tests.conftest import broker_unreachable

    with broker_unreachable():
        response = api_client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_names_the_cache_when_it_is_down(api_client, settings):
    from tests.conftest import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }

    response = api_client.get("/readyz")

    assert response.status_code == 503
    assert "cache" in response.json()["down"]


def test_the_openapi_schema_and_docs_are_served(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/campaigns/{slug}/" in schema.json()["paths"]
    assert docs.status_code == 200
