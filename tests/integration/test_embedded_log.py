"""A clean start of the embedded default (`make run`) logs no warnings, also once its first
signer signs and confirms (in-process tasks take a producer from the in-memory broker)."""

from __future__ import annotations

import re
import time

import pytest

from tests.embedded import embedded_server_running

pytestmark = pytest.mark.integration

# A log record at WARNING or above, in the console format (`2026-12-03 12:00:00,000 WARNING ...`).
WARNING_RECORD = re.compile(r"^\d{4}-\d{2}-\d{2} [\d:,.]+ (WARNING|ERROR|CRITICAL) ", re.MULTILINE)


def test_a_clean_start_of_the_embedded_default_logs_no_warnings(tmp_path):
    slug = "stopstreamingexploitation-petition"
    with embedded_server_running(tmp_path) as server:
        assert server.get("/readyz")[0] == 200
        status, petition = server.get(f"/api/v1/petitions/{slug}/")
        assert status == 200
        status, _ = server.post(
            f"/api/v1/petitions/{slug}/signatures/",
            {
                "first_name": "Ruhig",
                "last_name": "Start",
                "email": "quiet-start@example.org",
                "postcode": "10115",
                "country": "DE",
                "privacy_consent": True,
                "consent_version": petition["consent_version"],
            },
        )
        assert status == 202
        deadline = time.monotonic() + 10
        while not (match := re.search(r"/signatures/confirm/\?token=([\w\-]+)", server.log())):
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        status, body = server.post("/api/v1/signatures/confirm/", {"token": match.group(1)})
        assert (status, body["status"]) == (200, "confirmed")
        log = server.log()

    assert "Starting development server" in log
    assert WARNING_RECORD.findall(log) == [], "\n".join(
        line for line in log.splitlines() if WARNING_RECORD.match(line)
    )
    assert "No hostname was supplied" not in log
