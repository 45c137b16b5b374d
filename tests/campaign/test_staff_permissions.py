"""Every staff endpoint checks the staff roles, not is_staff: 401 without credentials, 403 for
an account without the role, 2xx with it. The endpoints are taken from the URL resolver, so a
new staff endpoint fails here until its roles are listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from campaign.permissions import ROLES
from tests.conftest import staff_api_client, staff_login, staff_user_create

pytestmark = pytest.mark.django_db

STAFF_PREFIX = "api/v1/staff/"
# The server-rendered staff pages checked by role here (the login, enrolment and token pages
# serve every staff account; the export page is tested in tests/integration/test_export_page.py).
STAFF_PAGE_PREFIXES = ("staff/reports/", "staff/review/")


@dataclass(frozen=True)
class Case:
    roles: frozenset[str]  # the roles that may; every other role gets 403
    method: str = "get"
    data: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


# url name -> the requests to make and the roles allowed for each.
CASES: dict[str, list[Case]] = {
    "staff-audit-list": [Case(_roles("privacy officer"), data={"action": "export"})],
    "staff-audit-export-csv": [Case(_roles("privacy officer"))],
    "staff-test-email": [Case(_roles("organiser"), "post", {"email": "probe@example.org"})],
    "petition-invalidation-create": [Case(_roles("organiser"), "post", {"email_domain": "example.org"})],
    "petition-invalidation-undo": [Case(_roles("organiser"), "post")],
    "petition-flagged-list": [Case(_roles("data export"), data={"reason": "ip_burst"})],
    "petition-flagged-unflag": [Case(_roles("organiser"), "post", {"email_domain": "example.org"})],
    "petition-flagged-invalidation-create": [
        Case(_roles("organiser"), "post", {"email_domain": "example.org"}, label="preview"),
        Case(_roles("organiser"), "post", {"email_domain": "example.org", "dry_run": False}, label="apply"),
    ],
    "petition-update-create": [Case(_roles("organiser"), "post", {"subject": "Probe", "body_text": "Text"})],
    "privacy-erasure-create": [Case(_roles("privacy officer"), "post", {"email": "erase.me@example.org"})],
    "privacy-consent-proof": [Case(_roles("privacy officer"), data={"email": "proof@example.org"})],
    "privacy-request-list": [Case(_roles("privacy officer"))],
    "crm-delivery-list": [Case(_roles("privacy officer", "organiser"), data={"status": "dead"})],
    "crm-delivery-retry": [Case(_roles("privacy officer", "organiser"), "post")],
    "crm-subscriber-export": [Case(_roles("data export"))],
    "signature-export-csv": [Case(_roles("data export"))],
    "signature-export-xlsx": [Case(_roles("data export"))],
    "staff-donation-summary": [
        Case(_roles("viewer", "organiser", "finance"), data={"campaign": "{campaign}"})
    ],
    "staff-donation-export-csv": [Case(_roles("finance"))],
    "staff-donation-export-xlsx": [Case(_roles("finance"))],
    "staff-receipt-export": [Case(_roles("finance"), data={"year": "2026"})],
    "staff-export-list": [
        Case(_roles("data export", "finance"), label="list"),
        Case(
            _roles("data export"),
            "post",
            {"kind": "petitions.signatures", "format": "csv", "params": {"petition": "{petition}"}},
            label="start",
        ),
    ],
    "staff-export-detail": [Case(_roles("data export"))],
    "staff-export-download": [Case(_roles("data export"))],
    "staff-petition-constituencies": [Case(_roles("viewer", "organiser"))],
    "staff-petition-report": [
        Case(_roles("viewer", "organiser", "data export"), label="totals"),
        Case(_roles("data export"), data={"names": "true"}, label="names"),
    ],
    "staff-petition-report-figures": [Case(_roles("viewer", "organiser"))],
    "staff-petition-report-xlsx": [Case(_roles("viewer", "organiser"))],
    "staff-campaign-report-figures": [Case(_roles("viewer", "organiser"))],
    "staff-campaign-report-xlsx": [Case(_roles("viewer", "organiser"))],
    # Staff pages (a session verified with the second factor; form posts).
    "staff-petition-report-page": [Case(_roles("viewer", "organiser"))],
    "staff-campaign-report-page": [Case(_roles("viewer", "organiser"))],
    "staff-review-page": [
        Case(_roles("organiser"), label="queue"),
        Case(
            _roles("organiser"), data={"reason": "ip_burst", "email_domain": "example.org"}, label="filtered"
        ),
        Case(_roles("organiser"), "post", {"action": "unflag", "reason": "ip_burst"}, label="unflag"),
        Case(_roles("organiser"), "post", {"action": "preview", "reason": "ip_burst"}, label="preview"),
        Case(
            _roles("organiser"),
            "post",
            {"action": "invalidate", "reason": "ip_burst", "expected_count": "0"},
            label="invalidate",
        ),
        Case(
            _roles("organiser"), "post", {"action": "undo", "invalidation_id": "{invalidation}"}, label="undo"
        ),
    ],
}


def _staff_routes(prefixes: tuple[str, ...] = (STAFF_PREFIX,)) -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith(prefixes):
                    routes.append((route, pattern.name or route))

    walk(get_resolver().url_patterns, "")
    return routes


STAFF_ROUTES = _staff_routes()
PARAMS = [
    pytest.param(route, name, case, id=f"{name}-{case.label}" if case.label else name)
    for route, name in STAFF_ROUTES
    for case in CASES.get(name, [Case(_roles())])
]


STAFF_PAGE_ROUTES = _staff_routes(STAFF_PAGE_PREFIXES)
PAGE_PARAMS = [
    pytest.param(route, name, case, id=f"{name}-{case.label}" if case.label else name)
    for route, name in STAFF_PAGE_ROUTES
    for case in CASES.get(name, [Case(_roles())])
]


def test_the_resolver_finds_the_staff_endpoints():
    names = {name for _, name in STAFF_ROUTES}
    # Guards the enumeration itself: a broken walk would make every test below vacuous.
    assert {"signature-export-csv", "staff-petition-report", "staff-test-email"} <= names


def _export_job_done() -> Any:
    """A finished signature export with its file, for the export detail and download."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from campaign.models import ExportJob

    job = ExportJob.objects.create(
        kind="petitions.signatures", format="csv", username="probe", status=ExportJob.Status.DONE
    )
    job.file = default_storage.save(f"exports/{job.pk}/probe.csv", ContentFile(b"id\n"))
    job.filename = "probe.csv"
    job.expires_at = timezone.now() + timedelta(hours=1)
    job.save(update_fields=["file", "filename", "expires_at"])
    return job


def _request(client: APIClient, route: str, case: Case, petition: Any, campaign: Any) -> Any:
    path = "/" + route.replace("campaigns/<slug:slug>", f"campaigns/{campaign.slug}")
    path = path.replace("<slug:slug>", petition.slug)
    if "<int:invalidation_id>" in path:
        from petitions.models import Invalidation

        # A fresh invalidation each request: an undo works once.
        invalidation = Invalidation.objects.create(petition=petition, email_domain="example.org")
        path = path.replace("<int:invalidation_id>", str(invalidation.pk))
    if "<int:delivery_id>" in path:
        from campaign.crm.models import CrmDelivery

        # A fresh dead letter each request: a retry works once.
        dead = CrmDelivery.objects.create(event="subscribe", email_hash="0" * 64, status="dead", attempts=8)
        path = path.replace("<int:delivery_id>", str(dead.pk))
    if "<int:export_job_id>" in path:
        path = path.replace("<int:export_job_id>", str(_export_job_done().pk))

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if value == "{invalidation}":
            from petitions.models import Invalidation

            return str(Invalidation.objects.create(petition=petition, email_domain="example.org").pk)
        return (
            value.format(campaign=campaign.slug, petition=petition.slug) if isinstance(value, str) else value
        )

    data = fill(case.data)
    if case.method == "post":
        return (
            client.post(path, data, format="json")
            if isinstance(client, APIClient)
            else client.post(path, data)
        )
    return client.get(path, data)


@pytest.mark.parametrize(("route", "name", "case"), PARAMS)
def test_every_staff_endpoint_answers_by_role(route, name, case, petition, campaign, django_user_model):
    assert name in CASES, f"list the roles of the new staff endpoint {name!r} in CASES"
    anonymous = _request(APIClient(), route, case, petition, campaign)
    assert anonymous.status_code == 401, anonymous.content

    no_role = staff_api_client(staff_user_create(django_user_model, "norole"))
    response = _request(no_role, route, case, petition, campaign)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"

    for role in ROLES:
        client = staff_api_client(staff_user_create(django_user_model, role.replace(" ", "-"), role))
        response = _request(client, route, case, petition, campaign)
        if role in case.roles:
            assert 200 <= response.status_code < 300, (role, response.status_code, response.content)
        else:
            assert response.status_code == 403, (role, response.status_code, response.content)


@pytest.mark.parametrize(("route", "name", "case"), PAGE_PARAMS)
def test_every_staff_page_answers_by_role(route, name, case, petition, campaign, django_user_model):
    assert name in CASES, f"list the roles of the new staff page {name!r} in CASES"
    anonymous = _request(Client(), route, case, petition, campaign)
    assert anonymous.status_code == 302 and "/staff/login/" in anonymous["Location"]

    no_role = staff_login(Client(), staff_user_create(django_user_model, "norole"))
    assert _request(no_role, route, case, petition, campaign).status_code == 403

    for role in ROLES:
        client = staff_login(Client(), staff_user_create(django_user_model, role.replace(" ", "-"), role))
        response = _request(client, route, case, petition, campaign)
        if role in case.roles:
            # 2xx, or the redirect after a done action (back to the queue, not to the login)
            assert 200 <= response.status_code < 300 or (
                response.status_code == 302 and "/staff/review/" in response["Location"]
            ), (role, response.status_code)
        else:
            assert response.status_code == 403, (role, response.status_code)


def test_a_viewer_gets_403_on_every_personal_data_export(petition, django_user_model):
    client = staff_api_client(staff_user_create(django_user_model, "viewer", "viewer", "organiser"))
    for path, query in [
        (f"/api/v1/staff/petitions/{petition.slug}/signatures.csv", {}),
        (f"/api/v1/staff/petitions/{petition.slug}/signatures.xlsx", {}),
        ("/api/v1/staff/crm/subscribers.csv", {}),
        (f"/api/v1/staff/petitions/{petition.slug}/report.pdf", {"names": "true"}),
    ]:
        assert client.get(path, query).status_code == 403, path


def test_is_staff_alone_is_not_enough_and_a_role_without_is_staff_neither(petition, django_user_model):
    exporter = staff_user_create(django_user_model, "exporter", "data export")
    client = staff_api_client(exporter)
    url = f"/api/v1/staff/petitions/{petition.slug}/signatures.csv"
    assert client.get(url).status_code == 200

    exporter.is_staff = False
    exporter.save(update_fields=["is_staff"])
    assert client.get(url).status_code == 401  # the token of an account that is no longer staff
    session = APIClient()
    session.force_authenticate(exporter)
    assert session.get(url).status_code == 403


def test_the_migration_created_the_five_roles_with_their_permissions():
    from django.contrib.auth.models import Group

    held = {
        group.name: sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())
        for group in Group.objects.prefetch_related("permissions__content_type")
    }
    assert held == {name: sorted(perms) for name, perms in ROLES.items()}
