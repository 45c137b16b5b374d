from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from officials.models import Constituency, Official, PostcodeArea


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_imports_the_sample_constituencies_postcodes_and_officials(db):
    assert "12 created" in _run("import_constituencies", "--sample")
    assert "16 imported" in _run("import_postcodes", "--sample")
    assert "5 created" in _run("import_officials", "--sample")

    mitte = Constituency.objects.get(parliament="bundestag", number=75)
    assert (mitte.name, mitte.state) == ("Berlin-Mitte", "Berlin")
    # The postcode that spans two constituencies keeps both, with their shares.
    shares = dict(
        PostcodeArea.objects.filter(country="DE", postcode="10119").values_list(
            "constituency__number", "share"
        )
    )
    assert shares == {75: Decimal("0.6200"), 76: Decimal("0.3800")}
    official = Official.objects.get(email="jonas.isar@bundestag.example.org")
    assert (official.language, official.constituency.number) == ("en", 220)
    assert Official.objects.get(email="kinderschutz@ministerium.example.org").constituency is None


def test_it_updates_instead_of_duplicating_on_a_second_import(db):
    _run("import_constituencies", "--sample")
    _run("import_postcodes", "--sample")

    assert "0 created, 12 updated" in _run("import_constituencies", "--sample")
    _run("import_postcodes", "--sample")
    assert Constituency.objects.count() == 12
    assert PostcodeArea.objects.count() == 16


def test_it_replaces_the_mapping_of_a_country_when_asked(db, tmp_path):
    _run("import_constituencies", "--sample")
    _run("import_postcodes", "--sample")
    path = tmp_path / "postcodes.csv"
    path.write_text("country;postcode;parliament;constituency_number;share\nde;101 15;bundestag;76;1\n")

    assert "1 imported, 16 deleted" in _run("import_postcodes", str(path), "--replace")
    area = PostcodeArea.objects.get()
    # Normalised: upper-case country, postcode without spaces.
    assert (area.country, area.postcode, area.constituency.number) == ("DE", "10115", 76)


def test_a_bad_row_names_its_line_and_imports_nothing(db, tmp_path):
    _run("import_constituencies", "--sample")
    path = tmp_path / "postcodes.csv"
    path.write_text(
        "country,postcode,parliament,constituency_number,share\n"
        "DE,10115,bundestag,75,1\n"
        "DE,10117,bundestag,999,1\n"
        "DE,10119,bundestag,75,1.5\n"
    )

    with pytest.raises(CommandError) as error:
        _run("import_postcodes", str(path))

    assert "line 3: unknown constituency bundestag 2021 999" in str(error.value)
    assert "line 4: share must be a number from 0 to 1" in str(error.value)
    assert PostcodeArea.objects.count() == 0


def test_a_missing_column_is_named(db, tmp_path):
    path = tmp_path / "officials.csv"
    path.write_text("name,mail\nA,a@example.org\n")

    with pytest.raises(CommandError, match="email"):
        _run("import_officials", str(path))


def test_an_official_with_an_invalid_address_is_refused(db, tmp_path):
    path = tmp_path / "officials.csv"
    path.write_text("name,email,language\nA,not-an-address,de\nB,b@example.org,fr\n")

    with pytest.raises(CommandError) as error:
        _run("import_officials", str(path))

    assert "line 2: email is not a valid address" in str(error.value)
    assert "line 3: language must be de or en" in str(error.value)
    assert Official.objects.count() == 0
