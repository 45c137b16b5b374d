"""The local run of `make run`: the development server on the embedded default.

When STRIPE_API_BASE points at a local address and nothing listens there, the Stripe stand-in
(localstripe, on loopback, state in memory) is started as a subprocess first and stopped on
exit, and its webhooks are pointed at this server, so the donate flow works without a Stripe
account.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class Command(BaseCommand):
    help = "Run the service locally on the embedded default (SQLite, in-process tasks)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        stand_in = self._stripe_stand_in_start()
        try:
            self._stripe_webhooks_point_here(options["addrport"])
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            if stand_in is not None and stand_in.poll() is None:
                stand_in.terminate()
                try:
                    stand_in.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    stand_in.kill()

    def _stripe_stand_in_start(self) -> subprocess.Popen | None:
        base = settings.STRIPE_API_BASE
        if not base:
            return None
        parsed = urlparse(base)
        host, port = parsed.hostname or "", parsed.port or 80
        if host not in LOCAL_HOSTS or _listening(host, port):
            return None
        self.stdout.write(f"Starting the local Stripe stand-in (localstripe) on {host}:{port}")
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.localstripe_server", "--host", host, "--port", str(port)]
        )
        deadline = time.monotonic() + 20
        while not _listening(host, port):
            if process.poll() is not None or time.monotonic() > deadline:
                self.stderr.write("The local Stripe stand-in did not start; donations will not work.")
                return process
            time.sleep(0.1)
        return process

    def _stripe_webhooks_point_here(self, addrport: str) -> None:
        """Asks a local stand-in to deliver its events to this server's webhook endpoint."""
        base = settings.STRIPE_API_BASE
        secret = (settings.STRIPE_WEBHOOK_SECRET or "").split(",")[0].strip()
        if not base or not secret or (urlparse(base).hostname or "") not in LOCAL_HOSTS:
            return
        import requests

        host, _, port = addrport.rpartition(":")
        url = f"http://{host or '127.0.0.1'}:{port}/api/v1/stripe/webhook/"
        with contextlib.suppress(requests.RequestException):
            requests.post(
                f"{base.rstrip('/')}/_config/webhooks/local-run",
                json={"url": url, "secret": secret},
                timeout=5,
            )
