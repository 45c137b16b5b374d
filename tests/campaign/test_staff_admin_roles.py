"""The admin checks the same staff roles as the API: a staff account sees only what its roles
allow, and one without a role sees no model at all."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import staff_login, staff_user_create

pytestmark = pytest.mark.django_db

PAGES = {
    "petitions": "/admin/petitions/petition/",
    "signatures": "/admin/petitions/signature/",
    "donations": "/admin/donations/donation/",
    "donors": "/admin/donations/donor/",
    "deliveries": "/admin/officials/delivery/",
    "export log": "/admin/campaign/exportlog/",
    "users": "/admin/auth/user/",
}

# role -> the pages it may open (every other page is a 403).
ALLOWED = {
    "": set(),
    "viewer": {"petitions", "deliveries"},
    "organiser": {"petitions", "deliveries"},
    "data export": {"signatures"},
    "finance": {"donations", "donors"},
    "privacy officer": {"signatures", "donors", "export log"},  # access and erasure requests
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_the_admin_opens_what_the_role_allows_and_nothing_else(role, django_user_model):
    user = staff_user_create(django_user_model, "member", *([role] if role else []))
    client = staff_login(Client(), user)

    assert client.get("/admin/").status_code == 200
    for page, url in PAGES.items():
        expected = 200 if page in ALLOWED[role] else 403
        assert client.get(url).status_code == expected, (role, page)


def test_a_viewer_may_look_at_a_petition_but_not_change_it(django_user_model, petition):
    client = staff_login(Client(), staff_user_create(django_user_model, "viewer", "viewer"))
    url = f"/admin/petitions/petition/{petition.pk}/change/"

    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view-only page
    assert client.post(url, {"title_de": "Changed"}).status_code == 403


def test_only_the_data_export_role_sees_the_export_actions(django_user_model, petition):
    exporter = staff_login(Client(), staff_user_create(django_user_model, "exp", "data export"))
    privacy = staff_login(Client(), staff_user_create(django_user_model, "dpo", "privacy officer"))

    assert b"export_csv" in exporter.get("/admin/petitions/signature/").content
    listing = privacy.get("/admin/petitions/signature/")
    assert listing.status_code == 200
    assert b"export_csv" not in listing.content
