"""Every event schema of listwatch, as faust Records (JSON on the wire, ISO dates).

The monitor publishes ``ListChange`` events, the streams app turns them into ``Alert`` events, the alerts
service delivers them. ``docs/events.md`` documents the fields with an example of each.
"""

from __future__ import annotations

import functools
import hashlib
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import faust
import orjson

SCHEMA_VERSION = 1


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"


class Removal(StrEnum):
    """Why an entry left its list, as far as the list itself shows."""

    # Its end date (a debarment's term) had passed: the term ran out, nobody decided to lift it.
    EXPIRED = "expired"
    # Taken off before its end date, or it had none: the publisher decided to delist it.
    DELISTED = "delisted"
    # A provisional entry (an Official Journal act) left its feed: it says nothing about the designation.
    SUPERSEDED = "superseded"


class AlertKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"
    # The watched company was on the list before the watch (or before we first saw the list).
    ALREADY_LISTED = "already_listed"
    # The consolidated list now carries what a provisional alert announced: recorded, not delivered again.
    CONFIRMED = "confirmed"


class Identifier(faust.Record, serializer="json"):
    """An identifier of a listed party: ``scheme`` is e.g. ``uscc``, ``lei``, ``imo``, ``reg``."""

    scheme: str
    value: str


class Entry(faust.Record, serializer="json", isodates=True):
    """One normalised entry of a list, as the monitor parsed it."""

    # The entry's key on its list (documented per source); stable across snapshots.
    key: str
    # Primary name, in the script the list gives it.
    name: str
    aliases: list[str] = []  # noqa: RUF012 - copied in __post_init__
    # "entity", "individual", "vessel", "aircraft" or "unknown".
    entity_type: str = "unknown"
    identifiers: list[Identifier] = []  # noqa: RUF012
    countries: list[str] = []  # noqa: RUF012
    addresses: list[str] = []  # noqa: RUF012
    # Sanctions programmes, debarment grounds or the list's own sub-list names.
    programs: list[str] = []  # noqa: RUF012
    # ISO dates (YYYY-MM-DD) as published; None when the list does not say.
    listed_on: str | None = None
    end_date: str | None = None
    remarks: str | None = None
    source_url: str | None = None
    # The record as published, for auditors and for fields we do not normalise yet.
    raw: dict[str, Any] = {}  # noqa: RUF012

    def __post_init__(self) -> None:
        # faust shares mutable defaults between instances: give each entry its own containers. Written to
        # the instance's state, not through faust's field descriptors: the values are already of their
        # type, and the diff builds entries by the ten thousand.
        state = self.__dict__
        for name in ("aliases", "identifiers", "countries", "addresses", "programs"):
            state[name] = list(state[name])
        # Empty raw fields are dropped, so a publisher adding an empty column changes no entry.
        state["raw"] = {k: v for k, v in state["raw"].items() if v is not None}

    def content(self) -> dict[str, Any]:
        """The entry as plain JSON-able data without faust's metadata."""
        data: dict[str, Any] = self.asdict()
        data["identifiers"] = [{"scheme": i.scheme, "value": i.value} for i in self.identifiers]
        return data


class FieldChange(faust.Record, serializer="json"):
    """One field of an entry that differs between two snapshots."""

    field: str
    before: Any = None
    after: Any = None


# The lists whose entries confirm a provisional source's (an Official Journal act, before the consolidated list
# carries it): a change's ``provisional_for`` names one of these (monitor/sources/base.py checks every source),
# and the stream worker looks for provisional alerts to confirm only on their additions.
CONFIRMING_SOURCES: frozenset[str] = frozenset({"eu_fsf"})


class ListChange(faust.Record, serializer="json", isodates=True):
    """An entry that was added to, removed from or modified on a list between two snapshots."""

    # Deterministic: the same change observed twice (two replicas, a retry) has the same id.
    event_id: str
    source: str
    entry_key: str
    change: str  # a ChangeKind value
    before: Entry | None
    after: Entry | None
    fields: list[FieldChange]
    # Content hashes of the two snapshots; snapshot_before is None for a baseline.
    snapshot_before: str | None
    snapshot_after: str
    observed_at: datetime
    # True for the entries of the first snapshot ever seen of a source: they describe the current list
    # and must never be alerted as "added".
    baseline: bool = False
    schema_version: int = SCHEMA_VERSION
    # What the list is, as the monitor's source says (ListKind value, title, publishing authority, whose).
    list_kind: str | None = None
    list_title: str | None = None
    publisher: str | None = None
    jurisdiction: str | None = None
    # A modification of only the fields the source calls cosmetic (a renumbered footnote, an update
    # stamp): recorded on the changes topic, never alerted.
    cosmetic: bool = False
    # For a removal: a Removal value.
    removal: str | None = None
    # Set on a provisional entry (an act in the Official Journal before the consolidated file carries it):
    # the id of the source whose entry will confirm it.
    provisional_for: str | None = None

    @property
    def current(self) -> Entry:
        """The entry as it stands after the change (before it, for a removal)."""
        entry = self.after if self.after is not None else self.before
        if entry is None:
            raise ValueError(f"change {self.event_id} carries no entry")
        return entry


class NameVariant(faust.Record, serializer="json"):
    """One name of an entry in the forms the matcher compares (streams/enrich/names.py)."""

    original: str
    normalised: str
    core: str
    script: str
    ascii: str


class CheckedIdentifier(faust.Record, serializer="json"):
    """An identifier after validation; ``detail`` says what it encodes (e.g. the USCC's region)."""

    scheme: str
    value: str
    valid: bool
    detail: str | None = None


class Enrichment(faust.Record, serializer="json"):
    names: list[NameVariant]
    identifiers: list[CheckedIdentifier]
    # ISO 3166-1 alpha-2 codes.
    countries: list[str]
    list_kind: str | None = None
    # "red" (rewarded: A-grade taxpayers, AEO) or "black" (punished: sanctions, debarment, dishonesty).
    list_colour: str = "black"
    jurisdiction: str | None = None
    authority: str | None = None
    # The entry's entity type ("entity", "individual", "vessel", "aircraft", "unknown").
    entity_type: str = "unknown"
    # Per-entry enrichment failures, kept for operators; the change still goes on.
    errors: list[str] = []  # noqa: RUF012 - copied in __post_init__

    def __post_init__(self) -> None:
        self.errors = list(self.errors)


class EnrichedChange(faust.Record, serializer="json", isodates=True):
    change: ListChange
    enrichment: Enrichment


class Alert(faust.Record, serializer="json", isodates=True):
    """A change on a list that concerns a company a subscriber watches."""

    # Deterministic: hash of subscriber, watch entry and the change's event id.
    alert_id: str
    subscriber_id: str
    watch_id: str
    watch_name: str
    source: str
    entry_key: str
    entry_name: str
    kind: str  # an AlertKind value
    before: Entry | None
    after: Entry | None
    fields: list[FieldChange]
    score: float
    reasons: list[str]
    change_event_id: str
    observed_at: datetime
    created_at: datetime
    schema_version: int = SCHEMA_VERSION
    list_kind: str | None = None
    list_colour: str | None = None
    jurisdiction: str | None = None
    # For a removal: a Removal value (an expired term or a delisting decision).
    removal: str | None = None
    # A provisional alert: the source whose entry will confirm it (e.g. "eu_fsf").
    provisional_for: str | None = None
    # For a "confirmed" alert: the ids of the provisional alerts it confirms.
    confirms: list[str] = []  # noqa: RUF012 - faust copies defaults


_R = TypeVar("_R", bound=faust.Record)


@functools.cache
def _mutable_defaults(cls: type[faust.Record]) -> tuple[str, ...]:
    return tuple(k for k, v in cls._options.defaults.items() if isinstance(v, list | dict))


def field_type(hint: Any) -> tuple[Any, bool]:
    """The one type a field's hint holds, X, X | None or list[X], and whether it is a list; (None, False) for
    a union of two types or more (contracts/codec.py's plans and ``build`` read hints alike)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return (args[0] if len(args) == 1 else None), True
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return (inner[0] if len(inner) == 1 else None), False
    return hint, False


def is_record(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, faust.Record)


@functools.cache
def _coerced(cls: type[faust.Record]) -> frozenset[str]:
    """The fields faust converts on their first read: those holding records (X, X | None, list[X])."""
    return frozenset(name for name, hint in cls._options.fields.items() if is_record(field_type(hint)[0]))


def build(cls: type[_R], fields: Mapping[str, Any], post_init: bool = True) -> _R:
    """``cls(**fields)`` for values already of their field's type, without faust's per-field descriptors:
    about 2x faster, for the diff that builds tens of thousands of entries and changes per snapshot, and for
    contracts/codec.py (``post_init=False``: as faust's own ``loads``, which does not run it). A default list
    or dict is the record's own. tests/contracts/test_models.py checks it gives the same record as the
    constructor."""
    record = cls.__new__(cls)
    state = record.__dict__
    state.update(cls._options.defaults)
    for name in _mutable_defaults(cls):  # type: ignore[arg-type]  # faust types its classes unhashable
        if name not in fields:
            state[name] = state[name].copy()
    state.update(fields)
    # Its records are records already: marked as converted, or faust would convert each on its first read
    # (2.6 % of a worker draining a baseline, py-spy).
    state["__evaluated_fields__"] = set(_coerced(cls))  # type: ignore[arg-type]  # faust types its classes unhashable
    if post_init and (run := getattr(record, "__post_init__", None)) is not None:
        run()
    return record


def entry_json(fields: Mapping[str, Any]) -> bytes:
    """What ``canonical_json(build(Entry, fields).content())`` gives, without building the record: for a
    source that parses straight to the stored form (monitor/sources/base.py ``RawRecords.encoded_at``).
    tests/contracts/test_models.py checks the two agree."""
    data = {**ENTRY_DEFAULTS, **fields}
    data["raw"] = {k: v for k, v in data["raw"].items() if v is not None}  # as Entry.__post_init__
    data["identifiers"] = [{"scheme": i.scheme, "value": i.value} for i in data["identifiers"]]
    # A compact copy (as monitor/diff.py encode_entry makes): orjson's own output objects fragment the heap.
    return bytes(memoryview(canonical_json(data)))


# Each optional field of an Entry and its default (never to be mutated: copied into each entry).
ENTRY_DEFAULTS: dict[str, Any] = dict(Entry._options.defaults)


def canonical_json(value: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no whitespace."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def stable_hash(*parts: str | bytes, size: int = 32) -> str:
    """Hex digest of the parts, each length-prefixed so that ("ab", "c") != ("a", "bc")."""
    chunks: list[bytes] = []
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        chunks += (len(data).to_bytes(8, "big"), data)
    return hashlib.sha256(b"".join(chunks)).hexdigest()[:size]


def entry_hash(entry: Entry | bytes | None) -> str:
    """Hash of an entry, or of its canonical JSON as the monitor keeps it (the same bytes, so the same hash)."""
    if entry is None:
        return "-"
    return stable_hash(entry if isinstance(entry, bytes) else canonical_json(entry.content()))


def change_event_id(
    source: str, entry_key: str, change: str, before: Entry | bytes | None, after: Entry | bytes | None
) -> str:
    return stable_hash("change", source, entry_key, change, entry_hash(before), entry_hash(after))


def alert_id(subscriber_id: str, watch_id: str, change_event_id: str) -> str:
    return stable_hash("alert", subscriber_id, watch_id, change_event_id)


class WatchEvent(faust.Record, serializer="json", isodates=True):
    """A subscriber's watch entry was added, changed or removed: screen it against the current lists."""

    subscriber_id: str
    watch_id: str
    action: str  # "put" or "remove"
    at: datetime
