"""The admin and staff pages carry the organisation's name; /favicon.ico never 404s."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_admin_login_page_names_the_organisation(settings):
    response = Client().get("/admin/login/")

    assert response.status_code == 200
    page = response.content.decode()
    assert settings.ORGANISATION["name"] in page
    assert "Django administration" not in page


def test_favicon_ico_points_at_a_shipped_icon():
    response = Client().get("/favicon.ico")

    assert response.status_code in (301, 302)
    assert response["Location"].endswith("/campaign/favicon.svg")
    assert finders.find("campaign/favicon.svg")
    served = Client().get(response["Location"])
    assert served.status_code == 200
    assert b"<svg" in b"".join(served.streaming_content)
