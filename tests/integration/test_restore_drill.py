"""scripts/restore_drill.sh on the real test database with the real pg_dump and pg_restore: a
faithful dump restores with every row, a dump that loses rows fails the drill, and the scratch
database never stays behind."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection, connections

from campaign.audit import audit_record
from campaign.models import OutgoingEmail
from donations.models import Donation, Donor
from tests.conftest import REPO_ROOT
from tests.fixtures.petitions import PetitionFactory, SignatureFactory

# The rows must be committed: the script reads the database over its own connections.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCRIPT = REPO_ROOT / "scripts" / "restore_drill.sh"
SIGNATURES = 7


def _database_url() -> str:
    """The test database as DATABASE_URL would name it."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _drill(database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={
            "PATH": os.environ["PATH"],
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "DATABASE_URL": database_url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def _counts(output: str) -> dict[str, tuple[str, str]]:
    """table -> (source rows, restored rows), from the drill's table."""
    rows = re.findall(r"^public\.(\w+)\s+(\d+)\s+(\S+)", output, re.MULTILINE)
    return {table: (source, restored) for table, source, restored in rows}


def _scratch_database_gone(output: str) -> bool:
    name = re.search(r"scratch database (restore_drill_\w+)", output)
    assert name, output
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name[1]])
        return cursor.fetchone()[0] == 0


@pytest.fixture
def campaign_data(campaign: Any) -> Any:
    """A few rows in each main table; returns the campaign."""
    petition = PetitionFactory(campaign=campaign)
    SignatureFactory.create_batch(SIGNATURES, petition=petition)
    donor = Donor.objects.create(email="spender@example.org", email_normalized="spender@example.org")
    Donation.objects.create(campaign=campaign, donor=donor, amount=25, method="card", status="succeeded")
    OutgoingEmail.objects.create(kind="petitions.confirmation", to_email="signer0@example.org")
    audit_record(actor=None, action="export", object_type="petitions.signature", row_count=SIGNATURES)
    return campaign


def test_the_drill_restores_every_row_and_passes(campaign_data: Any) -> None:
    result = _drill(_database_url())

    assert result.returncode == 0, result.stdout + result.stderr
    counts = _counts(result.stdout)
    # The main tables are compared, with the rows made above in them.
    assert counts["petitions_signature"] == (str(SIGNATURES), str(SIGNATURES))
    for table in (
        "petitions_petition",
        "donations_donation",
        "campaign_outgoingemail",
        "campaign_auditentry",
    ):
        source, restored = counts[table]
        assert source == restored and int(source) >= 1, table
    assert "DIFFERENT" not in result.stdout
    assert "restore drill passed" in result.stdout
    assert _scratch_database_gone(result.stdout)


def test_the_drill_passes_while_supporters_go_on_signing(campaign_data: Any) -> None:
    # The service keeps writing during a drill in production. The source is counted in the
    # dump's own snapshot, so rows committed meanwhile (between the count and the dump, or
    # during it) are in neither, and cause no false alarm.
    petition = PetitionFactory(campaign=campaign_data)
    done = threading.Event()

    def sign_until_done() -> None:
        try:
            for _ in range(5000):  # bounded; the drill normally ends long before
                if done.is_set():
                    break
                SignatureFactory(petition=petition)
        finally:
            connections.close_all()

    writer = threading.Thread(target=sign_until_done)
    writer.start()
    try:
        result = _drill(_database_url())
    finally:
        done.set()
        writer.join()

    assert result.returncode == 0, result.stdout + result.stderr
    source, restored = _counts(result.stdout)["petitions_signature"]
    assert source == restored
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM petitions_signature")
        # Signatures were committed after the snapshot: the test did race the drill.
        assert cursor.fetchone()[0] > int(source)


def test_the_drill_fails_when_the_dump_loses_rows(campaign_data: Any) -> None:
    # A backup job that leaves out a table's data (a real pg_dump option, a real dump): the
    # restore lacks the signatures, and the drill must say so instead of passing.
    result = _drill(
        _database_url(), RESTORE_DRILL_PG_DUMP_OPTIONS="--exclude-table-data=public.petitions_signature"
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(
        rf"^public\.petitions_signature\s+{SIGNATURES}\s+0\s+DIFFERENT$", result.stdout, re.MULTILINE
    )
    assert "petitions_petition" in _counts(result.stdout)
    assert "1 table(s) differ" in result.stderr
    assert _scratch_database_gone(result.stdout)  # dropped on failure too


def test_the_drill_refuses_a_database_that_is_not_the_service(campaign_data: Any) -> None:
    other = re.sub(r"/[^/]+$", "/template1", _database_url())  # a database without the tables

    result = _drill(other)

    assert result.returncode == 2
    assert "petitions_petition is missing" in result.stderr
