"""The Makefile's commands, run with a stand-in Python that only reports what it was given."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make_run(tmp_path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    venv = tmp_path / "venv"
    venv.mkdir()
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "$* PUBLIC_BASE_URL=$PUBLIC_BASE_URL"\n')
    fake_python.chmod(0o755)
    (venv / ".installed").touch()  # newer than requirements.txt: nothing to install
    environment = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    environment.update(env or {})
    result = subprocess.run(
        ["make", "--no-print-directory", "run", f"VENV={venv}", f"PY={fake_python}", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if "manage.py" in line and "PUBLIC_BASE_URL=" in line]


def test_make_run_derives_the_public_base_url_from_host_and_port(tmp_path):
    lines = _make_run(tmp_path, "PORT=8765", "HOST=127.0.0.2")

    assert lines
    assert all(line.endswith("PUBLIC_BASE_URL=http://127.0.0.2:8765") for line in lines), lines
    assert any("run_local --addrport 127.0.0.2:8765" in line for line in lines)


def test_make_run_keeps_a_public_base_url_that_is_set(tmp_path):
    lines = _make_run(tmp_path, "PORT=8765", env={"PUBLIC_BASE_URL": "https://campaign.example.org"})

    assert lines
    assert all(line.endswith("PUBLIC_BASE_URL=https://campaign.example.org") for line in lines), lines
