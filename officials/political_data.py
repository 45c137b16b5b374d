"""Reading and checking the vendored political data of a country (`officials/data/<code>/`):
its states, one term's constituencies, the postcode mapping and the members of parliament.

`political_data_read` checks every file before anything is written and names the lines of
every problem; `officials.political_data_loading` writes what it returns.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from campaign.exceptions import ApplicationError
from officials.imports import _int_or_none, csv_rows_read

DATA_DIR = Path(__file__).resolve().parent / "data"
SHARE_TOLERANCE = Decimal("0.01")


def political_data_dir(*, country: str) -> Path:
    """The vendored data of a country, e.g. `officials/data/de/`."""
    code = country.lower()
    path = DATA_DIR / code
    if not re.fullmatch(r"[a-z]{2}", code) or not (path / "manifest.json").is_file():
        raise ApplicationError(f"No political data for {country!r}.", fields={"country": ["unknown country"]})
    return path


@dataclass
class MemberRow:
    external_id: str
    name: str
    party: str
    mandate: str
    state: str
    constituency_number: int | None
    email: str
    office_address: str
    salutation: str


@dataclass
class PoliticalData:
    """The checked contents of one country's data directory."""

    manifest: dict[str, Any]
    states: list[str] = field(default_factory=list)
    # number -> (name, state)
    constituencies: dict[int, tuple[str, str]] = field(default_factory=dict)
    # (postcode, constituency number) -> share
    postcodes: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    members: list[MemberRow] = field(default_factory=list)
    without_direct_seat: list[int] = field(default_factory=list)

    @property
    def country(self) -> str:
        return str(self.manifest["country"]).upper()

    @property
    def parliament(self) -> str:
        return str(self.manifest["parliament"])

    @property
    def term(self) -> str:
        return str(self.manifest["term"])

    @property
    def id_prefix(self) -> str:
        return str(self.manifest.get("id_prefix") or self.parliament)


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, file: str, line: int | None, message: str) -> None:
        key = f"{file} line {line}" if line is not None else file
        self.fields.setdefault(key, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ApplicationError("The data files have errors; nothing was loaded.", fields=self.fields)


def member_salutation(name: str) -> str:
    """The German greeting line when the source has none. The member list carries no gender,
    so the greeting is the neutral form with the full name (including any title)."""
    return f"Guten Tag {name}"


def _rows(directory: Path, name: str, required: list[str], problems: _Problems) -> list[dict[str, str]]:
    try:
        text = (directory / name).read_text(encoding="utf-8-sig")
        return csv_rows_read(text=text, required=required)
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(name, None, f"cannot read the file: {exc}")
    except ApplicationError as exc:
        for messages in (exc.fields or {}).values():
            for message in messages:
                problems.add(name, None, message)
    return []


def _read_states(data: PoliticalData, directory: Path, problems: _Problems) -> None:
    name = data.manifest["files"]["states"]
    for line, row in enumerate(_rows(directory, name, ["number", "name"], problems), start=2):
        if not row["name"]:
            problems.add(name, line, "name is required")
        elif row["name"] in data.states:
            problems.add(name, line, f"state {row['name']} appears twice")
        else:
            data.states.append(row["name"])


def _read_constituencies(data: PoliticalData, directory: Path, problems: _Problems) -> None:
    name = data.manifest["files"]["constituencies"]
    required = ["parliament", "term", "number", "name", "state"]
    for line, row in enumerate(_rows(directory, name, required, problems), start=2):
        number = _int_or_none(row["number"])
        if row["parliament"] != data.parliament or row["term"] != data.term:
            problems.add(name, line, f"parliament and term must be {data.parliament} {data.term}")
        if number is None or number < 1:
            problems.add(name, line, "number must be a positive whole number")
        elif number in data.constituencies:
            problems.add(name, line, f"constituency {number} appears twice")
        if not row["name"]:
            problems.add(name, line, "name is required")
        if row["state"] not in data.states:
            problems.add(name, line, f"unknown state {row['state']!r}")
        if number is not None and number >= 1:
            data.constituencies.setdefault(number, (row["name"][:200], row["state"][:100]))


def _read_postcodes(data: PoliticalData, directory: Path, problems: _Problems) -> None:
    name = data.manifest["files"]["postcodes"]
    pattern = re.compile(data.manifest.get("postcode_pattern") or r"^[0-9A-Z]{1,16}$")
    required = ["country", "postcode", "parliament", "term", "constituency_number", "share"]
    sums: dict[str, Decimal] = defaultdict(Decimal)
    first_line: dict[str, int] = {}
    for line, row in enumerate(_rows(directory, name, required, problems), start=2):
        postcode = row["postcode"]
        number = _int_or_none(row["constituency_number"])
        if row["country"].upper() != data.country:
            problems.add(name, line, f"country must be {data.country}")
        if row["parliament"] != data.parliament or row["term"] != data.term:
            problems.add(name, line, f"parliament and term must be {data.parliament} {data.term}")
        if not pattern.match(postcode):
            problems.add(name, line, f"postcode {postcode!r} is malformed")
        if number not in data.constituencies:
            problems.add(name, line, f"unknown constituency {row['constituency_number']!r}")
        try:
            share = Decimal(row["share"])
        except InvalidOperation:
            share = Decimal(-1)
        if not (0 < share <= 1):
            problems.add(name, line, "share must be a number above 0, at most 1")
        if number is None:
            continue
        if (postcode, number) in data.postcodes:
            problems.add(name, line, f"postcode {postcode} and constituency {number} appear twice")
        data.postcodes[(postcode, number)] = share.quantize(Decimal("0.0001"))
        sums[postcode] += share
        first_line.setdefault(postcode, line)
    for postcode, total in sums.items():
        if abs(total - 1) > SHARE_TOLERANCE:
            problems.add(
                name, first_line[postcode], f"the shares of postcode {postcode} add up to {total}, not 1"
            )


def _read_members(data: PoliticalData, directory: Path, problems: _Problems) -> None:
    name = data.manifest["files"]["officials"]
    id_column = f"{data.id_prefix}_id"
    required = [id_column, "name", "party", "mandate", "state", "constituency_number", "email"]
    seen_ids: set[str] = set()
    seen_emails: set[str] = set()
    direct: dict[int, int] = {}
    for line, row in enumerate(_rows(directory, name, required, problems), start=2):
        external_id = row[id_column]
        email = row["email"].lower()
        number = _int_or_none(row["constituency_number"]) if row["constituency_number"] else None
        if not external_id or external_id in seen_ids:
            problems.add(name, line, f"{id_column} is required and unique")
        if not row["name"]:
            problems.add(name, line, "name is required")
        if row["mandate"] not in {"direct", "list"}:
            problems.add(name, line, "mandate must be direct or list")
        if row["state"] and row["state"] not in data.states:
            problems.add(name, line, f"unknown state {row['state']!r}")
        if row["constituency_number"] and number not in data.constituencies:
            problems.add(name, line, f"unknown constituency {row['constituency_number']!r}")
        if row["mandate"] == "direct":
            if number is None:
                problems.add(name, line, "a directly elected member needs a constituency_number")
            elif number in direct:
                problems.add(
                    name, line, f"constituency {number} already has a direct member (line {direct[number]})"
                )
            else:
                direct[number] = line
        try:
            validate_email(email)
        except ValidationError:
            problems.add(name, line, "email is not a valid address")
        if email in seen_emails:
            problems.add(name, line, f"email {email} appears twice")
        seen_ids.add(external_id)
        seen_emails.add(email)
        data.members.append(
            MemberRow(
                external_id=f"{data.id_prefix}:{external_id}",
                name=row["name"][:200],
                party=row["party"][:200],
                mandate=row["mandate"],
                state=row["state"][:100],
                constituency_number=number,
                email=email,
                office_address=row.get("office_address", "")[:300],
                salutation=(row.get("salutation") or member_salutation(row["name"]))[:200],
            )
        )
    without = data.manifest["files"].get("without_direct_seat")
    if not without:
        return
    for line, row in enumerate(_rows(directory, without, ["number", "name", "state"], problems), start=2):
        number = _int_or_none(row["number"])
        if number not in data.constituencies:
            problems.add(without, line, f"unknown constituency {row['number']!r}")
        elif number in direct:
            problems.add(without, line, f"constituency {number} has a direct member (line {direct[number]})")
        else:
            data.without_direct_seat.append(number)


def political_data_read(*, directory: Path) -> PoliticalData:
    """Reads and checks every file of a data directory; raises ApplicationError naming the
    file and line of every problem (then nothing may be written)."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        for key in ("country", "parliament", "term", "files"):
            manifest[key]  # noqa: B018 - a missing key is reported below
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ApplicationError(
            "The data directory has no valid manifest.json.", fields={"manifest.json": [str(exc)]}
        ) from exc
    data = PoliticalData(manifest=manifest)
    problems = _Problems()
    _read_states(data, directory, problems)
    _read_constituencies(data, directory, problems)
    _read_postcodes(data, directory, problems)
    _read_members(data, directory, problems)
    reachable = {number for _, number in data.postcodes}
    for number in sorted(set(data.constituencies) - reachable):
        problems.add(data.manifest["files"]["postcodes"], None, f"no postcode reaches constituency {number}")
    problems.raise_if_any()
    return data


def political_data_attribution(*, terms: Iterable[tuple[str, str]]) -> str:
    """The attribution line the licences require for the shipped data of these (parliament,
    term) pairs (empty when none comes from shipped data); shown under every table, map and
    report built on it."""
    wanted = set(terms)
    lines = []
    for manifest_path in sorted(DATA_DIR.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if (manifest.get("parliament"), manifest.get("term")) in wanted and manifest.get("attribution"):
            lines.append(str(manifest["attribution"]))
    return " ".join(lines)
