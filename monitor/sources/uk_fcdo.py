"""UK Sanctions List (FCDO), XML (``Designation`` records) or CSV (a metadata first row, then one row per
name of a designation); the format is recognised from the content.
Key: ``UniqueID`` (e.g. ``RUS0001``), the FCDO's permanent id of a designation."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import IO, Any

from contracts.models import Entry, Identifier
from monitor.identifiers import from_remarks
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
from monitor.sources.tabular import clean, iso_date
from monitor.sources.xmlsafe import flatten, iter_records

_FILE = "UK-Sanctions-List"
_URL = "https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.xml"
_DATES = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%Y-%m-%dT%H:%M:%S")
_TYPES = {"individual": "individual", "entity": "entity", "ship": "vessel"}


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _full_name(parts: dict[str, Any]) -> str | None:
    """Name1…Name5 are given names, Name6 the surname or the entity's name."""
    words = [str(parts[k]) for k in ("Name1", "Name2", "Name3", "Name4", "Name5", "Name6") if parts.get(k)]
    return " ".join(words) or None


def _entry(key: str, kind: str, names: list[tuple[str, str]], raw: dict[str, Any], *, regime: str | None,
           designated: Any, addresses: list[str], countries: list[str], remarks: str | None,
           identifiers: list[Identifier]) -> Entry:  # fmt: skip
    primary = next((n for n, t in names if t.lower().startswith("primary")), names[0][0])
    return Entry(
        key=key,
        name=primary,
        aliases=[n for n in dict.fromkeys(n for n, _ in names) if n != primary],
        entity_type=_TYPES.get(kind.lower(), "unknown"),
        identifiers=identifiers + [i for i in from_remarks(remarks) if i not in identifiers],
        countries=list(dict.fromkeys(countries)),
        addresses=addresses,
        programs=[regime] if regime else [],
        listed_on=iso_date(designated, _DATES),
        remarks=remarks,
        source_url="https://www.gov.uk/government/publications/the-uk-sanctions-list",
        raw=raw,
    )


class UkFcdo:
    info = SourceInfo(
        id="uk_fcdo",
        jurisdiction="GB",
        publisher="UK Foreign, Commonwealth and Development Office",
        title="UK Sanctions List",
        kind=ListKind.SANCTION,
        files=(FileSpec(_FILE, _URL),),
        key="UniqueID (e.g. RUS0001): the FCDO's permanent id of a designation",
        schedule_s=PROBE_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "uk_fcdo")
        with stream:
            head = stream.read(200).lstrip(b"\xef\xbb\xbf \r\n\t")
            stream.seek(0)
            yield from (_xml(stream) if head.startswith(b"<") else _csv(stream))


def _xml(stream: IO[bytes]) -> Iterator[Entry | RecordError]:
    for element in iter_records(stream, ("Designation",), _FILE):
        raw = flatten(element)
        key = raw.get("UniqueID")
        names = []
        for name in _list((raw.get("Names") or {}).get("Name")):
            if isinstance(name, dict) and (full := _full_name(name)):
                names.append((full, str(name.get("NameType") or "")))
        for non_latin in _list((raw.get("NonLatinNames") or {}).get("NonLatinName")):
            if isinstance(non_latin, dict) and non_latin.get("NameNonLatinScript"):
                names.append((str(non_latin["NameNonLatinScript"]), "non-latin"))
        if not key or not names:
            yield RecordError(f"uk_fcdo: Designation without UniqueID or name ({key})")
            continue
        addresses, countries = [], []
        for address in _list((raw.get("Addresses") or {}).get("Address")):
            if not isinstance(address, dict):
                continue
            keys = [f"AddressLine{i}" for i in range(1, 7)] + ["AddressPostalCode", "AddressCountry"]
            if line := ", ".join(str(address[k]) for k in keys if address.get(k)):
                addresses.append(line)
            if address.get("AddressCountry"):
                countries.append(str(address["AddressCountry"]))
        stable = {k: v for k, v in raw.items() if k != "LastUpdated"}
        yield _entry(str(key), str(raw.get("IndividualEntityShip") or ""), names, stable,
                     regime=raw.get("RegimeName"), designated=raw.get("DateDesignated"), addresses=addresses,
                     countries=countries, remarks=raw.get("OtherInformation"), identifiers=[])  # fmt: skip


_CSV_COLUMNS = {
    "key": ("unique id",), "type": ("designation type", "individual, entity, ship", "type of entity"),
    "name_type": ("name type",), "regime": ("regime name", "regime"), "designated": ("date designated",),
    "non_latin": ("name non-latin script",), "country": ("address country",), "other": ("other information",),
    "registration": ("business registration number (s)", "business registration number(s)"),
    "imo": ("imo number",),
}  # fmt: skip


def _csv(stream: IO[bytes]) -> Iterator[Entry | RecordError]:
    reader = csv.reader(codecs.iterdecode(stream, "utf-8-sig", errors="replace"))
    header: list[str] | None = None
    for row in reader:  # the first row is metadata ("Report Date: …"); the header follows
        if any(c.strip().lower() == "unique id" for c in row):
            header = [c.strip().lower() for c in row]
            break
    if header is None:
        raise SnapshotError("uk_fcdo: no header row with 'Unique ID'")
    col = {k: next((header.index(n) for n in names if n in header), None) for k, names in _CSV_COLUMNS.items()}
    name_cols = [header.index(f"name {i}") for i in range(1, 7) if f"name {i}" in header]
    groups: dict[str, list[list[str]]] = {}
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield RecordError(f"uk_fcdo: line {reader.line_num}: {len(row)} fields, expected {len(header)}")
            continue
        groups.setdefault(row[col["key"] or 0].strip(), []).append(row)

    def get(row: list[str], name: str) -> str | None:
        index = col[name]
        return clean(row[index]) if index is not None else None

    for key, rows in groups.items():
        names = []
        for row in rows:
            words = [row[i].strip() for i in name_cols[:5] if row[i].strip()] + (
                [row[name_cols[5]].strip()] if len(name_cols) > 5 and row[name_cols[5]].strip() else []
            )
            if words:
                names.append((" ".join(words), get(row, "name_type") or ""))
            if non_latin := get(row, "non_latin"):
                names.append((non_latin, "non-latin"))
        if not key or not names:
            yield RecordError(f"uk_fcdo: designation {key!r} without a name")
            continue
        first = rows[0]
        identifiers = [Identifier(scheme=s, value=v) for s, v in
                       (("registration", get(first, "registration")), ("imo", get(first, "imo"))) if v]  # fmt: skip
        raw: dict[str, Any] = {h: v for h, v in zip(header, first, strict=True) if clean(v) and h != "last updated"}
        raw["names"] = sorted({n for n, _ in names})
        yield _entry(key, get(first, "type") or "", names, raw, regime=get(first, "regime"),
                     designated=get(first, "designated"), addresses=[],
                     countries=[c for r in rows if (c := get(r, "country"))], remarks=get(first, "other"),
                     identifiers=identifiers)  # fmt: skip
