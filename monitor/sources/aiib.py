"""Asian Infrastructure Investment Bank debarment list (the AIIB's own sanctions; HTML table on its page).

The AIIB also enforces the other banks' cross-debarments, but publishes those only as links to the other
banks' lists, which listwatch reads at their source (worldbank, adb, afdb, ebrd, idb).

No real copy of the page could be obtained for this project: the parser follows the structure the AIIB
describes (per debarred party: name with aliases in brackets, address, nationality, start date, end date,
prohibited practice) and is strict about it. A table without those columns is a rejected snapshot naming
the columns it found, never an empty list; a date in no known format is an unreadable record, counted
against the error-rate guard.

Key: ``Name|Start Date``. The table has no ids; a party debarred twice has two start dates.
"""

from __future__ import annotations

import re
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

_FILE = "debarment-list.html"
_URL = "https://www.aiib.org/en/about-aiib/who-we-are/debarment-list/index.html"
# Column -> the header texts it may carry (compared case-insensitively, whitespace collapsed).
_COLUMNS = {
    "Name": ("name", "name of firm/individual", "firm/individual name", "entity/individual name"),
    "Address": ("address",),
    "Nationality": ("nationality", "country"),
    "Start Date": ("start date", "debarment start date", "date of debarment", "from"),
    "End Date": ("end date", "debarment end date", "to"),
    "Prohibited Practice": ("prohibited practice", "prohibited practices", "grounds"),
}
_DATES = ("%b %d, %Y", "%B %d, %Y", "%b. %d, %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d")
_OPEN_ENDED = {"permanent", "indefinite", "indefinitely", "open-ended"}
_BRACKETS = re.compile(r"[(（]([^()（）]*)[)）]")
_ALIAS_PREFIX = re.compile(r"^\s*(?:a\.?k\.?a\.?|also known as|formerly(?: known as)?|f/k/a|d/b/a)\s*:?\s*", re.I)


class Aiib:
    info = SourceInfo(
        id="aiib",
        jurisdiction="INT",
        publisher="Asian Infrastructure Investment Bank",
        title="AIIB debarment list",
        kind=ListKind.DEBARMENT,
        files=(FileSpec(_FILE, _URL),),
        key="Name|Start Date: the table has no ids; a party debarred twice has two start dates",
        schedule_s=POLL_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "aiib")
        with stream:
            html = HTMLParser(stream.read())
        tables = html.css("table")
        if not tables:
            raise SnapshotError("aiib: no table in the page (layout changed, or an anti-bot page?)")
        found: list[list[str]] = []
        for table in tables:
            header = _header(table)
            found.append(header)
            columns = _positions(header)
            if columns is not None:
                return number_duplicates(_rows(table, columns, len(header)))
        raise SnapshotError(f"aiib: no table with the columns {list(_COLUMNS)}; found {found}")


def _header(table: LexborNode) -> list[str]:
    cells = table.css("thead th") or (table.css("tr")[0].css("th, td") if table.css("tr") else [])
    return [" ".join(c.text().split()) for c in cells]


def _positions(header: list[str]) -> dict[str, int] | None:
    lowered = [h.lower().rstrip(":") for h in header]
    positions = {}
    for column, names in _COLUMNS.items():
        index = next((i for i, h in enumerate(lowered) if h in names), None)
        if index is None:
            return None
        positions[column] = index
    return positions


def split_name(cell: str) -> tuple[str, list[str]]:
    """``Name (a.k.a. Other; Another)`` -> ("Name", ["Other", "Another"]). A bracket is an alias when it says
    so (a.k.a., formerly ...) or closes the cell with more than one word; "(Beijing)" in "China Railway
    (Beijing) Engineering" or a trailing "(HK)" stays part of the name."""
    aliases: list[str] = []

    def take(match: re.Match[str]) -> str:
        group = match.group(1)
        trailing = not cell[match.end() :].strip(" ,;.")
        if _ALIAS_PREFIX.match(group) or (trailing and len(group.split()) > 1):
            aliases.extend(" ".join(_ALIAS_PREFIX.sub("", p).split()) for p in re.split(r";|\s/\s", group))
            return " "
        return match.group(0)

    name = " ".join(_BRACKETS.sub(take, cell).split()).strip(" ,;")
    return name, [a for a in aliases if a]


def _date(value: str | None, column: str, row: int) -> str | None:
    if value is None or value.lower() in _OPEN_ENDED:
        return None
    parsed = iso_date(value, _DATES)
    if parsed is None:
        raise RecordError(f"aiib: row {row}: {column} {value!r} is in no known date format")
    return parsed


def _rows(table: LexborNode, columns: dict[str, int], width: int) -> Iterator[Entry | RecordError]:
    body = table.css("tbody tr") or table.css("tr")[1:]
    for index, tr in enumerate(body, start=1):
        cells = [clean(td.text(separator=" ")) for td in tr.css("td")]
        if not any(cells):
            continue
        if len(cells) != width:
            yield RecordError(f"aiib: row {index} has {len(cells)} cells, the header {width}")
            continue
        raw = {column: cells[i] for column, i in columns.items()}
        if not raw["Name"]:
            yield RecordError(f"aiib: row {index} has no name")
            continue
        try:
            start = _date(raw["Start Date"], "Start Date", index)
            end = _date(raw["End Date"], "End Date", index)
        except RecordError as exc:
            yield exc
            continue
        name, aliases = split_name(raw["Name"])
        nationality = raw["Nationality"]
        yield Entry(
            key=f"{name}|{raw['Start Date'] or ''}",
            name=name,
            aliases=aliases,
            countries=[nationality] if nationality else [],
            addresses=[raw["Address"]] if raw["Address"] else [],
            programs=[raw["Prohibited Practice"]] if raw["Prohibited Practice"] else [],
            listed_on=start,
            end_date=end,
            source_url=_URL,
            raw=raw,
        )
