"""docs/configuration.md is generated from the settings code and covers every variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from tests.configdoc import render

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "configuration.md"
_READS = [
    (re.compile(r'env_(?:str|int|float|bool|hosts)\(\s*env,\s*"([A-Z0-9_]+)"'), "LISTWATCH_{}"),
    (re.compile(r'PREFIX \+ "([A-Z0-9_]+)"'), "LISTWATCH_{}"),
    (re.compile(r'\bp \+ "([A-Z0-9_]+)"'), "LISTWATCH_FEED_<NAME>_{}"),
    (re.compile(r'f"\{PREFIX\}\{name\}_([A-Z0-9_]+)"'), "LISTWATCH_SOURCE_<ID>_{}"),
    (re.compile(r'f"\{name\}_([A-Z0-9_]+)"'), "LISTWATCH_SOURCE_<ID>_{}"),
]


def test_the_configuration_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: .venv/bin/python -m tests.configdoc > docs/configuration.md"


def test_every_variable_the_code_reads_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    read: set[str] = set()
    for path in [p for pkg in ("contracts", "monitor", "streams", "alerts") for p in (REPO / pkg).rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for pattern, template in _READS:
            read |= {template.format(m) for m in pattern.findall(text)}
    assert len(read) > 40
    missing = sorted(name for name in read if name not in doc)
    assert not missing, f"read in the code but not documented: {missing}"
