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
from typing import IO

from contracts.models import Entry
from monitor.identifiers import from_remarks, nationality_from_remarks
from monitor.sources.base import (
    PROBE_S,
    FileSpec,
    ListKind,
    RecordError,
    SnapshotError,
    SnapshotFiles,
    SourceInfo,
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
                pending = RecordError(f"{name} line {reader.line_num}: {len(row)} fields, expected {width}")
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


def parse(info: SourceInfo, names: OfacFiles, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
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

    main = require(files, names.main, info.id)
    with main:
        for item in read_rows(main, names.main, len(MAIN_COLUMNS)):
            if isinstance(item, RecordError):
                yield item
                continue
            yield _entry(item, addresses, countries, aliases, comments, names.main)


def _entry(
    row: list[str],
    addresses: dict[str, list[str]],
    countries: dict[str, list[str]],
    aliases: dict[str, list[str]],
    comments: dict[str, str],
    file: str,
) -> Entry | RecordError:
    key = row[0].strip()
    name = clean(row[1])
    if not key.isdigit() or name is None:
        return RecordError(f"{file}: record {key!r} has no numeric ent_num or no name")
    raw = {col: clean(value) for col, value in zip(MAIN_COLUMNS, row, strict=True)}
    remarks = " ".join(p for p in (raw["Remarks"], comments.get(key)) if p) or None
    programs = [p.strip() for p in (raw["Program"] or "").strip("[]").split("] [") if p.strip()]
    return Entry(
        key=key,
        name=name,
        aliases=list(dict.fromkeys(aliases.get(key, []))),
        entity_type=_ENTITY_TYPES.get((raw["SDN_Type"] or "").lower(), "entity"),
        identifiers=from_remarks(remarks),
        countries=list(dict.fromkeys([*countries.get(key, []), *nationality_from_remarks(remarks)])),
        addresses=addresses.get(key, []),
        programs=programs,
        remarks=remarks,
        source_url=DETAILS_URL.format(key),
        raw=raw,
    )


class OfacCsvSource:
    """The shared shape of OFAC's CSV-set lists: a subclass names its files, base URL and title."""

    FILES: OfacFiles
    info: SourceInfo

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
