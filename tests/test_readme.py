"""The README documents every environment variable the settings read."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT


def test_every_environment_variable_is_documented_in_the_readme():
    settings_source = (REPO_ROOT / "campaign" / "settings.py").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    names = set(
        re.findall(r"""env_(?:str|bool|int|list|float|decimal)\(\s*["']([A-Z0-9_]+)["']""", settings_source)
    )
    names |= set(re.findall(r"""os\.environ(?:\.get)?[\[(]\s*["']([A-Z0-9_]+)["']""", settings_source))

    assert len(names) > 20  # the pattern really finds the settings
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert undocumented == []
