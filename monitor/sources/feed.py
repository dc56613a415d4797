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

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.models import Entry, Identifier
from contracts.settings import PREFIX, SettingsError
from monitor.sources.base import FileSpec, ListKind, RecordError, SnapshotError, SnapshotFiles, SourceInfo, require
from monitor.sources.csvrows import iter_dict_rows
from monitor.sources.jsonstream import iter_items
from monitor.sources.tabular import clean, iso_date, number_duplicates
from monitor.sources.xlsx import iter_rows

FIELDS = ("key", "name", "aliases", "entity_type", "countries", "addresses", "programs", "listed_on", "end_date",
          "remarks", "source_url")  # fmt: skip
_DEFAULT_DATES = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d")
_NAME_RE = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class FeedConfig:
    name: str
    format: str
    mapping: Mapping[str, tuple[str, ...]]
    kind: ListKind = ListKind.BLACK_LIST
    title: str = ""
    publisher: str = "user-supplied feed"
    jurisdiction: str | None = None
    url: str = ""
    json_path: str = "item"
    date_formats: tuple[str, ...] = _DEFAULT_DATES
    separator: str = ";"
    identifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def parse_mapping(text: str) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """``name=Company;id.uscc=USCC;aliases=Alias 1+Alias 2`` -> (fields, identifier schemes)."""
    fields: dict[str, tuple[str, ...]] = {}
    ids: dict[str, tuple[str, ...]] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        target, sep, columns = part.partition("=")
        target, cols = target.strip(), tuple(c.strip() for c in columns.split("+") if c.strip())
        if not sep or not cols:
            raise SettingsError(f"feed mapping item {part!r} is not field=column")
        if target.startswith("id."):
            ids[target[3:]] = cols
        elif target in FIELDS:
            fields[target] = cols
        else:
            raise SettingsError(f"feed mapping names unknown field {target!r}; known: {', '.join(FIELDS)}, id.<scheme>")
    if "name" not in fields:
        raise SettingsError("feed mapping needs name=<column>")
    return fields, ids


def feeds_from_env(env: Mapping[str, str]) -> list[FeedConfig]:
    out = []
    for name in (n.strip().lower() for n in env.get(PREFIX + "FEEDS", "").split(",") if n.strip()):
        if not _NAME_RE.match(name):
            raise SettingsError(f"{PREFIX}FEEDS: feed name {name!r} must be lowercase letters, digits or _")
        p = f"{PREFIX}FEED_{name.upper()}_"
        fmt = env.get(p + "FORMAT", "csv").strip().lower()
        if fmt not in {"csv", "json", "xlsx"}:
            raise SettingsError(f"{p}FORMAT must be csv, json or xlsx, got {fmt!r}")
        if not env.get(p + "MAPPING"):
            raise SettingsError(f"{p}MAPPING is required for feed {name!r}")
        fields, ids = parse_mapping(env[p + "MAPPING"])
        kind_text = env.get(p + "KIND", ListKind.BLACK_LIST.value).strip()
        try:
            kind = ListKind(kind_text)
        except ValueError:
            raise SettingsError(f"{p}KIND must be one of {', '.join(k.value for k in ListKind)}") from None
        dates = tuple(f.strip() for f in env.get(p + "DATE_FORMATS", "").split(",") if f.strip())
        out.append(FeedConfig(
            name=name, format=fmt, mapping=fields, identifiers=ids, kind=kind,
            title=env.get(p + "TITLE", f"Feed {name}"), publisher=env.get(p + "PUBLISHER", "user-supplied feed"),
            jurisdiction=env.get(p + "JURISDICTION") or None,
            url=env.get(p + "URL", ""), json_path=env.get(p + "JSON_PATH", "item"),
            date_formats=dates or _DEFAULT_DATES, separator=env.get(p + "SEPARATOR", ";") or ";",
        ))  # fmt: skip
    return out


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
                records = iter_dict_rows(stream, name, tuple(sorted(self.config.mapping["name"])))
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
