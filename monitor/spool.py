"""EntrySpool: a snapshot's entries on disk, with only a small index in memory.

Each entry's canonical JSON is appended to a temporary file; memory holds, per key, one packed
28-byte record (offset, length, 16-byte digest). Comparing two snapshots compares digests; only changed
entries are read back. bench/parse_memory.py measures the effect against the size of the list's file.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from collections.abc import Iterable, Iterator, KeysView, Mapping
from itertools import repeat
from typing import IO

_INDEX = struct.Struct(">QI16s")
# Index mark of an entry taken unchanged from the base snapshot (its record's fingerprint did not move).
_INHERITED = b""


def entry_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class EntrySpool(Mapping[str, bytes]):
    """A read-mostly mapping key -> canonical JSON, spooled to a temporary file."""

    def __init__(self, base: Mapping[str, bytes] | None = None) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool
        self._index: dict[str, bytes] = {}
        self._end = 0
        # Whether the file's position is its end: a seek flushes the write buffer, so appends skip it.
        self._at_end = True
        self._own: list[str] = []
        # The previous snapshot, which inherited entries are read from (never copied).
        self._base: Mapping[str, bytes] = base if base is not None else {}

    def inherit_many(self, keys: Iterable[str]) -> tuple[int, int]:
        """Take the base snapshot's entries for these keys as they are (never copied), at C speed; for keys the
        caller knows the base has, before any ``add``. (How many were taken, how many were already here.)"""
        keys = list(keys)
        size = len(self._index)
        self._index.update(zip(keys, repeat(_INHERITED)))
        taken = len(self._index) - size
        return taken, len(keys) - taken

    def assume_inherited(self, keys: Iterable[str]) -> int:
        """Take every key as inherited, on an empty spool (the caller then ``disown``s those that moved): one
        C-level dict build. How many distinct keys there were."""
        if self._index:
            raise ValueError("assume_inherited is for an empty spool")
        self._index = dict.fromkeys(keys, _INHERITED)
        return len(self._index)

    def disown(self, keys: Iterable[str]) -> None:
        """Take back inherited keys (their records moved after all): each must be one."""
        for key in keys:
            if self._index.pop(key) is not _INHERITED:
                raise ValueError(f"{key}: not an inherited entry")

    def own(self) -> Iterator[str]:
        """Keys of the entries added here (not inherited), in the order they were added."""
        return iter(self._own)

    def inherited_count(self) -> int:
        return len(self._index) - len(self._own)

    def keys_view(self) -> KeysView[str]:
        """Every key, for fast membership tests (a dict's view: no Python call per test)."""
        return self._index.keys()

    def inherited(self, key: str) -> bool:
        """True when the entry is the base snapshot's, unchanged."""
        return self._index.get(key) is _INHERITED

    def add(self, key: str, data: bytes) -> bool:
        """Append an entry; False (and nothing stored) when the key is already there."""
        if key in self._index:
            return False
        if not self._at_end:
            self._file.seek(self._end)
            self._at_end = True
        self._file.write(data)
        self._index[key] = _INDEX.pack(self._end, len(data), entry_digest(data))
        self._own.append(key)
        self._end += len(data)
        return True

    def digest(self, key: str) -> bytes | None:
        packed = self._index.get(key)
        if packed is _INHERITED:
            return digest_of(self._base, key)
        return None if packed is None else _INDEX.unpack(packed)[2]

    def __getitem__(self, key: str) -> bytes:
        packed = self._index[key]
        if packed is _INHERITED:
            return self._base[key]
        offset, length, _ = _INDEX.unpack(packed)
        self._at_end = False
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
