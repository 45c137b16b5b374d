"""Two-factor login for staff: a password alone reaches neither the admin nor the staff API;
enrolment by QR code with backup codes; throttled and audited wrong codes; a reset command;
API tokens only from a verified session, expiring and revocable."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from campaign.models import AuditEntry, StaffToken
from campaign.staff_tokens import staff_token_create
from campaign.two_factor import otp_token_verify
from tests.conftest import staff_api_client, staff_user_create

pytestmark = pytest.mark.django_db


def _totp_now(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.fixture
def member(django_user_model):
    """A staff account with a role but no second factor yet."""
    from django.contrib.auth.models import Group

    from campaign.permissions import staff_roles_ensure

    staff_roles_ensure()
    user = django_user_model.objects.create_user("member", "member@example.org", "pw-member", is_staff=True)
    user.groups.add(Group.objects.get(name="data export"))
    return user


def _password_login(client: Client, username: str = "member"):
    return client.post(
        "/staff/login/", {"username": username, "password": f"pw-{username}", "next": "/admin/"}
    )


def test_an_admin_login_without_the_second_factor_cannot_reach_the_admin(django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-root")
    client = Client()
    client.force_login(django_user_model.objects.get(username="root"))  # password checked, no OTP

    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.get("/admin/petitions/signature/").status_code == 302
    # The admin's login is the staff login, which sends this half-logged-in session to the
    # second step.
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith("/staff/verify/")


def test_a_password_session_gets_no_staff_data_through_the_api(member, petition):
    client = APIClient()
    client.force_login(member)

    response = client.get(f"/api/v1/staff/petitions/{petition.slug}/signatures.csv")
    assert response.status_code == 403
    assert "second factor" in response.json()["message"]


def test_the_first_login_enrols_with_a_qr_code_and_gives_backup_codes(member, petition):
    client = Client()
    response = _password_login(client)
    assert response.status_code == 302 and response["Location"].startswith("/staff/enrol/")

    page = client.get(response["Location"])
    assert page.status_code == 200
    # The QR code is drawn inline; the page loads nothing from elsewhere.
    assert b"<svg" in page.content
    assert b'src="http' not in page.content and b'href="http' not in page.content
    assert client.get("/admin/").status_code == 302  # not before the enrolment is confirmed

    device = TOTPDevice.objects.get(user=member, confirmed=False)
    wrong_code = "000000" if _totp_now(device) != "000000" else "111111"
    wrong = client.post("/staff/enrol/?next=/admin/", {"otp_token": wrong_code})
    assert wrong.status_code == 400
    # The wrong code locked the device for a second; let that second pass.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=1)
    )
    done = client.post("/staff/enrol/?next=/admin/", {"otp_token": _totp_now(device)})
    assert done.status_code == 200
    codes = StaticDevice.objects.get(user=member).token_set.values_list("token", flat=True)
    assert len(codes) == 10 and all(code.encode() in done.content for code in codes)

    assert client.get("/admin/").status_code == 200
    assert client.get(f"/api/v1/staff/petitions/{petition.slug}/signatures.csv").status_code == 200
    assert AuditEntry.objects.filter(action="2fa.enrol", actor_username="member").count() == 1


def _enrolled(member) -> tuple[TOTPDevice, list[str]]:
    from campaign.two_factor import totp_enrolment_confirm, totp_enrolment_start

    device = totp_enrolment_start(user=member)
    codes = totp_enrolment_confirm(user=member, token=_totp_now(device))
    assert codes
    device.refresh_from_db()
    return device, codes


def test_a_backup_code_works_once(member):
    _, codes = _enrolled(member)
    client = Client()
    assert _password_login(client)["Location"].startswith("/staff/verify/")

    assert client.post("/staff/verify/", {"otp_token": codes[0], "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    again = Client()
    _password_login(again)
    assert again.post("/staff/verify/", {"otp_token": codes[0]}).status_code == 400


def test_wrong_codes_are_throttled_and_audited(member):
    device, codes = _enrolled(member)
    client = Client()
    _password_login(client)

    assert client.post("/staff/verify/", {"otp_token": "not-a-code"}).status_code == 400
    # Locked now (1 s after the first failure, doubling): even the right code is refused.
    throttled = client.post("/staff/verify/", {"otp_token": codes[1]})
    assert throttled.status_code == 429
    assert client.get("/admin/").status_code == 302
    actions = list(AuditEntry.objects.filter(actor_username="member").values_list("action", flat=True))
    assert "2fa.failure" in actions and "2fa.throttled" in actions

    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )
    StaticDevice.objects.filter(user=member).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=1)
    )
    assert otp_token_verify(user=member, token=codes[1]).device is not None


def test_the_reset_command_removes_the_devices_and_tokens_and_is_audited(member, django_user_model):
    _enrolled(member)
    token, _ = staff_token_create(user=member)
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")

    call_command("two_factor_reset", "member", "--by", "root")

    assert not TOTPDevice.objects.filter(user=member).exists()
    assert not StaticDevice.objects.filter(user=member).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action="2fa.reset")
    assert (entry.actor_id, entry.object_id) == (admin.pk, str(member.pk))
    client = Client()
    assert _password_login(client)["Location"].startswith("/staff/enrol/")


def test_tokens_are_issued_only_from_a_verified_session(member, petition):
    client = Client()
    _password_login(client)
    assert client.post("/staff/tokens/", {"action": "create", "name": "x"}).status_code == 302
    assert not StaffToken.objects.exists()

    _, codes = _enrolled(member)
    client.post("/staff/verify/", {"otp_token": codes[0]})
    page = client.post("/staff/tokens/", {"action": "create", "name": "reports script"})
    assert page.status_code == 200
    token = StaffToken.objects.get(user=member)
    key = page.content.split(b'id="new-key">')[1].split(b"<")[0].decode()
    assert key.startswith(token.prefix) and token.key_hash != key
    entry = AuditEntry.objects.get(action="token.create")
    assert (entry.actor_username, entry.object_id) == ("member", str(token.pk))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(f"/api/v1/staff/petitions/{petition.slug}/signatures.csv").status_code == 200


def test_expired_and_revoked_tokens_are_a_401(member, petition, settings):
    settings.STAFF_TOKEN_DAYS = 30
    url = f"/api/v1/staff/petitions/{petition.slug}/signatures.csv"
    token, key = staff_token_create(user=member)
    assert token.expires_at - timezone.now() > timedelta(days=29)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(url).status_code == 200

    StaffToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(url).status_code == 401

    other, other_key = staff_token_create(user=member)
    _, codes = _enrolled(member)
    client = Client()
    _password_login(client)
    client.post("/staff/verify/", {"otp_token": codes[0]})
    assert client.post("/staff/tokens/", {"action": "revoke", "token_id": other.pk}).status_code == 302
    api.credentials(HTTP_AUTHORIZATION=f"Token {other_key}")
    assert api.get(url).status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", object_id=str(other.pk)).exists()
    assert APIClient().get(url, HTTP_AUTHORIZATION="Token nonsense").status_code == 401


def test_the_token_fixture_is_a_verified_staff_token(django_user_model, petition):
    # The shared fixtures use the same path the staff use: a token from staff_token_create.
    user = staff_user_create(django_user_model, "fixture", "data export")
    response = staff_api_client(user).get(f"/api/v1/staff/petitions/{petition.slug}/signatures.csv")
    assert response.status_code == 200
