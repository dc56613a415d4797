"""Where tests find list snapshots.

- Hand-made fixtures that this project wrote live in ``tests/fixtures`` (``FIXTURES``).
- Real published snapshots are third-party copies: they are read in place from the shared real-data
  directory (``LISTWATCH_REALDATA``, default ``../shared/realdata``), never copied into the repository.
  A test that needs them calls ``materialise`` / ``realdata_root``: without the directory it is skipped with
  one line naming the setting, and under ``CI=true`` it fails, like a missing Kafka or Redis.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from contracts.models import ListChange
from monitor import realdata

FIXTURES = Path(__file__).parent / "fixtures"


def realdata_root() -> Path:
    """The real-data directory, or skip (fail under CI) with the reason."""
    root = realdata.root_from_env(os.environ)
    reason = realdata.missing_reason(root)
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return root


def materialise(source: str, snapshot: str, dest: Path) -> Path:
    """The directory of one snapshot: a hand-made one in place, or a real one laid out as
    ``dest/source/snapshot/{file}`` with links to the shared files. Tests write only beside it, never in it."""
    handmade = FIXTURES / source / snapshot
    if handmade.is_dir():
        return handmade
    realdata.stage(realdata_root(), dest, source, [snapshot])
    return dest / source / snapshot


def real_files(source: str, snapshot: str) -> dict[str, Path]:
    """The files of one real snapshot in place: expected file name -> path."""
    return realdata.files(realdata_root(), source, snapshot)


def real_changes(source_id: str, before: str, after: str, dest: Path, observed_at: datetime) -> list[ListChange]:
    """The changes the monitor publishes between two real snapshots of a source, guards applied."""
    from monitor.diff import check_shrink, diff, read_snapshot
    from monitor.snapshot import from_path
    from monitor.sources import registry

    source = registry()[source_id]
    old = from_path(source.info, materialise(source_id, before, dest))
    new = from_path(source.info, materialise(source_id, after, dest))
    p_old, p_new = read_snapshot(source, old, old.snapshot_id()), read_snapshot(source, new, new.snapshot_id())
    check_shrink(source.info, len(p_old.entries), p_new)
    return list(diff(source_id, p_old.entries, p_old.snapshot_id, p_new, observed_at, source.info))
