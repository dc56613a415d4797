"""The one protocol every list source implements, and what a source says about itself.

A source splits its work like moov-io/watchman: the service downloads the files named in ``info.files``
(I/O only, shared code in monitor/fetch.py), then ``parse`` turns those files into normalised entries
(pure, synchronous, streaming), so every parser is tested from fixture files alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from contracts.models import CONFIRMING_SOURCES, Entry

# Default poll intervals (each run adds jitter). Every poll is a conditional GET (ETag / Last-Modified): when
# nothing moved the publisher answers 304 and nothing is downloaded, so the lists that change without notice
# and matter most are probed every 90 s (a change alerts within 2 minutes, p95); the rest every 10 minutes
# (within 15).
PROBE_S = 90
POLL_S = 600


class ListKind(StrEnum):
    SANCTION = "sanction"
    DEBARMENT = "debarment"
    EXPORT_CONTROL = "export-control"
    COUNTERMEASURE = "countermeasure"
    RED_LIST = "red list"
    BLACK_LIST = "black list"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One published file of a source. A snapshot is the set of a source's files fetched together."""

    name: str
    url: str
    # An optional file missing from an offline snapshot directory is simply absent; a required one
    # missing makes the snapshot unusable.
    required: bool = True
    # Extra request headers (an API key); set from LISTWATCH_SOURCE_<ID>_HEADERS.
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: str
    # The authority that publishes the list (travels on every change as ``publisher``).
    publisher: str
    title: str
    kind: ListKind
    files: tuple[FileSpec, ...]
    # How the record key is built, and why it is stable (shown by `listwatch sources`).
    key: str
    # Default poll interval; each run adds jitter (PROBE_S for the probed lists, else POLL_S).
    schedule_s: int = POLL_S
    # Guard: reject a snapshot with fewer than this fraction of the previous one's entries.
    min_ratio: float = 0.8
    # Guard: reject a snapshot where more than this fraction of records failed to parse.
    max_error_rate: float = 0.01
    # Whose list it is: ISO 3166 code of the country, or "EU", "UN", "INT" (development banks).
    jurisdiction: str | None = None
    # Changed fields (FieldChange.field names, e.g. "raw.UPD_DATE") that alone make a modification
    # cosmetic: published with ``cosmetic`` set, never alerted.
    cosmetic_fields: frozenset[str] = frozenset()
    # A provisional source (designations published before the consolidated list carries them): the id of
    # the source that will confirm its entries. Its removals are "superseded", never alerted.
    provisional_for: str | None = None

    def __post_init__(self) -> None:
        # the stream worker confirms provisional alerts only on additions to these lists
        if self.provisional_for is not None and self.provisional_for not in CONFIRMING_SOURCES:
            raise ValueError(f"source {self.id}: provisional_for {self.provisional_for!r} is not one of the "
                             f"confirming lists {sorted(CONFIRMING_SOURCES)} (contracts/models.py)")  # fmt: skip

    @property
    def primary(self) -> FileSpec:
        return self.files[0]


class RecordError(Exception):
    """One record could not be read: counted against ``max_error_rate``, the rest goes on. ``key``: the
    record's key, when it could still be read (the entry is then listed still; see ``carry_forward``)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key

    def __reduce__(self) -> tuple[type[RecordError], tuple[str, str | None]]:
        return RecordError, (str(self), self.key)  # the key survives the trip from the diff's old side


class SnapshotError(Exception):
    """The snapshot as a whole cannot be used (empty, truncated, unparsable, missing a file)."""


class SnapshotFiles(Protocol):
    """Read access to the files of one snapshot."""

    def open(self, name: str) -> IO[bytes] | None:
        """The file's bytes, or None when an optional file is absent."""

    def size(self, name: str) -> int | None:
        """The file's size in bytes, or None when absent."""

    def names(self) -> list[str]:
        """Every file of the snapshot, sorted."""


def require(files: SnapshotFiles, name: str, source_id: str) -> IO[bytes]:
    """Open a file the snapshot must have; a missing one makes the snapshot unusable."""
    stream = files.open(name)
    if stream is None:
        raise SnapshotError(f"{source_id}: {name} is missing")
    return stream


class Source(Protocol):
    info: SourceInfo

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        """Yield every entry of the snapshot, and a RecordError for each unreadable record.

        Raise SnapshotError when the snapshot as a whole is unusable (e.g. a truncated last record).
        """


@runtime_checkable
class LinkedFiles(Protocol):
    """A source whose snapshot is more than its fixed files: an index page linking notices, or a paged
    API. After each download the service asks for the further files it links to, and fetches them too."""

    def linked_files(self, name: str, data: bytes, url: str) -> list[FileSpec]:
        """Files that the downloaded file ``name`` (from ``url``) links to; names must be unique."""


@dataclass(frozen=True, slots=True)
class DeltaOp:
    """One operation of a publisher's delta file."""

    op: str  # ADD, MOD or DEL
    key: str
    # The entry it maps to; None for a DEL, or for a record that is not (or no longer) a list entry.
    entry: Entry | None


@runtime_checkable
class DeltaSource(Protocol):
    """A source whose publisher also serves deltas between versions of its full file (OpenSanctions).
    Once a full snapshot of a known version is saved, the service reads the small ``probe`` file, and when
    the version moved, applies the deltas published since instead of downloading the full file again."""

    # Name of the small file among ``info.files`` that says the current version and where its deltas are.
    probe: str

    def version(self, probe: bytes, url: str) -> tuple[str | None, str | None]:
        """(version, URL of the delta index) from the probe file fetched from ``url``; None where absent."""

    def versions_after(self, index: bytes, version: str) -> list[FileSpec] | None:
        """Delta files after ``version``, oldest first, each named after its version. None when ``version``
        is unknown to the index: only the full file will do."""

    def read_delta(self, stream: IO[bytes], name: str) -> Iterator[DeltaOp | RecordError]:
        """The operations of one delta file, in order."""


@dataclass(frozen=True, slots=True)
class Prints:
    """Fingerprints of a run of records in file order: three lists of one length, so that a million records
    are compared with C-level loops (``map``, ``zip``) rather than one Python step each."""

    keys: list[str]
    prints: list[int]
    # Where each record starts (for a text file, its byte offset), for ``RawRecords.encoded_at``.
    locators: list[int]


def code_version(*module_files: str) -> str:
    """A short hash of the code that maps records, for ``RawRecords.fingerprint_version``."""
    digest = hashlib.sha256()
    for name in module_files:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


@runtime_checkable
class RawRecords(Source, Protocol):
    """A source whose records can be told apart without parsing them (a 1M-entry list diffed in seconds).

    ``fingerprints`` reads each record's key, a hash of its raw bytes (and of every line other files join to
    it) and where it starts, at the speed of reading lines; only records whose fingerprint moved are then
    read again and parsed, by ``encoded_at``. A fingerprint is a filter, never the truth: a record whose
    fingerprint moved is parsed and compared entry by entry as before, so a hash that moves for nothing costs
    time, never an alert."""

    # Changes whenever the code that maps a record changes: fingerprints saved under another version are
    # ignored, so an improved mapper reaches every entry once instead of only the records that moved.
    fingerprint_version: str

    def fingerprints(self, files: SnapshotFiles) -> Iterator[Prints]:
        """Key, fingerprint and locator of every record, in order, in runs; SnapshotError for a truncated
        file."""

    def encoded_at(self, files: SnapshotFiles, locators: Iterable[int]) -> Iterator[tuple[str, bytes] | RecordError]:
        """``parse``, for only the records at these locators (from ``fingerprints``), each entry as its key and
        canonical JSON (``contracts.models.entry_json``, what the diff stores), the Entry never built."""
