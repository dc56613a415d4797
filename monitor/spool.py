"""EntrySpool: a snapshot's entries on disk, with only a small index in memory.

Each entry's canonical JSON is appended to a temporary file; memory holds, per key, one packed
28-byte record (offset, length, 16-byte digest). Comparing two snapshots compares digests; only changed
entries are read back. bench/parse_memory.py measures the effect against the size of the list's file.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO

_INDEX = struct.Struct(">QI16s")


def entry_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class EntrySpool(Mapping[str, bytes]):
    """A read-mostly mapping key -> canonical JSON, spooled to a temporary file."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool
        self._index: dict[str, bytes] = {}
        self._end = 0

    def add(self, key: str, data: bytes) -> bool:
        """Append an entry; False (and nothing stored) when the key is already there."""
        if key in self._index:
            return False
        self._file.seek(self._end)
        self._file.write(data)
        self._index[key] = _INDEX.pack(self._end, len(data), entry_digest(data))
        self._end += len(data)
        return True

    def digest(self, key: str) -> bytes | None:
        packed = self._index.get(key)
        return None if packed is None else _INDEX.unpack(packed)[2]

    def __getitem__(self, key: str) -> bytes:
        offset, length, _ = _INDEX.unpack(self._index[key])
        self._file.seek(offset)
        return self._file.read(length)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:
        self._file.close()

    @classmethod
    def of(cls, entries: Mapping[str, bytes]) -> EntrySpool:
        spool = cls()
        for key, data in entries.items():
            spool.add(key, data)
        return spool


def digest_of(entries: Mapping[str, bytes], key: str) -> bytes | None:
    """The entry's digest, from the spool's index when it has one (no disk read)."""
    if isinstance(entries, EntrySpool):
        return entries.digest(key)
    data = entries.get(key)
    return None if data is None else entry_digest(data)
