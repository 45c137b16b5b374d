"""The import contracts (pyproject.toml [tool.importlinter]) hold on the real tree, and a tree
that breaks one fails lint-imports, naming the contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ["campaign", "petitions", "donations", "officials", "pages"]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "lint-imports"
    command = str(executable) if executable.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is not installed (requirements-test.txt)"
    # The tree under test first on the path, so the copy is analysed, never the real tree.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [command, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_real_tree_keeps_every_contract() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "petitions/signing.py",
            "import officials",
            "Petitions know neither officials, donations nor pages",
        ),
        ("petitions/signing.py", "import donations", "Apps are layered"),
        ("campaign/selectors.py", "import petitions", "The campaign core knows no app"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package,
            tmp_path / package,
            ignore=lambda directory, names: [
                name for name in names if not name.endswith(".py") and not (Path(directory) / name).is_dir()
            ],
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a") as copy:
        copy.write(f"\n{line}  # noqa: F401, E402\n")

    result = _lint_imports(tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # The summary prints one line per contract: "<name> KEPT" or "<name> BROKEN".
    broken = [row for row in output.splitlines() if row.startswith(contract) and row.endswith("BROKEN")]
    assert broken, output
