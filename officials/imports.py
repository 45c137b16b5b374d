"""CSV imports of the officials app: constituencies, postcode areas, officials."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from campaign.exceptions import ApplicationError
from officials.models import (
    Constituency,
    Official,
    PostcodeArea,
    postcode_normalize,
)

# --- CSV imports ----------------------------------------------------------------------------


def csv_rows_read(*, text: str, required: Sequence[str]) -> list[dict[str, str]]:
    """Parses CSV text (comma or semicolon separated, optional BOM) into dicts with stripped
    values; raises ApplicationError naming missing columns."""
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise ApplicationError(
            f"The CSV lacks the columns: {', '.join(missing)}.",
            fields={"file": [f"missing column {name}" for name in missing]},
        )
    rows = []
    for raw in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()})
    return rows


class _RowErrors:
    """Collects per-line errors so an import reports all of them at once and writes nothing."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, line: int, message: str) -> None:
        self.errors.setdefault(f"line {line}", []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApplicationError("The CSV has invalid rows; nothing was imported.", fields=self.errors)


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ConstituencyIndex:
    """Finds a constituency by (parliament, term, number). Numbers are only meaningful within
    a term, so a row without a term is accepted only while the parliament has a single term;
    otherwise it is an error, never a guess."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str, int], int] = {}
        self.terms: dict[str, set[str]] = {}
        for pk, parliament, term, number in Constituency.objects.values_list(
            "pk", "parliament", "term", "number"
        ):
            self.ids[(parliament, term, number)] = pk
            self.terms.setdefault(parliament, set()).add(term)

    def find(
        self, row: Mapping[str, str], *, number_column: str = "constituency_number"
    ) -> tuple[int | None, str]:
        """(constituency id, "") or (None, the reason)."""
        parliament = slugify(row.get("parliament", ""))
        raw_number = row.get(number_column, "")
        number = _int_or_none(raw_number)
        term = row.get("term", "")
        if "term" not in row or not term:
            terms = self.terms.get(parliament, set())
            if len(terms) > 1:
                return None, f"term is required: {parliament} has constituencies of several terms"
            term = next(iter(terms), "")
        found = self.ids.get((parliament, term, number)) if number is not None else None
        if found is None:
            label = f"{parliament} {term} {raw_number}" if term else f"{parliament} {raw_number}"
            return None, f"unknown constituency {label}"
        return found, ""


@transaction.atomic
def constituencies_import(*, rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Creates or updates constituencies by (parliament, term, number). Columns: parliament,
    number, name, state, and optionally term (e.g. 2025)."""
    errors = _RowErrors()
    parsed = []
    for line, row in enumerate(rows, start=2):
        parliament = slugify(row.get("parliament", ""))
        number = _int_or_none(row.get("number", ""))
        name = row.get("name", "")
        if not parliament:
            errors.add(line, "parliament is required")
        if number is None or number < 0:
            errors.add(line, "number must be a whole number")
        if not name:
            errors.add(line, "name is required")
        term = row.get("term", "")[:20]
        parsed.append((parliament, term, number, name[:200], row.get("state", "")[:100]))
    errors.raise_if_any()
    created = updated = 0
    for parliament, term, number, name, state in parsed:
        assert number is not None  # a row without a number was reported above
        _, was_created = Constituency.objects.update_or_create(
            parliament=parliament, term=term, number=number, defaults={"name": name, "state": state}
        )
        created += was_created
        updated += not was_created
    return {"created": created, "updated": updated}


@transaction.atomic
def postcode_areas_import(*, rows: Iterable[Mapping[str, str]], replace: bool = False) -> dict[str, int]:
    """Creates or updates (country, postcode, constituency, share) rows. Columns: country,
    postcode, parliament, constituency_number, share (0..1; default 1), and term when the
    parliament has several. A country holds one term's mapping per parliament: rows of other
    terms are deleted. With `replace`, the existing mapping of the imported countries and
    parliaments is deleted first."""
    errors = _RowErrors()
    index = ConstituencyIndex()
    term_of = {pk: term for (_, term, _), pk in index.ids.items()}
    areas: dict[tuple[str, str, int], Decimal] = {}
    scopes: set[tuple[str, str, str]] = set()
    for line, row in enumerate(rows, start=2):
        country = row.get("country", "").upper()
        postcode = postcode_normalize(row.get("postcode", ""))
        parliament = slugify(row.get("parliament", ""))
        if len(country) != 2 or not country.isalpha():
            errors.add(line, "country must be an ISO 3166-1 alpha-2 code")
        if not postcode or len(postcode) > 16:
            errors.add(line, "postcode is required (at most 16 characters)")
        constituency_id, problem = index.find(row)
        if constituency_id is None:
            errors.add(line, problem)
        try:
            share = Decimal(row.get("share") or "1").quantize(Decimal("0.0001"))
        except InvalidOperation:
            share = Decimal(-1)
        if not (0 <= share <= 1):
            errors.add(line, "share must be a number from 0 to 1")
        if constituency_id is not None:
            areas[(country, postcode, constituency_id)] = share
            scopes.add((country, parliament, term_of[constituency_id]))
    errors.raise_if_any()
    deleted = 0
    for country, parliament, term in scopes:
        existing = PostcodeArea.objects.filter(country=country, constituency__parliament=parliament)
        if not replace:
            existing = existing.exclude(constituency__term=term)
        deleted += existing.delete()[0]
    PostcodeArea.objects.bulk_create(
        [
            PostcodeArea(country=country, postcode=postcode, constituency_id=cid, share=share)
            for (country, postcode, cid), share in areas.items()
        ],
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["country", "postcode", "constituency"],
        update_fields=["share"],
    )
    return {"imported": len(areas), "deleted": deleted}


_TRUE = {"1", "true", "yes", "ja", "y", "x"}
_FALSE = {"0", "false", "no", "nein", "n", ""}


@transaction.atomic
def officials_import(*, rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Creates or updates officials by e-mail. Columns: name, email, and optionally salutation,
    role, organisation, parliament + constituency_number, language (de/en), active."""
    errors = _RowErrors()
    index = ConstituencyIndex()
    parsed = []
    for line, row in enumerate(rows, start=2):
        name = row.get("name", "")
        email = row.get("email", "").lower()
        if not name:
            errors.add(line, "name is required")
        try:
            validate_email(email)
        except ValidationError:
            errors.add(line, "email is not a valid address")
        constituency_id = None
        if row.get("constituency_number"):
            constituency_id, problem = index.find(row)
            if constituency_id is None:
                errors.add(line, problem)
        language = (row.get("language") or "de").lower()
        if language not in Official.Language.values:
            errors.add(line, "language must be de or en")
        active_raw = (row.get("active") or "true").lower()
        if active_raw not in _TRUE | _FALSE:
            errors.add(line, "active must be true or false")
        parsed.append(
            (
                email,
                {
                    "name": name[:200],
                    "salutation": row.get("salutation", "")[:200],
                    "role": row.get("role", "")[:200],
                    "organisation": row.get("organisation", "")[:200],
                    "constituency_id": constituency_id,
                    "language": language,
                    "active": active_raw in _TRUE,
                },
            )
        )
    errors.raise_if_any()
    created = updated = 0
    for email, values in parsed:
        _, was_created = Official.objects.update_or_create(email=email, defaults=values)
        created += was_created
        updated += not was_created
    return {"created": created, "updated": updated}
