"""The public API skips the session, auth and messages middleware; everything else keeps them."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client

from campaign.middleware import AuthenticationMiddleware, SessionMiddleware, is_public_api_path


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("/api/v1/petitions/x/count/", True),
        ("/api/v1/petitions/x/signatures/", True),
        ("/api/v1/donations/", True),
        ("/api/v1/staff/petitions/x/signatures.csv", False),
        ("/api/v1/staff/test-email/", False),
        ("/admin/", False),
        ("/signatures/confirm/", False),
        ("/api/schema/", False),
        ("/api/v2/petitions/", False),
    ],
)
def test_it_knows_the_public_api_paths(path, public):
    assert is_public_api_path(path) is public


def _run(middleware_class: type, path: str) -> HttpRequest:
    request = HttpRequest()
    request.path_info = request.path = path
    request.method = "GET"
    chain = middleware_class(lambda r: HttpResponse("ok"))
    if middleware_class is AuthenticationMiddleware:
        chain = SessionMiddleware(chain)
    chain(request)
    return request


def test_the_public_api_gets_no_session_and_no_user():
    request = _run(AuthenticationMiddleware, "/api/v1/petitions/x/count/")

    assert not hasattr(request, "session")
    assert not hasattr(request, "user")


def test_the_staff_api_keeps_session_and_user():
    request = _run(AuthenticationMiddleware, "/api/v1/staff/petitions/x/signatures.csv")

    assert hasattr(request, "session")
    assert request.user.is_authenticated is False


@pytest.mark.django_db
def test_a_public_endpoint_sets_no_cookie_even_for_a_logged_in_browser(staff_user, campaign):
    client = Client()
    client.force_login(staff_user)

    response = client.get(f"/api/v1/campaigns/{campaign.slug}/")

    assert response.status_code == 200
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


@pytest.mark.django_db
def test_the_admin_still_uses_the_session_and_csrf(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    assert client.get("/admin/").status_code == 200
    # Without the CSRF token a form post is refused: CSRF protection is untouched.
    assert client.post("/admin/logout/").status_code == 403
