"""Shared fixtures: API clients, a real SMTP server (aiosmtpd), real Celery worker processes on
the real Redis broker, and the helpers to point the app at a broker that is down."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.processes import die_with_parent

REPO_ROOT = Path(__file__).resolve().parent.parent

# Fixtures of the feature areas, one module each.
pytest_plugins = [
    "tests.fixtures.petitions",
    "tests.fixtures.localstripe",
    "tests.fixtures.browser",
    "tests.fixtures.officials",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Polls until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)


# --- API clients ----------------------------------------------------------------------------


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def _otp_session_on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # client.force_login() calls django.contrib.auth.login() on a request without a `user`,
    # where django-otp's own receiver cannot persist the device; do it here, as its
    # OTP-aware login form would.
    from django_otp import DEVICE_ID_SESSION_KEY

    device = getattr(user, "otp_device", None)
    if device is not None and getattr(request, "session", None) is not None:
        request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id


def _connect_otp_session_on_login() -> None:
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(_otp_session_on_login, dispatch_uid="tests-otp-session-on-login")


def pytest_configure(config: Any) -> None:
    _connect_otp_session_on_login()


def pytest_unconfigure(config: Any) -> None:
    """Removes this run's export files (settings_test puts MEDIA_ROOT in a folder of the run)."""
    import shutil

    from django.conf import settings

    if settings.configured and "campaign-test-media-" in str(settings.MEDIA_ROOT):
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


def otp_device_attach(user: Any) -> Any:
    """Gives `user` a confirmed second factor and marks the object as verified with it, so a
    `client.force_login(user)` yields a session verified with the second factor (django-otp
    persists `user.otp_device` on login)."""
    from django_otp.plugins.otp_static.models import StaticDevice

    user.otp_device = StaticDevice.objects.create(user=user, name="test", confirmed=True)
    return user


def staff_user_create(django_user_model: Any, username: str, *roles: str) -> Any:
    """A staff account holding the named roles (campaign/permissions.py ROLES), with a second
    factor its logins in tests are verified with."""
    from django.contrib.auth.models import Group

    from campaign.permissions import staff_roles_ensure

    staff_roles_ensure()  # a flushed (transactional) test database has lost the migration's groups
    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@example.org", password="staff-pass", is_staff=True
    )
    user.groups.add(*Group.objects.filter(name__in=roles))
    return otp_device_attach(user)


def staff_login(client: Any, user: Any) -> Any:
    """Logs a browser client in as `user` with a session verified by the second factor (the
    admin and the staff pages accept no other)."""
    if getattr(user, "otp_device", None) is None:
        otp_device_attach(user)
    client.force_login(user)
    return client


def staff_api_client(user: Any) -> APIClient:
    """An API client with a staff token of `user` (issued as from a verified session)."""
    from campaign.staff_tokens import staff_token_create

    _, key = staff_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def staff_user(django_user_model: Any) -> Any:
    """A staff account holding every role, with a second factor."""
    from campaign.permissions import ROLES

    return staff_user_create(django_user_model, "staff", *ROLES)


@pytest.fixture
def staff_client(staff_user: Any) -> APIClient:
    """The staff API with a token of `staff_user`."""
    return staff_api_client(staff_user)


@pytest.fixture
def campaign(db: Any) -> Any:
    from tests.factories import CampaignFactory

    return CampaignFactory()


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class SMTPServer:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    # Recipients whose delivery hangs (to simulate a worker killed mid-send).
    hang_for: set[str] = field(default_factory=set)
    hanging: int = 0
    # Recipients whose message is taken and then the connection dropped without an answer.
    drop_after_data_for: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Any = None

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """The SMTP server stopped (connections refused) until the block ends."""
        from aiosmtpd.controller import Controller

        self.controller.stop()
        try:
            yield
        finally:
            # A stopped controller cannot start again (its event loop is closed): a new one.
            self.controller = Controller(self.controller.handler, hostname=self.host, port=self.port)
            self.controller.start()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.hang_for.clear()
            self.drop_after_data_for.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 20.0) -> list[EmailMessage]:
        return wait_until(lambda: len(self.to(address)) >= count and self.to(address), timeout=timeout)

    @property
    def env(self) -> dict[str, str]:
        return {"EMAIL_HOST": self.host, "EMAIL_PORT": str(self.port), "EMAIL_URL": ""}


class _CollectingHandler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp_server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        recipients = {r.lower() for r in envelope.rcpt_tos}
        if recipients & self.server.hang_for:
            self.server.hanging += 1
            await asyncio.sleep(60)  # the client gets killed meanwhile
            self.server.hanging -= 1
            return "451 Try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.server.lock:
            self.server.messages.append(message)  # type: ignore[arg-type]
        if recipients & self.server.drop_after_data_for:
            smtp_server.transport.close()  # accepted, but the client never hears so
            return "421 Closing"
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server_session() -> Iterator[SMTPServer]:
    from aiosmtpd.controller import Controller

    # The controller cannot bind port 0, so pick a free port first.
    server = SMTPServer(host="127.0.0.1", port=free_port())
    controller = Controller(_CollectingHandler(server), hostname=server.host, port=server.port)
    server.controller = controller
    controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def smtp_server(smtp_server_session: SMTPServer, settings: Any) -> Iterator[SMTPServer]:
    """The session's SMTP server, emptied; this process's mail goes there too."""
    smtp_server_session.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server_session.host
    settings.EMAIL_PORT = smtp_server_session.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    from campaign import emails

    emails._close_connection()
    yield smtp_server_session
    emails._close_connection()
    smtp_server_session.clear()


# --- Celery workers -------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def kill(self) -> None:
        """SIGKILL the worker and its pool children: a crash, no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _worker_env(extra: dict[str, str]) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    # The worker must use the test database this run created, not the configured one.
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
    if db.get("PASSWORD"):
        database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "campaign.settings_test",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    return env


@pytest.fixture(scope="session")
def start_worker_session(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts real `celery worker` processes on the real Redis broker and this run's queue,
    stopped when the run ends (the one session worker)."""
    started: list[WorkerProcess] = []

    def start(
        *,
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        name: str = "w",
        queues: str = "",
        loglevel: str = "INFO",
    ) -> WorkerProcess:
        from django.conf import settings

        log_path = tmp_path_factory.mktemp("worker") / f"{name}.log"
        with django_db_blocker.unblock():
            worker_env = _worker_env(env or {})
        log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "campaign",
                "worker",
                f"--loglevel={loglevel}",
                f"--concurrency={concurrency}",
                "--pool=prefork",
                f"--queues={queues or settings.CELERY_TASK_DEFAULT_QUEUE}",
                f"--hostname={name}-{settings.RUN_ID}-{len(started)}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO_ROOT,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        worker = WorkerProcess(process=process, log_path=log_path)
        started.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.2)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_worker(
    start_worker_session: Callable[..., WorkerProcess],
) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts real workers for one test and stops them when it ends: a worker left running
    would take later tests' tasks (and mail them to this test's SMTP server, gone by then)."""
    started: list[WorkerProcess] = []

    def start(**options: Any) -> WorkerProcess:
        worker = start_worker_session(**options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def celery_worker_session(
    start_worker_session: Callable[..., WorkerProcess], smtp_server_session: SMTPServer
) -> WorkerProcess:
    return start_worker_session(env=smtp_server_session.env, name="main")


@pytest.fixture
def celery_worker(
    celery_worker_session: WorkerProcess, smtp_server: SMTPServer, transactional_db: Any
) -> Iterator[WorkerProcess]:
    """A running real worker sending to the test SMTP server. Tests that use it see committed
    data only, so they run on transactional_db."""
    if celery_worker_session.process.poll() is not None:
        pytest.fail(f"the session worker died:\n{celery_worker_session.log()[-3000:]}")
    yield celery_worker_session


@contextlib.contextmanager
def broker_unreachable() -> Iterator[None]:
    """Points this process's Celery app at a closed port, as if Redis were down."""
    from campaign.celery import app

    old_url = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = old_url
        app._pool = None
        app.amqp._producer_pool = None
