"""African Development Bank debarment and sanctions list (HTML table ``datatable``).
Key: ``Name|Nationality``: the page has no ids; a party debarred twice is numbered (``#2``).
"""

from __future__ import annotations

from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

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

_FILE = "debarment.html"
_URL = "https://www.afdb.org/en/projects-and-operations/procurement/debarment-and-sanctions-procedures"
_COLUMNS = ("Type", "Name", "Nationality", "From", "To", "Basis", "Notes")
_DATES = ("%d-%b-%Y", "%d-%B-%Y", "%Y-%m-%d", "%d/%m/%Y")
_TYPES = {"FIRM": "entity", "INDIVIDUAL": "individual"}


class Afdb:
    info = SourceInfo(
        id="afdb",
        jurisdiction="INT",
        publisher="African Development Bank",
        title="AfDB debarred and sanctioned entities",
        kind=ListKind.DEBARMENT,
        files=(FileSpec(_FILE, _URL),),
        key="Name|Nationality: the table has no ids; repeats numbered #2, #3 in page order",
        schedule_s=POLL_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "afdb")
        with stream:
            html = HTMLParser(stream.read())
        table = html.css_first("table.views-table") or html.css_first("table")
        if table is None:
            raise SnapshotError("afdb: no table in the page (layout changed, or an anti-bot page?)")
        header = [" ".join(th.text().split()) for th in table.css("thead th")]
        if header[: len(_COLUMNS)] != list(_COLUMNS):
            raise SnapshotError(f"afdb: unexpected columns {header}; expected {list(_COLUMNS)}")
        return number_duplicates(_rows(table.css("tbody tr")))


def _rows(rows: list[LexborNode]) -> Iterator[Entry | RecordError]:
    for index, tr in enumerate(rows, start=1):
        cells = [clean(td.text()) for td in tr.css("td")]
        if len(cells) != len(_COLUMNS):
            yield RecordError(f"afdb: table row {index} has {len(cells)} cells")
            continue
        raw = dict(zip(_COLUMNS, cells, strict=True))
        name = raw["Name"]
        if not name:
            yield RecordError(f"afdb: table row {index} has no name")
            continue
        nationality = raw["Nationality"]
        yield Entry(
            key=f"{name}|{nationality or ''}",
            name=name,
            entity_type=_TYPES.get((raw["Type"] or "").upper(), "unknown"),
            countries=[nationality] if nationality else [],
            programs=[raw["Basis"]] if raw["Basis"] else [],
            listed_on=iso_date(raw["From"], _DATES),
            end_date=iso_date(raw["To"], _DATES),
            remarks=raw["Notes"],
            source_url=_URL,
            raw=raw,
        )
