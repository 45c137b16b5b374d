"""There is no Docker engine on the test machines, so the compose file is checked statically
(parsed as YAML): its structure, that its commands are the ones docs/operations.md documents,
and that it scales out (`--scale web=3 --scale worker=3` needs services without a fixed host
port, behind the proxy that publishes one and forwards to every replica)."""

from __future__ import annotations

import re

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


def _caddyfile() -> str:
    """The proxy's configuration without its comments."""
    text = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
    return "\n".join(line.split("#", 1)[0].rstrip() for line in text.splitlines())


def test_web_and_worker_publish_no_fixed_host_port_so_they_scale():
    services = _compose()["services"]

    # Two replicas cannot both bind host port 8000: `--scale web=3` would fail on the second.
    for name in ("web", "worker", "beat"):
        assert "ports" not in services[name], f"{name} publishes a host port"
    assert services["web"]["expose"] == ["8000"]


def test_the_proxy_publishes_the_public_ports_and_forwards_to_every_web_replica():
    proxy = _compose()["services"]["proxy"]
    caddyfile = _caddyfile()

    image, _, tag = proxy["image"].partition(":")
    assert image == "caddy"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), "pin the proxy's version"
    assert {"80:80", "443:443"} <= set(proxy["ports"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    # Docker's DNS answers `web` with every replica's address; a dynamic A lookup makes each
    # one an upstream (a plain `web:8000` would be one upstream and stick to one container).
    assert re.search(r"dynamic a \{\s*name web\s*port 8000\b", caddyfile)
    assert "lb_policy round_robin" in caddyfile


def test_the_proxy_overwrites_x_forwarded_for_and_keeps_metrics_inside():
    caddyfile = _caddyfile()

    # Caddy replaces a client's own X-Forwarded-For unless it trusts the sender: naming
    # trusted proxies here would let clients choose their address behind NUM_PROXIES=1.
    assert "trusted_proxies" not in caddyfile
    # Nor may a proxy header be set by hand (Caddy writes X-Forwarded-For and -Proto itself).
    assert not re.search(r"header_up\s+\+?X-Forwarded-(For|Proto)", caddyfile, re.IGNORECASE)
    # Behind the proxy every request comes from its address, which METRICS_ALLOWED_CIDRS
    # may allow: /metrics must not be reachable from the internet through it.
    assert re.search(r"^\s*respond /metrics\*? 404$", caddyfile, re.MULTILINE)


def test_web_trusts_exactly_the_one_proxy_in_front():
    services = _compose()["services"]

    assert services["web"]["environment"]["NUM_PROXIES"] == "1"
    assert set(services["proxy"]["depends_on"]) == {"web"}


def test_the_app_services_start_after_the_migrations():
    services = _compose()["services"]

    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_web_and_worker_share_the_media_volume_of_the_exports():
    services = _compose()["services"]
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()

    # A worker writes a background export and whichever web replica is asked hands it out.
    for name in ("web", "worker"):
        assert "media:/app/media" in services[name]["volumes"], name
    assert "media" in _compose()["volumes"]
    # A fresh named volume takes the owner of the image's directory: the app user must own it.
    assert "chown app:app /app/media" in dockerfile
