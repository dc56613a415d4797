"""Generic feeds: lists that users obtain themselves (Credit China exports, customs AEO lists, a data
vendor's file) as CSV, JSON or XLSX, mapped onto entries by a column mapping from settings.

Each feed ``NAME`` in ``LISTWATCH_FEEDS`` becomes source ``feed_NAME`` configured by
``LISTWATCH_FEED_<NAME>_*``: ``FORMAT`` (csv, json, xlsx), ``MAPPING`` (``field=column;…`` with fields
key, name, aliases, entity_type, countries, addresses, programs, listed_on, end_date, remarks, source_url and
``id.<scheme>`` such as ``id.uscc``; several columns for one field joined with ``+``), ``KIND`` (e.g.
``red list``), ``TITLE``, ``PUBLISHER``, ``URL``, ``JSON_PATH`` (ijson prefix of the records, default
``item``), ``DATE_FORMATS`` (``,``-separated strptime formats), ``SEPARATOR`` (inside a cell, default ``;``).
Key: the mapped ``key`` columns joined with ``|`` (default: the name column); repeats numbered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.models import Entry, Identifier
from monitor.sources.base import FileSpec, ListKind, RecordError, SnapshotError, SnapshotFiles, SourceInfo, require
from monitor.sources.csvrows import iter_dict_rows
from monitor.sources.jsonstream import iter_items
from monitor.sources.tabular import clean, iso_date, number_duplicates
from monitor.sources.xlsx import iter_rows

FIELDS = ("key", "name", "aliases", "entity_type", "countries", "addresses", "programs", "listed_on", "end_date",
          "remarks", "source_url")  # fmt: skip
_DEFAULT_DATES = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d")


DEFAULT_DATES = _DEFAULT_DATES


@dataclass(frozen=True)
class FeedConfig:
    """One user-supplied list, read from the environment by monitor/settings.py."""

    # LISTWATCH_FEEDS: comma-separated feed names; each is configured by LISTWATCH_FEED_<NAME>_*.
    name: str
    # LISTWATCH_FEED_<NAME>_FORMAT: csv, json or xlsx.
    format: str
    # LISTWATCH_FEED_<NAME>_MAPPING: "name=Company;id.uscc=USCC;aliases=Alias 1+Alias 2" (field=column).
    mapping: Mapping[str, tuple[str, ...]]
    # LISTWATCH_FEED_<NAME>_KIND: a list kind (sanction, debarment, export-control, countermeasure, red list,
    # black list).
    kind: ListKind = ListKind.BLACK_LIST
    # LISTWATCH_FEED_<NAME>_TITLE
    title: str = ""
    # LISTWATCH_FEED_<NAME>_PUBLISHER: the authority that publishes it.
    publisher: str = "user-supplied feed"
    # LISTWATCH_FEED_<NAME>_JURISDICTION: whose list it is (ISO country code, EU, UN, INT).
    jurisdiction: str | None = None
    # LISTWATCH_FEED_<NAME>_URL: where to fetch it.
    url: str = ""
    # LISTWATCH_FEED_<NAME>_JSON_PATH: the ijson prefix of the records ("item" for a top-level array).
    json_path: str = "item"
    # LISTWATCH_FEED_<NAME>_DATE_FORMATS: comma-separated strptime formats of its dates.
    date_formats: tuple[str, ...] = _DEFAULT_DATES
    # LISTWATCH_FEED_<NAME>_SEPARATOR: between several values in one cell.
    separator: str = ";"
    identifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # LISTWATCH_FEED_<NAME>_PRESET: a named layout of a Chinese social-credit list (creditchina_dishonest,
    # court_dishonest_debtors, samr_serious_violations, tax_major_violations, customs_aeo, tax_a_grade;
    # monitor/sources/feed_presets.py) giving FORMAT, MAPPING, KIND, TITLE, PUBLISHER and JURISDICTION.
    preset: str | None = None


class Feed:
    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        key_doc = "|".join(config.mapping.get("key", config.mapping["name"]))
        self.info = SourceInfo(
            id=f"feed_{config.name}",
            publisher=config.publisher,
            jurisdiction=config.jurisdiction,
            title=config.title,
            kind=config.kind,
            files=(FileSpec(f"feed.{config.format}", config.url or "file:unset"),),
            key=f"columns {key_doc} (from the feed mapping); repeats numbered",
            schedule_s=86400,
        )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        name = self.info.primary.name
        stream = require(files, name, self.info.id)
        columns = {c for cols in (*self.config.mapping.values(), *self.config.identifiers.values()) for c in cols}
        with stream:
            if self.config.format == "json":
                records: Iterator[dict[str, Any] | RecordError] = iter_items(stream, self.config.json_path, name)
            elif self.config.format == "xlsx":
                records = _xlsx_records(iter_rows(stream, name), columns, name)
            else:
                # Every mapped column must be in the header: a file in another layout is refused, naming them.
                records = iter_dict_rows(stream, name, tuple(sorted(columns)))
            yield from number_duplicates(self._entries(records))

    def _values(self, record: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        for column in columns:
            value = record.get(column)
            items = value if isinstance(value, list) else str(value or "").split(self.config.separator)
            out.extend(v for v in (clean(i) for i in items) if v)
        return out

    def _entries(self, records: Iterator[dict[str, Any] | RecordError]) -> Iterator[Entry | RecordError]:
        m = self.config.mapping
        for record in records:
            if isinstance(record, RecordError):
                yield record
                continue
            one = {f: " ".join(self._values(record, cols)) or None for f, cols in m.items()}
            names = self._values(record, m["name"])
            if not names:
                yield RecordError(f"{self.info.id}: record without {'+'.join(m['name'])}")
                continue
            key = "|".join(self._values(record, m["key"])) if "key" in m else names[0]
            if not key:
                yield RecordError(f"{self.info.id}: record {names[0]!r} without key column(s)")
                continue
            yield Entry(
                key=key,
                name=names[0],
                aliases=names[1:] + self._values(record, m.get("aliases", ())),
                entity_type=(one.get("entity_type") or "unknown").lower(),
                identifiers=[Identifier(scheme=s, value=v.upper().replace(" ", ""))
                             for s, cols in self.config.identifiers.items() for v in self._values(record, cols)],
                countries=self._values(record, m.get("countries", ())),
                addresses=self._values(record, m.get("addresses", ())),
                programs=self._values(record, m.get("programs", ())),
                listed_on=iso_date(one.get("listed_on"), self.config.date_formats),
                end_date=iso_date(one.get("end_date"), self.config.date_formats),
                remarks=one.get("remarks"),
                source_url=one.get("source_url"),
                raw={k: v for k, v in record.items() if clean(v if not isinstance(v, list) else ";".join(map(str, v)))},
            )  # fmt: skip


def _xlsx_records(rows: Iterator[tuple[Any, ...]], columns: set[str], name: str) -> Iterator[dict[str, Any]]:
    header: list[str] | None = None
    for index, row in enumerate(rows, start=1):
        cells = [clean(c) or "" for c in row]
        if header is None:
            if columns & set(cells):
                header = cells
            elif index > 20:
                raise SnapshotError(f"{name}: none of the mapped columns in the first 20 rows")
            continue
        if any(cells):
            yield {h: row[i] if i < len(row) else None for i, h in enumerate(header) if h}
    if header is None:
        raise SnapshotError(f"{name}: the sheet is empty")
