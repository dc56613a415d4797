"""OFAC's legacy CSV file set, shared by ``ofac_sdn`` and ``ofac_cons`` (the same format, other files).

Headerless CSV; ``-0- `` means null; several programmes as ``NPWMD] [IFSR``; CRLF and a trailing 0x1A byte.
The main file has 12 columns keyed by ``ent_num``; the address, alias and comments files refer to it by
``ent_num``. Comments continue ``Remarks`` that were too long for the main file.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add, itemgetter
from typing import IO, Any

import xxhash

from contracts import models
from contracts.models import Entry, build, entry_json
from monitor import identifiers
from monitor.identifiers import from_remarks, nationality_from_remarks
from monitor.sources.base import (
    PROBE_S,
    FileSpec,
    ListKind,
    Prints,
    RecordError,
    SnapshotError,
    SnapshotFiles,
    SourceInfo,
    code_version,
    require,
)

MAIN_COLUMNS = (
    "ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type", "Tonnage", "GRT",
    "Vess_flag", "Vess_owner", "Remarks",
)  # fmt: skip
ADD_COLUMNS = ("ent_num", "add_num", "address", "city_state_postal", "country", "add_remarks")
ALT_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
_ENTITY_TYPES = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft"}
DETAILS_URL = "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={}"


KEY = "ent_num: OFAC's numeric entity id, kept for the life of a designation"


@dataclass(frozen=True, slots=True)
class OfacFiles:
    main: str
    addresses: str
    aliases: str
    comments: str

    def specs(self, base_url: str) -> tuple[FileSpec, ...]:
        """The main file is required; the others only enrich it."""
        return (
            FileSpec(self.main, base_url + self.main),
            *(FileSpec(n, base_url + n, required=False) for n in (self.addresses, self.aliases, self.comments)),
        )


def clean(value: str) -> str | None:
    value = value.strip()
    return None if value in {"", "-0-"} else value


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """Decoded lines: UTF-8 where valid, else Windows-1252 (older files); the DOS EOF byte dropped."""
    for raw in stream:
        line = raw.replace(b"\x1a", b"")
        if not line:
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line.decode("cp1252", errors="replace")


def read_rows(stream: IO[bytes], name: str, width: int) -> Iterator[list[str] | RecordError]:
    """Rows of ``width`` columns; a short row is a RecordError unless it is the last one (truncation)."""
    reader = csv.reader(_lines(stream), strict=True)
    pending: RecordError | None = None
    try:
        for row in reader:
            if pending is not None:
                yield pending
                pending = None
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                pending = RecordError(f"{name} line {reader.line_num}: {len(row)} fields, expected {width}",
                                      _key_of(row[0]))  # fmt: skip
                continue
            yield row
    except csv.Error as exc:
        raise SnapshotError(f"{name} line {reader.line_num}: {exc} (truncated download?)") from exc
    if pending is not None:
        raise SnapshotError(f"{name}: the last record is incomplete ({pending}); truncated download?")


def _side_file(files: SnapshotFiles, name: str, width: int) -> Iterable[list[str]]:
    stream = files.open(name)
    if stream is None:
        return
    with stream:
        for row in read_rows(stream, name, width):
            if not isinstance(row, RecordError):
                yield row


def raw_records(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(byte offset, raw bytes) of each record without parsing it: a line, joined with the next while a quote
    is open; the DOS EOF byte and blank lines dropped. SnapshotError when the file ends inside a quote."""
    pending = b""
    start = offset = 0
    for line in stream:
        offset += len(line)
        if pending:
            line = pending + line
        if line.count(b'"') & 1:
            pending = line
            continue
        pending = b""
        if b"\x1a" in line:
            line = line.replace(b"\x1a", b"")
        if line.strip():
            yield start, line
        start = offset
    if pending:
        raise SnapshotError("the file ends inside a quoted field (truncated download?)")


def record_key(record: bytes) -> str:
    """The first field (``ent_num``) of a raw record, as ``_entry`` reads it."""
    comma = record.find(b",")
    return record[: comma if comma >= 0 else len(record)].strip().strip(b'"').decode("utf-8", "replace").strip()


def _decode(record: bytes) -> str:
    try:
        return record.decode("utf-8")
    except UnicodeDecodeError:
        return record.decode("cp1252", errors="replace")


def _row(record: bytes, name: str, width: int) -> list[str] | RecordError:
    try:
        rows = [r for r in csv.reader(_decode(record).splitlines(keepends=True), strict=True) if r]
    except csv.Error as exc:
        return RecordError(f"{name}: {exc}", _key_of(record_key(record)))
    if len(rows) != 1 or len(rows[0]) != width:
        return RecordError(f"{name} record {record_key(record)!r}: {len(rows[0]) if rows else 0} fields, "
                           f"expected {width}", _key_of(record_key(record)))  # fmt: skip
    return rows[0]


def _key_of(field: str) -> str | None:
    """An unreadable record's ``ent_num``, when it is one."""
    key = field.strip().strip('"').strip()
    return key if key.isdigit() else None


_CHUNK = 8 << 20


def fingerprints(names: OfacFiles, files: SnapshotFiles, source_id: str) -> Iterator[Prints]:
    """Key (``ent_num``), fingerprint (the main record's hash chained with its address, alias and comment
    rows) and byte offset of every record, in runs of a chunk of the file.

    Each chunk of whole lines is split and hashed with C-level ``map`` calls; a chunk where that is not safe
    (a quoted field across lines, a blank line, the EOF byte, a key that is not a number) and everything after
    it go through ``raw_records`` one record at a time instead. The line ending is not hashed: a publisher
    moving from LF to CRLF changes no record."""
    joined: dict[str, int] = {}
    for side, width in ((names.addresses, len(ADD_COLUMNS)), (names.aliases, len(ALT_COLUMNS)), (names.comments, 2)):
        for row in _side_file(files, side, width):
            key = row[0].strip()
            joined[key] = xxhash.xxh3_64_intdigest("\x1f".join(row).encode(), seed=joined.get(key, 0))
    last = b""
    with require(files, names.main, source_id) as main:
        start = 0
        rest = b""
        careful = False
        while chunk := main.read(_CHUNK):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            block = chunk[:cut]
            lines = block.split(b"\n")[:-1]  # [:-1]: the empty piece after the last newline
            batch = _fast_batch(block, lines, start, joined) if lines else Prints([], [], [])
            if batch is None:
                careful = True
                break
            if lines:
                yield batch
                last = lines[-1]
            start += cut
            rest = chunk[cut:]
        if careful or rest.strip(b"\r\n\x1a "):
            main.seek(start)
            keys: list[str] = []
            prints: list[int] = []
            offsets: list[int] = []
            for offset, record in raw_records(main):
                last = record
                key = record_key(record)
                keys.append(key)
                prints.append(xxhash.xxh3_64_intdigest(record.rstrip(b"\r\n"), seed=joined.get(key, 0)))
                offsets.append(start + offset)
            yield Prints(keys, prints, offsets)
    # A cut-off last line is the usual sign of a truncated download: the full parse catches it; so must this.
    if last.strip() and isinstance(error := _row(last, names.main, len(MAIN_COLUMNS)), RecordError):
        raise SnapshotError(f"{names.main}: the last record is incomplete ({error}); truncated download?")


def _fast_batch(block: bytes, lines: list[bytes], start: int, joined: dict[str, int]) -> Prints | None:
    """Fingerprints of whole single-line records with numeric keys, or None when the lines (``block`` split
    at its newlines) are not all so."""
    if _odd_quotes(block):
        return None  # a quoted field spans lines
    # Each line's offset: the chunk's start plus the lengths of the lines before it (each with its newline).
    offsets = list(accumulate(map(add, map(len, lines), repeat(1)), initial=start))
    offsets.pop()
    lines = list(map(bytes.rstrip, lines, repeat(b"\r")))
    raw_keys = list(map(itemgetter(0), map(bytes.partition, lines, repeat(b","))))
    if not all(map(bytes.isdigit, raw_keys)):
        return None  # a blank line, the EOF byte, a quoted or spaced key: the careful path
    keys = list(map(bytes.decode, raw_keys))
    seeds = map(joined.get, keys, repeat(0)) if joined else repeat(0)
    prints = list(map(xxhash.xxh3_64_intdigest, lines, seeds))
    return Prints(keys, prints, offsets)


# Every byte but the quote and the newline, deleted by ``_odd_quotes``.
_NOT_QUOTE_OR_NEWLINE = bytes(b for b in range(256) if b not in b'"\n')


def _odd_quotes(block: bytes) -> bool:
    """Whether a line of ``block`` holds an odd number of quotes: with only quotes and newlines kept, pairs of
    quotes removed leave a quote on exactly those lines (two C passes over the block, no call per line)."""
    return b'"' in block.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")


def _side_tables(
    names: OfacFiles, files: SnapshotFiles
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]], dict[str, str]]:
    addresses: dict[str, list[str]] = defaultdict(list)
    countries: dict[str, list[str]] = defaultdict(list)
    for row in _side_file(files, names.addresses, len(ADD_COLUMNS)):
        parts = [p for p in (clean(row[2]), clean(row[3]), clean(row[4])) if p]
        if parts:
            addresses[row[0].strip()].append(", ".join(parts))
        if country := clean(row[4]):
            countries[row[0].strip()].append(country)
    aliases: dict[str, list[str]] = defaultdict(list)
    for row in _side_file(files, names.aliases, len(ALT_COLUMNS)):
        if alias := clean(row[3]):
            aliases[row[0].strip()].append(alias)
    comments: dict[str, str] = {}
    for row in _side_file(files, names.comments, 2):
        if text := clean(row[1]):
            comments[row[0].strip()] = text
    return addresses, countries, aliases, comments


def parse(info: SourceInfo, names: OfacFiles, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
    addresses, countries, aliases, comments = _side_tables(names, files)
    main = require(files, names.main, info.id)
    with main:
        for item in read_rows(main, names.main, len(MAIN_COLUMNS)):
            if isinstance(item, RecordError):
                yield item
                continue
            fields = _fields(item, addresses, countries, aliases, comments, names.main)
            yield fields if isinstance(fields, RecordError) else build(Entry, fields)


def encoded_at(
    info: SourceInfo, names: OfacFiles, files: SnapshotFiles, offsets: Iterable[int]
) -> Iterator[tuple[str, bytes] | RecordError]:
    """``parse``'s entries for the records at these offsets of the main file (from ``fingerprints``), as
    (key, canonical JSON): only those are read, split into fields and mapped, and no Entry is built."""
    addresses, countries, aliases, comments = _side_tables(names, files)
    with require(files, names.main, info.id) as main:
        for offset in sorted(offsets):
            main.seek(offset)
            _, record = next(raw_records(main))
            row = _row(record, names.main, len(MAIN_COLUMNS))
            fields = row if isinstance(row, RecordError) else _fields(row, addresses, countries, aliases, comments,
                                                                      names.main)  # fmt: skip
            yield fields if isinstance(fields, RecordError) else (fields["key"], entry_json(fields))


def _fields(
    row: list[str],
    addresses: dict[str, list[str]],
    countries: dict[str, list[str]],
    aliases: dict[str, list[str]],
    comments: dict[str, str],
    file: str,
) -> dict[str, Any] | RecordError:
    """The fields of the record's Entry (``build(Entry, ...)`` or ``entry_json``)."""
    key = row[0].strip()
    name = clean(row[1])
    if not key.isdigit() or name is None:
        return RecordError(f"{file}: record {key!r} has no numeric ent_num or no name", _key_of(key))
    raw = {col: clean(value) for col, value in zip(MAIN_COLUMNS, row, strict=True)}
    remarks = " ".join(p for p in (raw["Remarks"], comments.get(key)) if p) or None
    programs = [p.strip() for p in (raw["Program"] or "").strip("[]").split("] [") if p.strip()]
    return {
        "key": key,
        "name": name,
        "aliases": list(dict.fromkeys(aliases.get(key, []))),
        "entity_type": _ENTITY_TYPES.get((raw["SDN_Type"] or "").lower(), "entity"),
        "identifiers": from_remarks(remarks),
        "countries": list(dict.fromkeys([*countries.get(key, []), *nationality_from_remarks(remarks)])),
        "addresses": addresses.get(key, []),
        "programs": programs,
        "remarks": remarks,
        "source_url": DETAILS_URL.format(key),
        "raw": raw,
    }


class OfacCsvSource:
    """The shared shape of OFAC's CSV-set lists: a subclass names its files, base URL and title."""

    FILES: OfacFiles
    info: SourceInfo
    fingerprint_version = code_version(__file__, identifiers.__file__, models.__file__)

    @staticmethod
    def describe(source_id: str, title: str, files: OfacFiles, base_url: str) -> SourceInfo:
        return SourceInfo(
            id=source_id,
            jurisdiction="US",
            publisher="US Treasury, Office of Foreign Assets Control",
            title=title,
            kind=ListKind.SANCTION,
            files=files.specs(base_url),
            key=KEY,
            schedule_s=PROBE_S,
        )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        return parse(self.info, self.FILES, files)

    def fingerprints(self, files: SnapshotFiles) -> Iterator[Prints]:
        return fingerprints(self.FILES, files, self.info.id)

    def encoded_at(self, files: SnapshotFiles, locators: Iterable[int]) -> Iterator[tuple[str, bytes] | RecordError]:
        return encoded_at(self.info, self.FILES, files, locators)
