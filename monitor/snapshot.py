"""Snapshots: a source's files as fetched (or as found on disk), with a content id."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from monitor.sources.base import SnapshotError, SourceInfo


@dataclass(frozen=True, slots=True)
class DiskSnapshot:
    """Files of one snapshot on disk; implements ``SnapshotFiles``."""

    paths: Mapping[str, Path]

    def open(self, name: str) -> IO[bytes] | None:
        path = self.paths.get(name)
        return None if path is None else path.open("rb")

    def size(self, name: str) -> int | None:
        path = self.paths.get(name)
        return None if path is None else path.stat().st_size

    def names(self) -> list[str]:
        return sorted(self.paths)

    def snapshot_id(self) -> str:
        """sha256 over each file's name and content: equal ids mean nothing changed."""
        total = hashlib.sha256()
        for name in sorted(self.paths):
            h = hashlib.sha256()
            with self.paths[name].open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            total.update(f"{name}\0{h.hexdigest()}\n".encode())
        return total.hexdigest()


def from_path(info: SourceInfo, path: Path, *, linked: bool = False) -> DiskSnapshot:
    """A snapshot given on the command line: one file (the source's primary file) or a directory.
    With ``linked`` (sources whose snapshot includes linked files) every file of the directory counts."""
    if path.is_dir():
        paths = {spec.name: path / spec.name for spec in info.files if (path / spec.name).is_file()}
        if linked:
            paths.update({p.name: p for p in sorted(path.iterdir()) if p.is_file()})
        missing = [s.name for s in info.files if s.required and s.name not in paths]
        if missing and not linked:
            raise SnapshotError(f"{path}: missing required file(s) {', '.join(missing)} for {info.id}")
        return DiskSnapshot(paths)
    if path.is_file():
        if linked:
            return DiskSnapshot({path.name: path})
        required = [s.name for s in info.files[1:] if s.required]
        if required:
            raise SnapshotError(f"{path}: {info.id} needs a directory with {', '.join(required)} too")
        return DiskSnapshot({info.primary.name: path})
    raise SnapshotError(f"{path}: no such file or directory")
