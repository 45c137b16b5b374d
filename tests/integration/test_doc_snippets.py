"""Every shell, HTML and JavaScript snippet of the README and docs/ that a newcomer would paste
runs against the demo data `make run` loads (`load_demo`), so a wrong slug or path fails: the
curl commands with real curl against a live server, the embed snippet in Chromium on a page of
another origin (with the page's JavaScript snippets). Only the service's address is replaced.

The snippets are parsed from the Markdown, so the test follows the docs. Each such block carries
a marker on the line before it, `<!-- snippet: run -->` or `<!-- snippet: skip <why> -->` for the
few that cannot run in a test (Docker, system packages); a block without one fails."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import REPO_ROOT, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("petitions_isolation")]

# Fence languages of text a reader pastes into a shell or a web page; a block with no language
# counts too (so leaving it out does not escape the check). Diagrams and policies (`mermaid`,
# `text`) are not run.
SHELL = {"sh", "bash", "shell", "console"}
PAGE = {"html"}
SCRIPT = {"js", "javascript"}
SNIPPET_LANGUAGES = SHELL | PAGE | SCRIPT | {""}
MARKER = re.compile(r"^<!--\s*snippet:\s*(?P<action>run|skip)\b\s*(?P<reason>.*?)\s*-->$")
# The service's address as the docs write it: `make run`'s, and the example production host.
DOCS_BASE_URLS = ("http://127.0.0.1:8000", "https://campaign.example.org")
# Each curl answer ends with this line (from a curl config file, so the commands run as written).
STATUS_LINE = re.compile(r"^@@snippet (?P<status>\d{3}) (?P<url>\S+) (?P<type>.*)$", re.MULTILINE)
CURLRC = 'silent\nshow-error\nwrite-out = "\\n@@snippet %{http_code} %{url_effective} %{content_type}\\n"\n'


@dataclass(frozen=True)
class Snippet:
    file: str
    line: int
    language: str
    action: str  # "run", "skip", or "" when the marker is missing
    reason: str
    code: str

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}"


def snippets_of(markdown: str, name: str) -> list[Snippet]:
    """The fenced blocks of a Markdown text in snippet languages, with their markers."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    found = []
    for index, token in enumerate(tokens):
        if token.type != "fence":
            continue
        language = token.info.split()[0].lower() if token.info.strip() else ""
        if language not in SNIPPET_LANGUAGES:
            continue
        before = tokens[index - 1] if index else None
        marker = (
            MARKER.match(before.content.strip())
            if before is not None and before.type == "html_block"
            else None
        )
        found.append(
            Snippet(
                file=name,
                line=(token.map[0] + 1) if token.map else 0,
                language=language,
                action=marker["action"] if marker else "",
                reason=marker["reason"] if marker else "",
                code=token.content,
            )
        )
    return found


def doc_snippets() -> list[Snippet]:
    files = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    return [s for f in files for s in snippets_of(f.read_text(), str(f.relative_to(REPO_ROOT)))]


def _to_run(languages: set[str]) -> list[Any]:
    return [
        pytest.param(s, id=s.source) for s in doc_snippets() if s.action == "run" and s.language in languages
    ]


def _local(code: str, base_url: str) -> str:
    for docs_url in DOCS_BASE_URLS:
        code = code.replace(docs_url, base_url)
    return code


# --- The markers -----------------------------------------------------------------------------


def test_every_snippet_is_marked_to_run_or_skipped_with_a_reason() -> None:
    snippets = doc_snippets()

    unmarked = [s.source for s in snippets if not s.action]
    assert unmarked == [], "mark each with <!-- snippet: run --> or <!-- snippet: skip <why> -->"
    assert [s.source for s in snippets if s.action == "skip" and not s.reason] == []
    # The docs show the newcomer's calls, the embed snippet and its events; all of them run.
    assert {s.language for s in snippets if s.action == "run"} >= {"sh", "html", "js"}
    # Only the few that cannot run: make, apt-get, the officials' data files, and the
    # production commands (deploy, backup and restore, upgrade) that need Docker.
    assert len([s for s in snippets if s.action == "skip"]) <= 8


def test_the_parser_finds_marked_and_unmarked_blocks_of_snippet_languages_only() -> None:
    markdown = (
        "<!-- snippet: run -->\n```sh\ncurl http://127.0.0.1:8000/healthz\n```\n\n"
        "<!-- snippet: skip needs Docker -->\n~~~bash\ndocker compose up\n~~~\n\n"
        "Text.\n\n```\nno language\n```\n\n```mermaid\nflowchart LR\n```\n\n"
        "- in a list:\n\n  ```html\n  <div></div>\n  ```\n"
    )

    found = [(s.source, s.language, s.action, s.reason) for s in snippets_of(markdown, "x.md")]

    assert found == [
        ("x.md:2", "sh", "run", ""),
        ("x.md:7", "bash", "skip", "needs Docker"),
        ("x.md:13", "", "", ""),
        ("x.md:23", "html", "", ""),
    ]


# --- Shell snippets: curl against a live server with the demo data ---------------------------


def _commands(code: str) -> list[list[str]]:
    """The commands of a shell block, as the shell splits them (continuations joined)."""
    commands, pending = [], ""
    for line in code.splitlines():
        pending += line + "\n"
        if line.endswith("\\"):
            continue
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quoted string goes on in the next line
            continue
        pending = ""
        if words:
            commands.append(words)
    assert not pending.strip(), f"unfinished command: {pending}"
    return commands


@pytest.mark.parametrize("snippet", _to_run(SHELL))
def test_the_shell_snippet_answers_against_the_demo_data(
    snippet: Snippet, live_server: Any, demo_petition: Any, staff_user: Any, tmp_path: Path
) -> None:
    from campaign.staff_tokens import staff_token_create

    commands = _commands(snippet.code)
    assert commands and all(words[0] == "curl" for words in commands), (
        f"{snippet.source}: only curl commands run here; mark the block skip with the reason"
    )
    (tmp_path / ".curlrc").write_text(CURLRC)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CURL_HOME": str(tmp_path),
        # A snippet's `$TOKEN` is a staff user's API token (docs/staff.md says how to get one).
        "TOKEN": staff_token_create(user=staff_user)[1],
    }

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _local(snippet.code, live_server.url)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, f"{snippet.source}: {result.stderr}"
    answers = list(STATUS_LINE.finditer(result.stdout))
    assert len(answers) == len(commands), result.stdout
    start = 0
    for answer in answers:
        body, start = result.stdout[start : answer.start()], answer.end()
        url, status = answer["url"], int(answer["status"])
        assert 200 <= status < 300, f"{snippet.source}: {status} from {url}: {body[:500]}"
        path = urlsplit(url).path
        promises_json = path == "/healthz" or (
            path.startswith("/api/") and not path.endswith((".csv", ".xlsx", ".pdf"))
        )
        if promises_json:
            assert answer["type"].startswith("application/json"), f"{url}: {answer['type']}"
            json.loads(body)
        elif path.endswith(".csv"):
            assert answer["type"].startswith("text/csv"), f"{url}: {answer['type']}"


# --- The embed snippet in Chromium ------------------------------------------------------------


def _page_scripts(snippet: Snippet) -> list[str]:
    """The JavaScript snippets (to run) of the docs page that shows the embed snippet."""
    return [
        s.code
        for s in doc_snippets()
        if s.file == snippet.file and s.language in SCRIPT and s.action == "run"
    ]


def _host_page(snippet: Snippet, api: str) -> str:
    """The campaign's website as a newcomer would build it: the snippet in a plain page, with
    the JavaScript snippets of the same docs page after it."""
    scripts = "".join(f"<script>\n{code}</script>\n" for code in _page_scripts(snippet))
    return (
        '<!doctype html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        "<title>Unsere Kampagne</title>\n</head>\n<body>\n<h1>Unsere Kampagne</h1>\n"
        f"{_local(snippet.code, api)}{scripts}</body>\n</html>\n"
    )


@pytest.mark.parametrize("snippet", _to_run(PAGE))
def test_the_embed_snippet_shows_the_demo_petition_and_signs(
    snippet: Snippet, host_site: Any, live_server: Any, page: Any, demo_petition: Any
) -> None:
    from petitions.models import Signature
    from petitions.selectors import petition_count_get
    from tests.integration.test_widget import fill_sign_form

    problems: list[str] = []
    logged: list[str] = []
    page.on("console", lambda message: (problems if message.type == "error" else logged).append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: response.status >= 400 and problems.append(f"{response.status}: {response.url}"),
    )

    page.goto(host_site.add("/campaign.html", _host_page(snippet, live_server.url)))
    widget = page.locator("[data-campaign-widget]")
    counter = widget.locator(".cw-count-number")
    counter.wait_for()

    assert counter.is_visible()
    expected = petition_count_get(slug=demo_petition.slug)["signature_count"]
    try:
        page.wait_for_function(
            f"() => document.querySelector('[data-campaign-widget]').dataset.count === '{expected}'"
        )
    except PlaywrightTimeoutError:
        pytest.fail(f"{snippet.source}: no count of the demo petition:\n" + "\n".join(problems))
    widget.get_by_role("heading", name="Jetzt unterschreiben").wait_for()
    # The events snippet of the same page hears the signature.
    fill_sign_form(page, email="neu@example.org", consent=demo_petition.consent_text_de)
    widget.get_by_role("button", name="Unterschreiben").click()
    widget.get_by_role("heading", name=re.compile("Bitte bestätigen Sie")).wait_for()
    assert Signature.objects.filter(petition=demo_petition, email="neu@example.org").exists()
    if _page_scripts(snippet):  # docs/widget.md's events example logs the signature
        wait_until(lambda: f"signed {demo_petition.slug}" in logged)
    assert problems == [], "\n".join(problems)
