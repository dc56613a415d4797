"""What ``listwatch diff`` prints for a change, built from the ListChange the monitor would publish for it:
the reference that the command's own rendering (straight from the entries' JSON, monitor/cli.py) must equal."""

from __future__ import annotations

import orjson

from contracts.models import ListChange


def listed_line(change: ListChange) -> bytes:
    out: dict[str, object] = {"change": change.change, "source": change.source, "key": change.entry_key,
                              "name": change.current.name, "event_id": change.event_id}  # fmt: skip
    if change.fields:
        out["fields"] = {f.field: [f.before, f.after] for f in change.fields}
    return orjson.dumps(out) + b"\n"
