"""Streaming JSON for list sources (ijson): items under a path, one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import ijson

from monitor.sources.base import SnapshotError


def iter_items(stream: IO[bytes], prefix: str, name: str) -> Iterator[dict[str, Any]]:
    """Each object at ``prefix`` (ijson syntax, e.g. ``results.item``); a cut-off document raises."""
    try:
        for item in ijson.items(stream, prefix, use_float=True):
            if isinstance(item, dict):
                yield item
    except ijson.common.IncompleteJSONError as exc:
        raise SnapshotError(f"{name}: incomplete or invalid JSON ({exc}); truncated download?") from exc
    except ijson.common.JSONError as exc:
        raise SnapshotError(f"{name}: invalid JSON ({exc})") from exc
