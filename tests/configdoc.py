"""Writes docs/configuration.md from the settings code: each field's ``# LISTWATCH_…: meaning`` comment and
its default, so the documentation of every variable has one source. ``tests/test_configdoc.py`` fails when
the file is stale or a variable read in the code is missing from it.

    .venv/bin/python -m tests.configdoc > docs/configuration.md
"""

from __future__ import annotations

import inspect
import re

from alerts.settings import AlertsSettings, SmtpSettings
from contracts.settings import CommonSettings
from monitor.realdata import ENV as REALDATA_ENV
from monitor.settings import MonitorSettings, SourceOverride
from monitor.sources.feed import FeedConfig
from streams.settings import StreamsSettings

SECTIONS: list[tuple[str, list[type]]] = [
    ("Every service", [CommonSettings]),
    ("Monitor (`listwatch monitor`)", [MonitorSettings, SourceOverride]),
    ("User-supplied lists (feeds, read by the monitor)", [FeedConfig]),
    ("Stream workers (`listwatch streams`)", [StreamsSettings]),
    ("Alerts service and API (`listwatch alerts`)", [AlertsSettings, SmtpSettings]),
]
# Read by the local stack's shell scripts and the tests, not by the services.
LOCAL = [
    ("LISTWATCH_KAFKA_PORT, LISTWATCH_REDIS_PORT", "19092, 16379", "ports of the local Kafka and Redis (deploy/local/env.sh)"),
    ("LISTWATCH_CACHE_DIR", "~/.cache/listwatch", "where the assembled Kafka jars are kept between checkouts"),
    (REALDATA_ENV, "../shared/realdata", "real list snapshots for tests, the matching evaluation and the demo, read in place"),
    ("LISTWATCH_SCHEMATHESIS_EXAMPLES", "25", "examples per API operation in the schemathesis test"),
]  # fmt: skip

_FIELD = re.compile(r"^\s+(\w+): [^=]+?(?: = (.+))?$")


def _default(cls: type, name: str, written: str) -> str:
    """The field's default value where it is a plain one (a named constant shows its value), else as written."""
    import dataclasses
    from pathlib import Path

    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name == name and f.default is not dataclasses.MISSING:
            value = f.default
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, bool | int | float | str) or value is None:
                return repr(value)
            if isinstance(value, tuple) and all(isinstance(v, int | float | str) for v in value):
                return ", ".join(str(v) for v in value) if value else "()"
    return written


def entries(cls: type) -> list[tuple[str, str, str]]:
    """(variables, default, meaning) for each commented field of a settings class."""
    out: list[tuple[str, str, str]] = []
    comment: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("# "):
            comment.append(stripped[2:])
            continue
        match = _FIELD.match(line)
        if match and comment and comment[0].startswith("LISTWATCH_"):
            text = " ".join(comment)
            names, _, meaning = text.partition(": ")
            default = (match.group(2) or "").replace("field(default_factory=dict)", "").strip()
            default = default.removeprefix("field(default_factory=").removesuffix(")") if "default_factory" in default else default
            out.append((names.strip(), _default(cls, match.group(1), default), meaning.strip() or "—"))
        comment = []
    return out


def render() -> str:
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable with the `LISTWATCH_` prefix, read once at a service's entry point",
        "into a frozen settings object. This page is generated from the settings code (`python -m tests.configdoc >",
        "docs/configuration.md`); a test fails when it is stale. Defaults are as written in the code.",
        "",
    ]
    for title, classes in SECTIONS:
        lines += [f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        for cls in classes:
            for names, default, meaning in entries(cls):
                shown = f"`{default}`" if default else ""
                lines.append(f"| `{names}` | {shown} | {meaning.replace('|', '/')} |")
        lines.append("")
    lines += ["## Local stack and tests", "", "| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{n}` | `{d}` | {m} |" for n, d, m in LOCAL]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
