"""The staff login in Chromium: the admin sends a new staff member through the password step
and the enrolment (QR code, a code from the app, the backup codes) before it opens."""

from __future__ import annotations

import time
from base64 import b32decode
from typing import Any

import pytest
from django_otp.oath import TOTP

pytestmark = pytest.mark.integration


def _app_code(secret_text: str) -> str:
    """What an authenticator app shows for the key on the enrolment page."""
    totp = TOTP(b32decode(secret_text.replace(" ", "")))
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.fixture
def new_staff_member(transactional_db: Any, django_user_model: Any) -> Any:
    from django.contrib.auth.models import Group

    from campaign.permissions import staff_roles_ensure

    staff_roles_ensure()
    user = django_user_model.objects.create_user("neu", "neu@example.org", "pw-neu-staff", is_staff=True)
    user.groups.add(Group.objects.get(name="viewer"))
    return user


def test_a_new_staff_member_enrols_before_the_admin_opens(
    live_server: Any, page: Any, new_staff_member: Any, screenshot_dir: Any, settings: Any
):
    from campaign.models import AuditEntry

    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "neu")
    page.fill("#id_password", "pw-neu-staff")
    page.click("button[type=submit]")

    page.wait_for_url("**/staff/enrol/**")
    qr = page.locator(".qr svg")
    assert qr.is_visible()
    assert qr.bounding_box()["width"] > 100
    page.screenshot(path=str(screenshot_dir / "staff-enrol.png"), full_page=True)
    secret = page.locator("#otp-secret").inner_text()
    page.fill("#id_otp_token", _app_code(secret))
    page.click("button[type=submit]")

    codes = page.locator("#backup-codes li")
    codes.first.wait_for()
    assert codes.count() == 10
    page.click("#continue")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert settings.ORGANISATION["name"] in page.content()
    # The viewer's models, and not the signatures (personal data).
    assert page.locator("a[href='/admin/petitions/petition/']").count() >= 1
    assert page.locator("a[href='/admin/petitions/signature/']").count() == 0
    assert AuditEntry.objects.filter(action="2fa.enrol", actor_username="neu").exists()
