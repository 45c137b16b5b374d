"""The one export writer: formula-safe CSV with a BOM, XLSX with typed text cells, streaming,
and the audit row."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from typing import Any

import pytest
from defusedxml import ElementTree
from django.core.signals import request_finished
from django.db import close_old_connections

from campaign.exports import (
    BOM,
    CHUNK_BYTES,
    cell_text,
    csv_copy_stream,
    csv_rows_stream,
    csv_safe,
    csv_safe_sql,
    export_response,
    timestamp_sql,
    xlsx_rows_stream,
)
from campaign.models import ExportLog

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_xlsx(data: bytes) -> dict[str, list[list[tuple[str, Any]]]]:
    """Sheet name -> rows of (cell type, value), read straight from the XML (no reader
    library), so the test sees what a spreadsheet sees: a cell of type "str" or "e" or with
    an <f> element would be a formula."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)
        ]
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    names = [sheet.get("name") for sheet in workbook.find("m:sheets", NS)]
    sheets = {}
    for index, name in enumerate(names, start=1):
        root = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{index}.xml"))
        rows = []
        for row in root.find("m:sheetData", NS):
            cells = []
            for cell in row:
                kind = cell.get("t", "n")
                if cell.find("m:f", NS) is not None:
                    cells.append(("formula", cell.find("m:f", NS).text))
                elif kind == "s":
                    cells.append(("text", shared[int(cell.find("m:v", NS).text)]))
                elif kind == "inlineStr":
                    cells.append(("text", "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))))
                elif kind == "b":
                    cells.append(("bool", cell.find("m:v", NS).text == "1"))
                else:
                    cells.append((kind, cell.find("m:v", NS).text))
            rows.append(cells)
        sheets[name] = rows
    return sheets


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


DANGEROUS = ['=HYPERLINK("http://evil")', "+49 30 123", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_it_prefixes_every_formula_start_with_a_quote(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Jürgen", "", "a=b", "mail@example.org", " =spaced", "'quoted"])
def test_it_leaves_harmless_text_alone(value):
    assert csv_safe(value) == value


def test_it_writes_python_values_as_the_database_path_does():
    moment = dt.datetime(2026, 3, 1, 13, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(False) == "false"
    assert cell_text(7) == "7"
    assert cell_text(moment) == "2026-03-01 13:05:09"  # Europe/Berlin, the campaign's zone
    assert cell_text("=1+1") == "'=1+1"


def test_the_csv_starts_with_a_bom_and_keeps_german_names_and_quoting_right():
    rows = [(1, "Jürgen", "Groß, Straße", 'Er sagte "Hallo"'), (2, "=cmd", None, "zeile\nzwei")]
    counter = [0]

    data = b"".join(csv_rows_stream(header=["id", "vorname", "name", "notiz"], rows=rows, counter=counter))

    assert data.startswith(BOM)
    assert parse_csv(data) == [
        ["id", "vorname", "name", "notiz"],
        ["1", "Jürgen", "Groß, Straße", 'Er sagte "Hallo"'],
        ["2", "'=cmd", "", "zeile\nzwei"],
    ]
    assert counter == [2]


def test_the_csv_is_produced_lazily_in_chunks():
    pulled = []

    def rows():
        for i in range(20_000):
            pulled.append(i)
            yield (i, "x" * 20)

    stream = csv_rows_stream(header=["id", "text"], rows=rows(), counter=[0])
    first = next(stream)

    # The header goes out before a single row is read.
    assert first == BOM + b"id,text\n"
    assert pulled == []
    second = next(stream)
    # One chunk holds about CHUNK_BYTES, not the whole export.
    assert CHUNK_BYTES <= len(second) < 2 * CHUNK_BYTES
    assert 0 < len(pulled) < 20_000


@pytest.mark.django_db
def test_the_database_writes_the_same_formula_safe_text():
    sql = (
        "SELECT v, "  # noqa: S608 - fixed test SQL, values are parameters
        + csv_safe_sql("v")
        + ", "
        + timestamp_sql("t")
        + " FROM (VALUES (%s, %s::timestamptz), (%s, %s::timestamptz)) AS x(v, t) ORDER BY 1"
    )
    moment = dt.datetime(2026, 3, 1, 12, 5, 9, 987654, tzinfo=dt.UTC)  # cut, not rounded
    counter = [0]

    data = b"".join(
        csv_copy_stream(
            header=["raw", "safe", "at"], sql=sql, params=["=1+1", moment, "Jürgen", moment], counter=counter
        )
    )

    assert parse_csv(data) == [
        ["raw", "safe", "at"],
        ["=1+1", "'=1+1", "2026-03-01 13:05:09"],
        ["Jürgen", "Jürgen", "2026-03-01 13:05:09"],
    ]
    assert counter == [2]


@pytest.mark.django_db
@pytest.mark.parametrize("value", DANGEROUS)
def test_the_database_escapes_each_formula_start(value):
    data = b"".join(
        csv_copy_stream(
            header=["v"],
            sql=f"SELECT {csv_safe_sql('v')} FROM (SELECT %s::text AS v) AS x",  # noqa: S608
            params=[value],
            counter=[0],
        )
    )

    assert parse_csv(data)[1] == [csv_safe(value)]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", " x", "12345", "#1", "'quoted", "?", "A", "\x08", "Äpfel"])
def test_the_database_leaves_other_starts_as_they_are(value):
    # Inside, at and around the character range csv_safe_sql tests before its list.
    data = b"".join(
        csv_copy_stream(
            header=["v"],
            sql=f"SELECT {csv_safe_sql('v')} FROM (SELECT %s::text AS v) AS x",  # noqa: S608
            params=[value],
            counter=[0],
        )
    )

    assert parse_csv(data)[1] == [csv_safe(value)] == [value]


def test_the_xlsx_writes_text_as_text_never_as_a_formula():
    rows = [(1, '=HYPERLINK("http://evil")', True, None), (2, "Jürgen", False, "http://example.org")]
    counter = [0]

    data = b"".join(
        xlsx_rows_stream(header=["id", "name", "ok", "url"], rows=rows, counter=counter, sheet_name="S")
    )

    sheet = read_xlsx(data)["S"]
    assert sheet[0] == [("text", "id"), ("text", "name"), ("text", "ok"), ("text", "url")]
    assert sheet[1] == [("n", "1"), ("text", '=HYPERLINK("http://evil")'), ("bool", True)]
    assert sheet[2] == [("n", "2"), ("text", "Jürgen"), ("bool", False), ("text", "http://example.org")]
    assert counter == [2]


def test_the_xlsx_continues_on_a_new_sheet_past_the_row_limit(monkeypatch):
    monkeypatch.setattr("campaign.exports.XLSX_MAX_ROWS", 3)

    data = b"".join(
        xlsx_rows_stream(header=["id"], rows=[(i,) for i in range(5)], counter=[0], sheet_name="S")
    )

    sheets = read_xlsx(data)
    assert [[v for _, v in row] for row in sheets["S"]] == [["id"], ["0"], ["1"]]
    assert [[v for _, v in row] for row in sheets["S 2"]] == [["id"], ["2"], ["3"]]
    assert [[v for _, v in row] for row in sheets["S 3"]] == [["id"], ["4"]]


@pytest.mark.django_db
def test_the_audit_row_gets_its_row_count_when_the_stream_ends(staff_user):
    response = export_response(
        user=staff_user,
        kind="tests.rows",
        format="csv",
        filters={"status": "confirmed"},
        filename="rows.csv",
        stream=lambda counter: csv_rows_stream(header=["id"], rows=[(1,), (2,), (3,)], counter=counter),
    )
    log = ExportLog.objects.get()

    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="rows.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    # Written when the export starts, so an export is on record even if it never finishes.
    assert (log.user, log.username, log.kind, log.format) == (staff_user, "staff", "tests.rows", "csv")
    assert log.filters == {"status": "confirmed"}
    assert (log.row_count, log.finished) == (None, False)

    body = b"".join(response.streaming_content)

    log.refresh_from_db()
    assert parse_csv(body) == [["id"], ["1"], ["2"], ["3"]]
    assert (log.row_count, log.finished) == (3, True)
    assert log.finished_at is not None


@pytest.mark.django_db
def test_an_export_broken_off_is_recorded_as_unfinished(staff_user):
    rows = ((i, "x" * 100) for i in range(10_000))
    response = export_response(
        user=staff_user,
        kind="tests.rows",
        format="csv",
        filters={},
        filename="rows.csv",
        stream=lambda counter: csv_rows_stream(header=["id", "text"], rows=rows, counter=counter),
    )
    content = iter(response.streaming_content)
    next(content)
    next(content)

    # The client went away; the server closes the response. (Without the request_finished
    # handler that would close this test's database connection.)
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)

    log = ExportLog.objects.get()
    assert log.finished is False
    assert 0 < log.row_count < 10_000


def test_it_never_escapes_negative_numbers():
    # Negative numbers are numbers, not text: only text cells are escaped.
    assert cell_text(-5) == "-5"
    assert cell_text(-1.5) == "-1.5"


@pytest.mark.django_db(transaction=True)  # autocommit, as in a request: the COPY is its own statement
def test_a_copy_broken_off_leaves_the_connection_usable():
    from django.db import connection

    stream = csv_copy_stream(
        header=["n", "text"],
        sql="SELECT g, repeat('x', 100) FROM generate_series(1, 200000) AS g",
        counter=[0],
    )
    next(stream)
    next(stream)

    stream.close()  # the client went away in the middle of the COPY

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
