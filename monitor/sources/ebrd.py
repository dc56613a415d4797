"""EBRD ineligible entities (CSV export of the website list). Key: ``Firm Name|Nationality`` (no ids
published; repeats numbered). Dates are ISO timestamps, or "Ongoing"."""

from __future__ import annotations

from collections.abc import Iterator

from contracts.models import Entry
from monitor.sources.base import POLL_S, FileSpec, ListKind, RecordError, SnapshotFiles, SourceInfo, require
from monitor.sources.csvrows import iter_dict_rows
from monitor.sources.tabular import clean, iso_date, number_duplicates, split

_FILE = "ebrd_ineligible.csv"
_URL = "https://www.ebrd.com/home/who-we-are/our-values/ineligible-entities.html"
_DATES = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d", "%d-%m-%Y")


class Ebrd:
    info = SourceInfo(
        id="ebrd",
        jurisdiction="INT",
        publisher="European Bank for Reconstruction and Development",
        title="EBRD ineligible entities",
        kind=ListKind.DEBARMENT,
        files=(FileSpec(_FILE, _URL),),
        key="Firm Name|Nationality: no ids published; repeats numbered #2, #3 in file order",
        schedule_s=POLL_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "ebrd")
        with stream:
            yield from number_duplicates(self._entries(iter_dict_rows(stream, _FILE, ("Firm Name", "Nationality"))))

    def _entries(self, rows: Iterator[dict[str, str] | RecordError]) -> Iterator[Entry | RecordError]:
        for row in rows:
            if isinstance(row, RecordError):
                yield row
                continue
            raw = {k: clean(v) for k, v in row.items()}
            name = raw.get("Firm Name")
            if not name:
                yield RecordError("ebrd: row without Firm Name")
                continue
            nationality = raw.get("Nationality")
            yield Entry(
                key=f"{name}|{nationality or ''}",
                name=name,
                entity_type="entity",
                countries=[nationality] if nationality else [],
                addresses=split(raw.get("Address"), "$"),
                programs=[p for p in (raw.get("Prohibited Practice"), raw.get("Originating Institution")) if p],
                listed_on=iso_date(raw.get("Ineligible From"), _DATES),
                end_date=iso_date(raw.get("Ineligible Until"), _DATES),
                source_url=_URL,
                raw=raw,
            )
