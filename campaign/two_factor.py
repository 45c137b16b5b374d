"""Two-factor login for staff with django-otp: a TOTP app (enrolled by QR code) plus ten
single-use backup codes. Every enrolment, failed attempt, throttled attempt and reset is in
the audit trail.

Throttling is django-otp's own: after each failed attempt a device refuses every token for
1, 2, 4, 8, ... seconds (`OTP_TOTP_THROTTLE_FACTOR`, `OTP_STATIC_THROTTLE_FACTOR`), stored in the
database, so it holds across sessions and processes. A login is refused while any of the
account's devices is locked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaign.audit import audit_record

BACKUP_CODE_COUNT = 10
ENROLMENT_DEVICE_NAME = "authenticator app"
BACKUP_DEVICE_NAME = "backup codes"


@dataclass(frozen=True)
class VerifyResult:
    device: Any | None
    throttled: bool = False


def user_is_enrolled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_enrolment_start(*, user: Any) -> TOTPDevice:
    """The account's unconfirmed TOTP device (one is created on the first call): its secret
    is what the QR code carries until a first valid token confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=ENROLMENT_DEVICE_NAME, confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    """The provisioning URI as an inline SVG (drawn here: no image service sees the secret)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def totp_secret_text(device: TOTPDevice) -> str:
    """The secret in base32 groups, for apps that cannot scan."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_enrolment_confirm(*, user: Any, token: str) -> list[str] | None:
    """Confirms the enrolment with a first token from the app; returns the new backup codes
    (shown once), or None when the token is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        return None
    if not device.verify_token(token.strip().replace(" ", "")):
        audit_record(actor=user, action="2fa.failure", object_type="otp_totp.totpdevice", object_id=device.pk)
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = backup_codes_renew(user=user)
    audit_record(actor=user, action="2fa.enrol", object_type="otp_totp.totpdevice", object_id=device.pk)
    return codes


def backup_codes_renew(*, user: Any) -> list[str]:
    """Replaces the account's backup codes with ten new ones (single use each)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _confirmed_devices(user: Any) -> list[Any]:
    return [
        *TOTPDevice.objects.filter(user=user, confirmed=True),
        *StaticDevice.objects.filter(user=user, confirmed=True),
    ]


def _candidates(devices: list[Any], token: str) -> list[Any]:
    """The devices a token can be for: digits are an app code, anything else a backup code
    (so a backup code never counts as a failed app code, and the reverse)."""
    kind = TOTPDevice if token.isdigit() else StaticDevice
    return [device for device in devices if isinstance(device, kind)]


def otp_token_verify(*, user: Any, token: str) -> VerifyResult:
    """Checks a token from the app or a backup code. Refused without trying while a device
    is throttled after failed attempts; failures and throttled attempts are audited."""
    token = token.strip().replace(" ", "").lower()
    devices = _confirmed_devices(user)
    locked = [device for device in devices if not device.verify_is_allowed()[0]]
    if locked:
        audit_record(
            actor=user,
            action="2fa.throttled",
            details={"failure_count": max(d.throttling_failure_count for d in locked)},
        )
        return VerifyResult(device=None, throttled=True)
    for device in _candidates(devices, token):
        with transaction.atomic():
            if device.verify_token(token):
                return VerifyResult(device=device)
    audit_record(
        actor=user,
        action="2fa.failure",
        details={"failure_count": max((d.throttling_failure_count for d in devices), default=0)},
    )
    return VerifyResult(device=None)


@transaction.atomic
def two_factor_reset(*, user: Any, actor: Any = None) -> int:
    """Removes the account's devices (a lost phone): the next login enrols again. Also revokes
    its API tokens, which were issued under the old second factor."""
    from campaign.staff_tokens import staff_tokens_revoke_all

    deleted = TOTPDevice.objects.filter(user=user).delete()[0]
    deleted += StaticDevice.objects.filter(user=user).delete()[0]
    revoked = staff_tokens_revoke_all(user=user)
    audit_record(
        actor=actor,
        action="2fa.reset",
        object_type="auth.user",
        object_id=user.pk,
        details={"devices_removed": deleted, "tokens_revoked": revoked},
    )
    return deleted
