"""US Consolidated Screening List (Commerce, State and Treasury lists in one: BIS Entity List, MEU, UVL,
DPL, ITAR debarred, SDN, SSI, CMIC …), as ``consolidated.json`` (``{"results": [...]}``) or ``.csv``;
the format is recognised from the content.
Key: ``source|entity_number`` where the list gives a number (Treasury lists), else ``source|name``
(repeats numbered): for non-Treasury records ``_id`` is a content hash that changes with any edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from contracts.models import Entry, Identifier
from monitor.identifiers import from_remarks, scheme_for_label
from monitor.sources.base import PROBE_S, FileSpec, ListKind, RecordError, SnapshotFiles, SourceInfo, require
from monitor.sources.csvrows import iter_dict_rows
from monitor.sources.jsonstream import iter_items
from monitor.sources.tabular import clean, iso_date, number_duplicates, split

_FILE = "consolidated"
_URL = "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.json"
_DATES = ("%Y-%m-%d", "%m/%d/%Y")
_TYPES = {"entity": "entity", "individual": "individual", "vessel": "vessel", "aircraft": "aircraft"}


class UsCsl:
    info = SourceInfo(
        id="us_csl",
        jurisdiction="US",
        publisher="US Departments of Commerce, State and the Treasury (data.trade.gov)",
        title="Consolidated Screening List",
        kind=ListKind.EXPORT_CONTROL,
        files=(FileSpec(_FILE, _URL),),
        key="source|entity_number where given (Treasury), else source|name: other _id values are content hashes",
        schedule_s=PROBE_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "us_csl")
        with stream:
            first = stream.read(64).lstrip()
            stream.seek(0)
            records = _json(stream) if first.startswith(b"{") else _csv(stream)
            yield from number_duplicates(_entries(records))


def _json(stream: IO[bytes]) -> Iterator[dict[str, Any] | RecordError]:
    yield from iter_items(stream, "results.item", _FILE)


def _csv(stream: IO[bytes]) -> Iterator[dict[str, Any] | RecordError]:
    for row in iter_dict_rows(stream, _FILE, ("source", "name", "entity_number")):
        if isinstance(row, RecordError):
            yield row
            continue
        record: dict[str, Any] = dict(row)
        record["alt_names"] = split(row.get("alt_names"), ";")
        record["programs"] = split(row.get("programs"), ";")
        record["addresses"] = split(row.get("addresses"), ";")
        record["nationalities"] = split(row.get("nationalities"), ";")
        record["citizenships"] = split(row.get("citizenships"), ";")
        ids = []
        for part in split(row.get("ids"), ";"):
            fields = [f.strip() for f in part.split(",")]
            if len(fields) >= 2:
                ids.append({"type": fields[0], "number": fields[1], "country": fields[2] if len(fields) > 2 else None})
        record["ids"] = ids
        yield record


def _address(value: Any) -> str | None:
    if isinstance(value, dict):
        parts = [clean(value.get(k)) for k in ("address", "city", "state", "postal_code", "country")]
        return ", ".join(p for p in parts if p) or None
    return clean(value)


def _entries(records: Iterator[dict[str, Any] | RecordError]) -> Iterator[Entry | RecordError]:
    for record in records:
        if isinstance(record, RecordError):
            yield record
            continue
        source, name = clean(record.get("source")), clean(record.get("name"))
        if not source or not name:
            yield RecordError(f"us_csl: record without source or name: {record.get('_id')!r}")
            continue
        number = clean(record.get("entity_number"))
        identifiers: list[Identifier] = []
        for item in record.get("ids") or []:
            if not isinstance(item, dict):
                continue
            scheme = scheme_for_label(str(item.get("type") or ""))
            value = clean(item.get("number"))
            if scheme and value:
                identifiers.append(Identifier(scheme=scheme, value=value))
        remarks = clean(record.get("remarks"))
        identifiers.extend(i for i in from_remarks(remarks) if i not in identifiers)
        addresses = [a for a in map(_address, record.get("addresses") or []) if a]
        countries = [c for c in (record.get("nationalities") or []) + (record.get("citizenships") or []) if c]
        for address in record.get("addresses") or []:
            if isinstance(address, dict) and address.get("country"):
                countries.append(address["country"])
            elif isinstance(address, str) and len(tail := address.rsplit(",", 1)[-1].strip()) == 2 and tail.isupper():
                countries.append(tail)  # the CSV export ends each address with an ISO country code
        raw = {k: v for k, v in record.items() if k != "_id" or number}
        yield Entry(
            key=f"{source}|{number or name}",
            name=name,
            aliases=[a for a in (clean(x) for x in record.get("alt_names") or []) if a],
            entity_type=_TYPES.get((clean(record.get("type")) or "").lower(), "unknown"),
            identifiers=identifiers,
            countries=list(dict.fromkeys(countries)),
            addresses=addresses,
            programs=[*(record.get("programs") or []), source],
            listed_on=iso_date(record.get("start_date"), _DATES),
            end_date=iso_date(record.get("end_date"), _DATES),
            remarks=remarks,
            source_url=clean(record.get("source_information_url")) or clean(record.get("source_list_url")),
            raw=raw,
        )
