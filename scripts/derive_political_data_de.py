"""Rebuilds officials/data/de/ from the upstream files listed in officials/data/de/SOURCES.md.

    python scripts/derive_political_data_de.py RAW_DIR [OUT_DIR]

RAW_DIR holds the upstream files byte for byte (their sha256 are in SOURCES.md):
`btw25_geometrie_wahlkreise_vg250_shp_geo.dbf`, `plz-wahlkreis.csv`, `btw25_kerg_vorlaeufig.csv`,
`mdb-data.json`, `germany-25-wahlkreise.geojson`. OUT_DIR defaults to officials/data/de/. Plain Python, no Django: run it after
an election or a new member list, then `python manage.py load_political_data de`.
"""

from __future__ import annotations

import csv
import json
import struct
import sys
from collections import Counter, defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

TERM = "2025"  # the Wahlkreise of the 2025 election, i.e. of the 21st Bundestag
PARLIAMENT = "bundestag"
OFFICE_ADDRESS = "Deutscher Bundestag, Platz der Republik 1, 11011 Berlin"
# The party names of the results file -> the parliamentary group names of the member list.
PARTY_GROUPS = {
    "Christlich Demokratische Union Deutschlands": "CDU/CSU",
    "Christlich-Soziale Union in Bayern e.V.": "CDU/CSU",
    "Sozialdemokratische Partei Deutschlands": "SPD",
    "BÜNDNIS 90/DIE GRÜNEN": "GRÜNE",
    "Alternative für Deutschland": "AfD",
    "Die Linke": "DIE LINKE",
}


def dbf_rows(path: Path) -> list[dict[str, str]]:
    """The records of a dBase III file (the attribute table of a shapefile)."""
    data = path.read_bytes()
    count, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields = []
    for offset in range(32, header_len - 1, 32):
        name = data[offset : offset + 11].split(b"\0", 1)[0].decode("ascii")
        fields.append((name, data[offset + 16]))
    rows = []
    for index in range(count):
        record = data[header_len + index * record_len : header_len + (index + 1) * record_len]
        if record[:1] == b"*":
            continue  # deleted record
        position, row = 1, {}
        for name, length in fields:
            row[name] = record[position : position + length].decode("utf-8").strip()
            position += length
        rows.append(row)
    return rows


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on a projected ring (iterative, so long rings do not recurse deeply)."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm:
                distance = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            else:
                distance = ((px - x1) ** 2 + (py - y1) ** 2) ** 0.5
            if distance > worst:
                worst, index = distance, i
        if worst > tolerance and index > 0:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def map_geometry(path: Path, tolerance: float = 0.6) -> dict[str, object]:
    """The Wahlkreise as simplified SVG paths in a plain projection (longitude scaled by the
    cosine of 51°N), 100 units a degree of latitude, rounded to 0.1 unit."""
    data = json.loads(path.read_text(encoding="utf-8"))
    scale_x, scale = 100 * 0.6293, 100.0  # cos(51°)
    west, north = 5.8, 55.1
    shapes = []
    max_x = max_y = 0.0
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        parts = []
        for polygon in polygons:
            for ring in polygon:
                projected = [((lon - west) * scale_x, (north - lat) * scale) for lon, lat in ring]
                simple = _simplify(projected, tolerance)
                if len(simple) < 4:
                    continue  # an islet smaller than the tolerance
                max_x = max(max_x, *(x for x, _ in simple))
                max_y = max(max_y, *(y for _, y in simple))
                parts.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in simple[:-1]) + "Z")
        props = feature["properties"]
        shapes.append({"number": int(props["WKR_NR"]), "state": props["LAND_NAME"], "path": "".join(parts)})
    shapes.sort(key=lambda shape: int(str(shape["number"])))
    borders = []
    for state, lines in sorted(_land_borders(data).items()):
        parts = []
        for line in lines:
            projected = [((lon - west) * scale_x, (north - lat) * scale) for lon, lat in line]
            simple = _simplify(projected, tolerance)
            if len(simple) >= 2:
                parts.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in simple))
        borders.append({"state": state, "path": "".join(parts)})
    return {"width": round(max_x + 1), "height": round(max_y + 1), "wahlkreise": shapes, "borders": borders}


def _land_borders(data: dict) -> dict[str, list[list[tuple[float, float]]]]:
    """Each Land's outline: the edges of its Wahlkreise that no other Wahlkreis of the same
    Land shares (the neighbouring polygons share their vertices exactly), chained into lines."""
    edges: dict[str, Counter[tuple[tuple[float, float], tuple[float, float]]]] = defaultdict(Counter)
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        state = feature["properties"]["LAND_NAME"]
        for polygon in polygons:
            for ring in polygon:
                points = [(round(lon, 6), round(lat, 6)) for lon, lat in ring]
                for a, b in zip(points, points[1:], strict=False):
                    if a != b:
                        edges[state][(min(a, b), max(a, b))] += 1
    result: dict[str, list[list[tuple[float, float]]]] = {}
    for state, counts in edges.items():
        neighbours: dict[tuple[float, float], list[tuple[float, float]]] = defaultdict(list)
        for (a, b), n in counts.items():
            if n == 1:
                neighbours[a].append(b)
                neighbours[b].append(a)
        lines = []
        while neighbours:
            start = next(iter(neighbours))
            line, current = [start], start
            while neighbours.get(current):
                following = neighbours[current].pop()
                neighbours[following].remove(current)
                for point in (current, following):
                    if not neighbours.get(point):
                        neighbours.pop(point, None)
                line.append(following)
                current = following
            neighbours.pop(start, None) if not neighbours.get(start) else None
            if len(line) > 1:
                lines.append(line)
        result[state] = lines
    return result


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{path.name}: {len(rows)} rows")


def results_rows(path: Path) -> list[list[str]]:
    """The Wahlkreis rows (three-digit number) of the results file."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return [
        fields for fields in (line.split(";") for line in lines) if len(fields) > 3 and len(fields[0]) == 3
    ]


def main(raw: Path, out: Path) -> None:
    wahlkreise = sorted(
        dbf_rows(raw / "btw25_geometrie_wahlkreise_vg250_shp_geo.dbf"), key=lambda r: int(r["WKR_NR"])
    )
    land_of = {int(r["WKR_NR"]): r["LAND_NAME"] for r in wahlkreise}
    name_of = {int(r["WKR_NR"]): r["WKR_NAME"] for r in wahlkreise}
    write_csv(
        out / "wahlkreise_2025.csv",
        ["parliament", "term", "number", "name", "state"],
        [[PARLIAMENT, TERM, int(r["WKR_NR"]), r["WKR_NAME"], r["LAND_NAME"]] for r in wahlkreise],
    )
    laender = sorted({(int(r["LAND_NR"]), r["LAND_NAME"]) for r in wahlkreise})
    write_csv(out / "laender.csv", ["number", "name"], [[f"{n:02d}", name] for n, name in laender])

    shares: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    with (raw / "plz-wahlkreis.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            shares[row["plz"]].append((int(row["wahlkreis_nr"]), Decimal(row["overlap"])))
    postcode_rows: list[list[object]] = []
    for plz in sorted(shares):
        total = sum(share for _, share in shares[plz])
        for number, share in sorted(shares[plz]):
            # Normalised so the shares of a postcode add up to 1, rounded to 4 places.
            rounded = (share / total).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
            postcode_rows.append(["DE", plz, PARLIAMENT, TERM, number, rounded])
    write_csv(
        out / "postcodes_2025.csv",
        ["country", "postcode", "parliament", "term", "constituency_number", "share"],
        postcode_rows,
    )

    seat_party = {int(fields[0]): fields[3] for fields in results_rows(raw / "btw25_kerg_vorlaeufig.csv")}
    no_seat = sorted(number for number, party in seat_party.items() if party == "–")
    members = json.loads((raw / "mdb-data.json").read_text(encoding="utf-8"))
    member_rows: list[list[object]] = []
    links: Counter[str] = Counter()
    for member in sorted(members, key=lambda m: int(m["id"])):
        number = int(member["wahlkreisId"] or 0)
        group = member["party"]
        if number and PARTY_GROUPS.get(seat_party.get(number, "")) == group:
            mandate = "direct"  # the member's group holds this Wahlkreis's direct seat
        else:
            mandate = "list"
        state = land_of.get(number, "") if number else ""
        links[mandate if number else "list without Wahlkreis"] += 1
        member_rows.append(
            [
                member["id"],
                member["name"],
                group,
                mandate,
                state,
                number or "",
                member["email"],
                OFFICE_ADDRESS,
            ]
        )
    write_csv(
        out / "abgeordnete_wp21.csv",
        [
            "bundestag_id",
            "name",
            "party",
            "mandate",
            "state",
            "constituency_number",
            "email",
            "office_address",
        ],
        member_rows,
    )
    print(dict(links))
    geometry = map_geometry(raw / "germany-25-wahlkreise.geojson")
    (out / "wahlkreise_2025_map.json").write_text(
        json.dumps(geometry, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(f"wahlkreise_2025_map.json: {len(geometry['wahlkreise'])} shapes")
    served = Counter(int(r[5]) for r in member_rows if r[3] == "list" and r[5])
    write_csv(
        out / "wahlkreise_ohne_direktmandat_2025.csv",
        ["number", "name", "state", "list_members_looking_after"],
        [[n, name_of[n], land_of[n], served.get(n, 0)] for n in no_seat],
    )


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    default_out = Path(__file__).resolve().parents[1] / "officials" / "data" / "de"
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) == 3 else default_out)
