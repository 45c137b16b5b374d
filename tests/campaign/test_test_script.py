"""`make test` (scripts/test.sh) names every missing prerequisite at once, within seconds."""

from __future__ import annotations

import shutil
import subprocess
import time

from tests.conftest import REPO_ROOT, free_port


def test_the_test_script_lists_every_missing_prerequisite_and_stops(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname", "mktemp", "id", "seq", "sleep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {
        # No pg_isready, initdb, pg_dump, redis-cli, redis-server, chromium, curl nor caddy here.
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "TEST_PG_BIN_DIRS": str(tmp_path / "nowhere"),
        "TEST_PG_PORT": str(free_port()),
        "TEST_REDIS_PORT": str(free_port()),
        "PY": str(tmp_path / "no-python"),
    }

    started = time.monotonic()
    result = subprocess.run(
        [str(bin_dir / "bash"), "scripts/test.sh"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started

    assert result.returncode != 0
    assert elapsed < 10
    assert "Starting" not in result.stdout
    message = result.stderr
    for package in ("postgresql", "redis-server", "chromium", "curl", "postgresql-client", "caddy"):
        assert f"'{package}'" in message, message
    # postgresql brings the client tools: it is not asked for twice.
    assert "apt-get install postgresql redis-server chromium curl caddy" in message


def test_the_test_script_accepts_chromium_from_chromium_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    chromium = tmp_path / "my-chromium"
    chromium.touch()

    result = subprocess.run(
        [str(bin_dir / "bash"), "scripts/test.sh"],
        cwd=REPO_ROOT,
        env={
            "PATH": str(bin_dir),
            "TEST_PG_BIN_DIRS": str(tmp_path / "nowhere"),
            "TEST_PG_PORT": str(free_port()),
            "TEST_REDIS_PORT": str(free_port()),
            "CHROMIUM_PATH": str(chromium),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode != 0
    assert "'postgresql'" in result.stderr and "'redis-server'" in result.stderr
    assert "'chromium'" not in result.stderr
