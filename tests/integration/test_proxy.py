"""deploy/Caddyfile run by the real Caddy in front of two real gunicorn processes of the service
with the production settings, as docker-compose.yml runs the proxy and two `web` replicas.

Docker's embedded DNS answers the service name `web` with one address per replica; here a small
DNS server answers `web` with 127.0.0.2 and 127.0.0.3, where the two replicas listen on the same
port. Only what a test machine needs is changed in the file: the ports, Caddy's local CA without
touching the system's trust store, and that DNS server. There is no Docker engine here, so the
compose file itself is checked statically (tests/test_compose.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from petitions.hashing import ip_hash_compute
from petitions.models import Signature
from tests.conftest import REPO_ROOT, free_port
from tests.fixtures.petitions import PetitionFactory, sign_payload
from tests.outages import production_env
from tests.processes import die_with_parent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("petitions_isolation"),
]

REPLICAS = ("127.0.0.2", "127.0.0.3")
HASH_SECRET = "proxy-test-hash-secret-" + "h" * 40
METRICS_TOKEN = "proxy-test-metrics-token"


class DockerDNS:
    """Answers A queries for `web` with the replicas' addresses (UDP and TCP), and nothing else."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.udp.settimeout(0.5)
        self.tcp.settimeout(0.5)
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._serve_udp), threading.Thread(target=self._serve_tcp)]

    @staticmethod
    def answer(query: bytes) -> bytes:
        position, labels = 12, []
        while query[position]:
            length = query[position]
            labels.append(query[position + 1 : position + 1 + length].decode().lower())
            position += length + 1
        qtype = struct.unpack(">H", query[position + 1 : position + 3])[0]
        question = query[12 : position + 5]
        known = labels == ["web"]
        records = [
            b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton(address)
            for address in REPLICAS
            if known and qtype == 1
        ]
        flags = 0x8180 | (0 if known else 3)  # a response, recursion available; NXDOMAIN else
        header = struct.pack(">HHHHHH", struct.unpack(">H", query[:2])[0], flags, 1, len(records), 0, 0)
        return header + question + b"".join(records)

    def _serve_udp(self) -> None:
        while not self.stopped.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                query, peer = self.udp.recvfrom(4096)
                self.udp.sendto(self.answer(query), peer)

    def _serve_tcp(self) -> None:
        while not self.stopped.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                client, _ = self.tcp.accept()
                with client:
                    client.settimeout(2)
                    length = struct.unpack(">H", client.recv(2))[0]
                    query = b""
                    while len(query) < length:
                        query += client.recv(length - len(query))
                    reply = self.answer(query)
                    client.sendall(struct.pack(">H", len(reply)) + reply)

    def __enter__(self) -> DockerDNS:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.udp.close()
        self.tcp.close()


def _process(args: list[str], *, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen, log_path: Path, **kwargs: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2, **kwargs).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer:\n" + log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.2)


def _caddyfile(*, dns_port: int, web_port: int, http_port: int, https_port: int) -> str:
    text = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
    changes = {
        "\tadmin off\n": (
            f"\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n"
            "\tlocal_certs\n\tskip_install_trust\n"
        ),
        "\t\t\tname web\n": f"\t\t\tname web\n\t\t\tresolvers 127.0.0.1:{dns_port}\n",
        "\t\t\tport 8000\n": f"\t\t\tport {web_port}\n",
    }
    for old, new in changes.items():
        assert text.count(old) == 1, f"deploy/Caddyfile changed: {old!r} not found once"
        text = text.replace(old, new)
    return text


@dataclass
class Stack:
    base_url: str  # the proxy, as supporters reach it
    web_port: int
    replicas: dict[str, subprocess.Popen]
    logs: dict[str, Path]
    ca_file: str

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.base_url + path, verify=self.ca_file, timeout=30, **kwargs)

    def served(self, address: str) -> int:
        """Requests the replica at `address` has logged."""
        return self.logs[address].read_text(errors="replace").count('"GET /healthz"')


@pytest.fixture
def stack(transactional_db: Any, tmp_path: Path, settings: Any) -> Iterator[Stack]:
    if shutil.which("caddy") is None:
        pytest.fail("needs caddy on the PATH (Debian package 'caddy'; make test checks for it)")
    db = django_settings.DATABASES["default"]
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{connection.settings_dict['NAME']}"
    )
    run_id = os.environ.get("CAMPAIGN_TEST_RUN_ID", "proxy")
    env = production_env(
        database_url=database_url,
        redis_url=django_settings.REDIS_URL,
        run_id=f"proxy-{run_id}",
        extra={
            # As docker-compose.yml sets them for web behind its Caddy.
            "NUM_PROXIES": "1",
            "SECURE_SSL_REDIRECT": "true",
            "ALLOWED_HOSTS": "localhost",
            "HASH_SECRET": HASH_SECRET,
            "METRICS_TOKEN": METRICS_TOKEN,
            "THROTTLE_SIGN_MAX_RATE": "10000/minute",
        },
    )
    web_port = free_port()
    started: list[subprocess.Popen] = []
    replicas: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    with DockerDNS() as dns:
        try:
            for address in REPLICAS:
                logs[address] = tmp_path / f"web-{address}.log"
                replicas[address] = _process(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "campaign.wsgi:application",
                        "--bind",
                        f"{address}:{web_port}",
                        "--workers",
                        "1",
                        "--access-logfile",
                        "-",
                        "--access-logformat",
                        '"%(m)s %(U)s" %(s)s',
                    ],
                    env=env,
                    log_path=logs[address],
                )
                started.append(replicas[address])
            for address, process in replicas.items():
                _wait_for(
                    f"http://{address}:{web_port}/healthz",
                    process,
                    logs[address],
                    headers={"Host": "localhost"},
                )

            http_port, https_port = free_port(), free_port()
            caddyfile = tmp_path / "Caddyfile"
            caddyfile.write_text(
                _caddyfile(dns_port=dns.port, web_port=web_port, http_port=http_port, https_port=https_port)
            )
            home = tmp_path / "caddy-home"
            caddy_env = {
                "PATH": os.environ["PATH"],
                "HOME": str(home),
                "XDG_DATA_HOME": str(home / "data"),
                "XDG_CONFIG_HOME": str(home / "config"),
                "SITE_ADDRESS": "localhost",
            }
            caddy_log = tmp_path / "caddy.log"
            caddy = _process(
                ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
                env=caddy_env,
                log_path=caddy_log,
            )
            started.append(caddy)
            ca_file = home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
            deadline = time.monotonic() + 60
            while not ca_file.exists():
                if caddy.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("caddy did not start:\n" + caddy_log.read_text(errors="replace")[-3000:])
                time.sleep(0.2)
            base_url = f"https://localhost:{https_port}"
            _wait_for(base_url + "/healthz", caddy, caddy_log, verify=str(ca_file))
            settings.HASH_SECRET = HASH_SECRET  # the replicas' key, to compare their hashes
            yield Stack(base_url, web_port, replicas, logs, str(ca_file))
        finally:
            for process in reversed(started):
                _stop(process)


def test_the_proxy_balances_over_every_web_replica(stack: Stack) -> None:
    before = {address: stack.served(address) for address in REPLICAS}

    answers = [stack.get("/healthz") for _ in range(8)]

    assert [answer.status_code for answer in answers] == [200] * 8
    # Round robin over the addresses DNS gave for `web`: each replica takes its share.
    for address in REPLICAS:
        assert stack.served(address) - before[address] >= 3, address


def test_the_service_sees_the_client_address_and_https_through_the_proxy(stack: Stack) -> None:
    petition = PetitionFactory()

    answer = requests.post(
        f"{stack.base_url}/api/v1/petitions/{petition.slug}/signatures/",
        json=sign_payload(email="hinter-dem-proxy@example.org"),
        # Made up by the client: Caddy replaces both, so neither may reach the service.
        headers={"X-Forwarded-For": "198.51.100.66", "X-Forwarded-Proto": "http"},
        verify=stack.ca_file,
        timeout=30,
    )

    assert answer.status_code == 202, answer.text
    signature = Signature.objects.get(email="hinter-dem-proxy@example.org")
    # The client is this test on 127.0.0.1, the one address the proxy writes (NUM_PROXIES=1).
    assert signature.ip_hash == ip_hash_compute("127.0.0.1")
    assert signature.ip_hash != ip_hash_compute("198.51.100.66")
    # The scheme came from the proxy (SECURE_PROXY_SSL_HEADER): HSTS is sent, and no redirect
    # to https is asked for a request that already is https.
    health = stack.get("/healthz", allow_redirects=False)
    assert health.headers["Strict-Transport-Security"].startswith("max-age=")
    assert answer.headers["X-Request-ID"]


def test_metrics_stay_off_the_proxy(stack: Stack) -> None:
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    direct = requests.get(
        f"http://{REPLICAS[0]}:{stack.web_port}/metrics", headers={**bearer, "Host": "localhost"}, timeout=30
    )

    through_proxy = stack.get("/metrics", headers=bearer)

    assert direct.status_code == 200 and "campaign_http_requests_total" in direct.text
    assert through_proxy.status_code == 404
    assert "campaign_" not in through_proxy.text


def test_a_stopped_replica_costs_no_request(stack: Stack) -> None:
    _stop(stack.replicas[REPLICAS[1]])

    answers = [stack.get("/healthz").status_code for _ in range(6)]

    # The proxy's connection to the stopped replica is refused and it tries the other one.
    assert answers == [200] * 6
