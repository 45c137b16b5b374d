"""Production settings refuse to start without their secrets, and pass Django's deploy check."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 60 + "-production-secret-for-the-check",
    "ALLOWED_HOSTS": "campaign.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "PUBLIC_BASE_URL": "https://campaign.example.org",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # The parent's test-only variables (e.g. the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE) must
    # not leak into a production check.
    leave_out = {*PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "campaign.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY", "ALLOWED_HOSTS"]
)
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_a_malformed_boolean_is_refused_loudly():
    result = _manage("check", env={"DEBUG": "maybe"})

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_the_deploy_check_is_clean_with_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_rotated_secret_key_still_reads_the_unsubscribe_links_the_old_one_signed():
    from django.core import signing

    old_key = "o" * 60 + "-the-key-before-the-rotation"
    # An unsubscribe link in a mail sent before the rotation (such links never expire).
    token = signing.dumps(
        {"h": "a" * 64, "l": "en"}, key=old_key, salt="campaign.privacy.unsubscribe", compress=True
    )
    read = (
        "import os; from campaign.privacy.suppression import unsubscribe_token_read as read;"
        " print(read(os.environ['TOKEN']))"
    )

    rotated = _manage(
        "shell",
        "--no-imports",
        "-c",
        read,
        env={**PRODUCTION_ENV, "TOKEN": token, "SECRET_KEY_FALLBACKS": old_key},
    )
    without_fallback = _manage("shell", "--no-imports", "-c", read, env={**PRODUCTION_ENV, "TOKEN": token})

    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == f"('{'a' * 64}', 'en')"
    assert without_fallback.stdout.strip() == "None"
