"""World Bank listing of ineligible firms and individuals.

Reads either the JSON API (``response.ZPROCSUPP[]``, key ``SUPP_ID``, the Bank's supplier id) or the
website's XLSX export (key ``Firm Name|Country``, repeats numbered: the export has no ids). The format is
recognised from the content; a deployment should stick to one, since the keys differ.
The API wants the public ``apikey`` header from the Bank's own web page; it rotates, so it is a setting:
``LISTWATCH_SOURCE_WORLDBANK_HEADERS="apikey: …"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from contracts.models import Entry
from monitor.sources.base import (
    POLL_S,
    FileSpec,
    ListKind,
    RecordError,
    SnapshotError,
    SnapshotFiles,
    SourceInfo,
    require,
)
from monitor.sources.jsonstream import iter_items
from monitor.sources.tabular import clean, iso_date, number_duplicates
from monitor.sources.xlsx import iter_rows

_FILE = "ineligible"
_API = "https://apigwext.worldbank.org/dvsvc/v1.0/json/APPLICATION/ADOBE_EXPRNCE_MGR/FIRM/SANCTIONED_FIRM"
_PAGE = "https://www.worldbank.org/en/projects-operations/procurement/debarred-firms"
_API_DATES = ("%d-%b-%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%fZ")  # the 2019 API gave timestamps
_XLSX_DATES = ("%Y-%m-%d", "%d-%b-%Y", "%m/%d/%Y")
_PERMANENT = "2999-12-31"
# The feed's own timestamp, repeated on every record: not the record's data.
_FEED_STAMP = "LAST_REFRESH_DATE"
# A footnote marker ("*476") that the Bank renumbers whenever a footnote is inserted above it.
_FOOTNOTE = re.compile(r"\s*\*\d+")
# "X a.k.a. Y", "f/k/a", "d/b/a" inside the published name.
_AKA = re.compile(r"\s*[,;(]?\s*\b(?:a\.k\.a\.|aka|f/k/a|fka|d/b/a|dba|formerly known as)\s+", re.IGNORECASE)


def split_names(value: str) -> tuple[str, list[str]]:
    """The primary name and the aliases folded into it, footnote stars dropped."""
    parts = [p.strip(" ,;()*") for p in _AKA.split(value.replace("*", " "))]
    parts = [" ".join(p.split()) for p in parts if p.strip(" ,;()*")]
    return (parts[0], parts[1:]) if parts else (value.strip(), [])


class WorldBank:
    info = SourceInfo(
        id="worldbank",
        jurisdiction="INT",
        publisher="World Bank Group",
        title="Listing of ineligible firms and individuals",
        kind=ListKind.DEBARMENT,
        files=(FileSpec(_FILE, _API),),
        key="SUPP_ID (JSON API); Firm Name|Country for the website XLSX export",
        schedule_s=POLL_S,
        # Renumbered footnotes and update stamps change without anything said about the firm.
        cosmetic_fields=frozenset({"raw.ADD_SUPP_INFO", "raw.UPD_DATE", "raw.UPD_TIME"}),
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "worldbank")
        with stream:
            head = stream.read(4)
            stream.seek(0)
            if head.startswith(b"PK"):
                yield from number_duplicates(_xlsx(stream))
            else:
                yield from _json(stream)


def _json(stream: IO[bytes]) -> Iterator[Entry | RecordError]:
    for item in iter_items(stream, "response.ZPROCSUPP.item", _FILE):
        raw = {k: clean(v) for k, v in item.items() if k != _FEED_STAMP}
        key, published = raw.get("SUPP_ID"), raw.get("SUPP_NAME")
        if not key or not published:
            yield RecordError(f"worldbank: record without SUPP_ID or SUPP_NAME: {item!r:.120}")
            continue
        name, aliases = split_names(published)
        address = ", ".join(p for p in (raw.get("SUPP_ADDR"), raw.get("SUPP_CITY"), raw.get("SUPP_STATE_CODE"),
                                        raw.get("SUPP_ZIP_CODE"), raw.get("COUNTRY_NAME")) if p)  # fmt: skip
        end = iso_date(raw.get("DEBAR_TO_DATE"), _API_DATES)
        yield Entry(
            key=key,
            name=name,
            aliases=aliases,
            entity_type={"F": "entity", "I": "individual"}.get(raw.get("SUPP_TYPE_CODE") or "", "unknown"),
            countries=[c for c in (raw.get("COUNTRY_NAME"),) if c],
            addresses=[address] if address else [],
            programs=[p for p in (raw.get("DEBAR_REASON"),) if p],
            listed_on=iso_date(raw.get("DEBAR_FROM_DATE"), _API_DATES),
            end_date=None if end == _PERMANENT else end,
            remarks=_FOOTNOTE.sub("", raw.get("ADD_SUPP_INFO") or "").strip() or None,
            source_url=_PAGE,
            raw=raw,
        )


def _xlsx(stream: IO[bytes]) -> Iterator[Entry | RecordError]:
    rows = iter_rows(stream, _FILE)
    header: list[str] | None = None
    for index, row in enumerate(rows, start=1):
        cells = [clean(c) or "" for c in row]
        if header is None:
            if cells and cells[0] == "Firm Name":
                sub = [clean(c) or "" for c in next(rows, ())]
                # "Ineligibility Period" spans From Date / To Date, named on the row below.
                header = [sub[i] if i < len(sub) and sub[i] else h for i, h in enumerate(cells)]
            elif index > 20:
                raise SnapshotError("worldbank: no 'Firm Name' header in the first 20 rows")
            continue
        if not any(cells):
            continue
        raw: dict[str, Any] = {h: clean(row[i]) if i < len(row) else None for i, h in enumerate(header) if h}
        published = raw.get("Firm Name")
        if not published:
            yield RecordError(f"worldbank: row {index} has no Firm Name")
            continue
        name, aliases = split_names(published)
        end = iso_date(raw.get("To Date"), _XLSX_DATES)
        yield Entry(
            key=f"{published}|{raw.get('Country') or ''}",
            name=name,
            aliases=aliases,
            entity_type="unknown",
            countries=[c for c in (raw.get("Country"),) if c],
            addresses=[a for a in (raw.get("Address"),) if a],
            programs=[g for g in (raw.get("Grounds"),) if g],
            listed_on=iso_date(raw.get("From Date"), _XLSX_DATES),
            end_date=None if end == _PERMANENT else end,
            remarks=raw.get("Additional Firm Info"),
            source_url=_PAGE,
            raw=raw,
        )
    if header is None:
        raise SnapshotError("worldbank: the sheet is empty")
