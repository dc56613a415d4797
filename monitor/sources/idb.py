"""Inter-American Development Bank sanctioned firms and individuals (XLSX export).
Key: ``Title|Entity`` (name and Firm/Individual): the export has no ids; repeats are numbered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
from monitor.sources.tabular import clean, iso_date, number_duplicates
from monitor.sources.xlsx import iter_rows

_FILE = "idb_sanctions.xlsx"
_URL = "https://www.iadb.org/en/who-we-are/transparency/sanctions-system/sanctioned-firms-and-individuals"
_COLUMNS = ("Title", "Entity", "Nationality", "Country", "From", "To", "Grounds", "Source",
            "IDB Sanction Type", "IDB Sanction Source", "Other Name")  # fmt: skip
_DATES = ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d", "%d/%m/%Y")
_TYPES = {"firm": "entity", "individual": "individual"}


class Idb:
    info = SourceInfo(
        id="idb",
        jurisdiction="INT",
        publisher="Inter-American Development Bank",
        title="IDB sanctioned firms and individuals",
        kind=ListKind.DEBARMENT,
        files=(FileSpec(_FILE, _URL),),
        key="Title|Entity: the export has no ids; repeats numbered #2, #3 in file order",
        schedule_s=POLL_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "idb")
        with stream:
            yield from number_duplicates(_entries(iter_rows(stream, _FILE)))


def _entries(rows: Iterator[tuple[Any, ...]]) -> Iterator[Entry | RecordError]:
    header: list[str] | None = None
    for index, row in enumerate(rows, start=1):
        if header is None:
            cells = [clean(c) or "" for c in row]
            if cells[: len(_COLUMNS)] == list(_COLUMNS):
                header = cells
            elif index > 20:
                raise SnapshotError(f"idb: no header row with {_COLUMNS[:3]}… in the first 20 rows")
            continue
        if not any(clean(c) for c in row):
            continue
        raw = {col: clean(row[i]) if i < len(row) else None for i, col in enumerate(_COLUMNS)}
        title = raw["Title"]
        if not title:
            yield RecordError(f"idb: row {index} has no Title")
            continue
        countries = [c for c in (raw["Nationality"], raw["Country"]) if c]
        yield Entry(
            key=f"{title}|{raw['Entity'] or ''}",
            name=title,
            aliases=[raw["Other Name"]] if raw["Other Name"] else [],
            entity_type=_TYPES.get((raw["Entity"] or "").lower(), "unknown"),
            countries=list(dict.fromkeys(countries)),
            programs=[p for p in (raw["Grounds"], raw["Source"]) if p],
            listed_on=iso_date(raw["From"], _DATES),
            end_date=iso_date(raw["To"], _DATES),
            source_url=_URL,
            raw=raw,
        )
    if header is None:
        raise SnapshotError("idb: the sheet is empty")
