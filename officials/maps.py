"""Server-rendered SVG maps of the signatures by Land or by Wahlkreis, from the simplified
geometry shipped in `officials/data/de/wahlkreise_2025_map.json` (no tiles, no third-party
requests). Each map carries the attribution the data's licences require."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from html import escape
from typing import Any

from officials.political_data import political_data_dir

EMPTY = "#ececec"
LOW = (253, 224, 228)
HIGH = (196, 30, 58)


@lru_cache(maxsize=4)
def map_geometry_get(country: str = "de") -> dict[str, Any]:
    directory = political_data_dir(country=country)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    geometry = json.loads((directory / manifest["files"]["map"]).read_text(encoding="utf-8"))
    geometry["attribution"] = manifest.get("attribution", "")
    geometry["parliament"] = manifest["parliament"]
    geometry["term"] = manifest["term"]
    return geometry


def _shade(value: int, peak: int) -> str:
    if value <= 0 or peak <= 0:
        return EMPTY
    # Square-root scale: one large city should not wash out every other region.
    ratio = (value / peak) ** 0.5
    red, green, blue = (round(low + (high - low) * ratio) for low, high in zip(LOW, HIGH, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


def _number(value: int, locale: str) -> str:
    return f"{value:,}".replace(",", "." if locale == "de" else ",")


def region_map_svg(
    *,
    counts: Mapping[Any, int],
    level: str = "state",
    title: str = "",
    locale: str = "de",
    country: str = "de",
    tooltips: bool = True,
) -> str:
    """An SVG map: with `level="state"` the Länder shaded by `counts` (Land name -> count),
    with `level="constituency"` the Wahlkreise (number -> count). `tooltips=False` leaves out
    the per-region titles (for the PDF, which has no tooltips)."""
    geometry = map_geometry_get(country)
    width, height = int(geometry["width"]), int(geometry["height"])
    peak = max(counts.values(), default=0)
    footer = 46
    label = "Unterschriften" if locale == "de" else "signatures"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + footer}" '
        f'width="{width}" height="{height + footer}" role="img" aria-label="{escape(title)}">',
    ]
    if tooltips:
        parts.append(f"<title>{escape(title)}</title>")
    groups: dict[Any, list[str]] = {}
    for shape in geometry["wahlkreise"]:
        key = shape["state"] if level == "state" else shape["number"]
        groups.setdefault(key, []).append(shape["path"])
    for key, paths in groups.items():
        value = int(counts.get(key, 0))
        name = key if level == "state" else f"Wahlkreis {key}"
        fill = _shade(value, peak)
        # The stroke in the fill colour hides the inner Wahlkreis lines of a Land map.
        stroke, stroke_width = (fill, "1") if level == "state" else ("#ffffff", "0.6")
        parts.append(
            f'<g fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}" data-region="{escape(str(key))}">'
            + (f"<title>{escape(str(name))}: {_number(value, locale)} {label}</title>" if tooltips else "")
            + "".join(f'<path d="{path}"/>' for path in paths)
            + "</g>"
        )
    if level == "state":
        # The Länder outlines, drawn over the fills (the Wahlkreis lines inside stay hidden).
        outlines = "".join(f'<path d="{border["path"]}"/>' for border in geometry.get("borders", []))
        parts.append(
            f'<g fill="none" stroke="#ffffff" stroke-width="1.2" stroke-linejoin="round">{outlines}</g>'
        )
    legend_y = height + 8
    parts.append(
        f'<rect x="10" y="{legend_y}" width="14" height="10" fill="{_shade(1, 1)}"/>'
        f'<text x="28" y="{legend_y + 9}" font-size="10" font-family="sans-serif">'
        f"{_number(peak, locale)} {label}</text>"
        f'<rect x="140" y="{legend_y}" width="14" height="10" fill="{EMPTY}"/>'
        f'<text x="158" y="{legend_y + 9}" font-size="10" font-family="sans-serif">0</text>'
    )
    attribution = str(geometry["attribution"])
    # Two lines, broken at the "; " nearest the middle.
    breaks = [i for i in range(len(attribution)) if attribution.startswith("; ", i)] or [len(attribution)]
    cut = min(breaks, key=lambda i: abs(i - len(attribution) // 2)) + 1
    first, second = escape(attribution[:cut].strip()), escape(attribution[cut:].strip())
    parts.append(
        f'<text x="10" y="{height + 34}" font-size="6" font-family="sans-serif" fill="#555">'
        f'<tspan>{first}</tspan><tspan x="10" dy="8">{second}</tspan></text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def petition_region_counts(*, petition: Any, level: str, country: str = "de") -> dict[Any, int]:
    """The counts a petition's map shows: by Land, or by Wahlkreis of the map's term."""
    from officials.selectors import constituency_totals_get, region_totals_by_state

    if level == "state":
        return {row["state"]: row["count"] for row in region_totals_by_state(petition=petition)["states"]}
    geometry = map_geometry_get(country)
    from officials.models import Constituency

    term_ids = set(
        Constituency.objects.filter(parliament=geometry["parliament"], term=geometry["term"]).values_list(
            "pk", flat=True
        )
    )
    return {
        row["number"]: row["count"]
        for row in constituency_totals_get(petition=petition)
        if row["constituency_id"] in term_ids
    }
