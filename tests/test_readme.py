"""The README stays short and the pages under docs/ hold the rest: every environment variable the
settings read is documented in docs/configuration.md, and every relative link in the README and
the docs points to a file that exists."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
README_MAX_LINES = 200

# [text](target) and ![alt](target), also with an optional "title"; reference definitions
# `[label]: target` as well.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _settings_environment_variables() -> set[str]:
    settings_source = (REPO_ROOT / "campaign" / "settings.py").read_text()
    names = set(
        re.findall(r"""env_(?:str|bool|int|list|float|decimal)\(\s*["']([A-Z0-9_]+)["']""", settings_source)
    )
    names |= set(re.findall(r"""os\.environ(?:\.get)?[\[(]\s*["']([A-Z0-9_]+)["']""", settings_source))
    return names


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def relative_link_targets(markdown: str) -> list[str]:
    """The link targets of a Markdown text that point into the repository (no URL scheme, no
    pure `#anchor`), without their anchor; code blocks and code spans are not links."""
    text = INLINE_CODE.sub("", FENCED_CODE.sub("", markdown))
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    relative = []
    for target in targets:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "//")):
            continue  # http:, https:, mailto:, ... or a link within the same page
        relative.append(unquote(target.split("#", 1)[0].split("?", 1)[0]))
    return relative


def test_every_environment_variable_is_documented_in_the_configuration_page():
    configuration = (DOCS / "configuration.md").read_text()
    names = _settings_environment_variables()

    assert len(names) > 20  # the pattern really finds the settings
    undocumented = sorted(name for name in names if f"`{name}`" not in configuration)
    assert undocumented == []


def test_the_readme_is_short():
    lines = README.read_text().splitlines()

    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"


def test_the_readme_links_every_docs_page():
    links = {(README.parent / target).resolve() for target in relative_link_targets(README.read_text())}
    pages = sorted(DOCS.glob("*.md"))

    assert len(pages) >= 9  # architecture, petitions, donations, officials, widget, staff, ...
    unlinked = sorted(page.name for page in pages if page.resolve() not in links)
    assert unlinked == []


def test_every_relative_link_points_to_an_existing_file():
    files = _markdown_files()
    checked = 0
    broken = []
    for markdown_file in files:
        for target in relative_link_targets(markdown_file.read_text()):
            checked += 1
            if not target or not (markdown_file.parent / target).exists():
                broken.append(f"{markdown_file.relative_to(REPO_ROOT)}: {target}")

    assert checked > 20  # the pattern really finds the links
    assert broken == []


def test_the_link_check_finds_broken_and_ignores_external_links():
    markdown = (
        "[ok](docs/api.md#errors) ![shot](docs/screenshots/x.png) [web](https://example.org/a.md)\n"
        "[here](#top) `[not a link](nowhere.md)`\n```\n[neither](gone.md)\n```\n[ref]: other.md\n"
    )

    assert relative_link_targets(markdown) == ["docs/api.md", "docs/screenshots/x.png", "other.md"]
