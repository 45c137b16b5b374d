"""There is no Docker engine on the test machines: check the compose file's structure, and that
its commands are the ones docs/operations.md documents."""

from __future__ import annotations

import yaml

from tests.conftest import REPO_ROOT


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_compose_names_every_service():
    services = _compose()["services"]

    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)


def test_the_app_services_run_the_documented_commands():
    services = _compose()["services"]
    operations = (REPO_ROOT / "docs" / "operations.md").read_text()

    for name in ("web", "worker", "beat"):
        command = services[name]["command"]
        command = command if isinstance(command, str) else " ".join(command)
        assert command in operations, f"the {name} command is not in docs/operations.md"
    assert "gunicorn" in services["web"]["command"]
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_the_app_services_get_database_and_redis_from_the_environment():
    services = _compose()["services"]

    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert set(services[name]["depends_on"]) >= {"postgres", "redis"}
