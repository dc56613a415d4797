"""China's sanctions and countermeasures (MFA countermeasures, MOFCOM Unreliable Entity List, export
control lists), as curated by OpenSanctions in one CSV, each row citing the official notice.
Key: ``Name|List|Date|Source URL``: one row per designation of a party; no ids. The file is back-filled
with old designations at times: an "added" row can carry an old ``Date`` (kept in ``listed_on``)."""

from __future__ import annotations

from collections.abc import Iterator

from contracts.models import Entry
from monitor.sources.base import POLL_S, FileSpec, ListKind, RecordError, SnapshotFiles, SourceInfo, require
from monitor.sources.csvrows import iter_dict_rows
from monitor.sources.tabular import clean, iso_date, number_duplicates, split

_FILE = "sanctions.csv"
_URL = "https://raw.githubusercontent.com/opensanctions/opensanctions/main/datasets/cn/sanctions/sanctions.csv"
_DATES = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d")
_TYPES = {"organization": "entity", "company": "entity", "person": "individual", "vessel": "vessel"}


class CnSanctions:
    info = SourceInfo(
        id="cn_sanctions",
        jurisdiction="CN",
        publisher="PRC MFA / MOFCOM (curated by OpenSanctions)",
        title="China sanctions, countermeasures and Unreliable Entity List (curated)",
        kind=ListKind.COUNTERMEASURE,
        files=(FileSpec(_FILE, _URL),),
        key="Name|List|Date|Source URL: one row per designation; no ids published",
        schedule_s=POLL_S,
    )

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        stream = require(files, _FILE, "cn_sanctions")
        with stream:
            rows = iter_dict_rows(stream, _FILE, ("Type", "Name", "Chinese name", "Date", "Source URL"))
            yield from number_duplicates(_entries(rows))


def _entries(rows: Iterator[dict[str, str] | RecordError]) -> Iterator[Entry | RecordError]:
    for row in rows:
        if isinstance(row, RecordError):
            yield row
            continue
        raw = {k: clean(v) for k, v in row.items()}
        name = raw.get("Name") or raw.get("Chinese name")
        if not name:
            yield RecordError("cn_sanctions: row without Name or Chinese name")
            continue
        aliases = [a for a in (raw.get("Chinese name"), *split(raw.get("Alias"), ";")) if a and a != name]
        key = "|".join(raw.get(k) or "" for k in ("Name", "List", "Date", "Source URL"))
        yield Entry(
            key=key,
            name=name,
            aliases=list(dict.fromkeys(aliases)),
            entity_type=_TYPES.get((raw.get("Type") or "").lower(), "unknown"),
            countries=split(raw.get("Country"), ";"),
            addresses=[a for a in (raw.get("Address"),) if a],
            programs=[p for p in (raw.get("List"), raw.get("Body")) if p],
            listed_on=iso_date(raw.get("Date"), _DATES),
            end_date=iso_date(raw.get("End date"), _DATES),
            remarks=raw.get("Summary") or raw.get("Chinese summary"),
            source_url=raw.get("Source URL"),
            raw=raw,
        )
