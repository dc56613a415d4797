"""EU designations from the Official Journal, before the consolidated FSF file carries them (up to three
weeks later): *provisional* additions, confirmed when the ``eu_fsf`` entry appears.

Where the acts come from: OpenSanctions' reviewed transcriptions of the restrictive-measures acts in the
OJ L series (dataset ``eu_journal_sanctions``, one CSV per amending act, one row per designated person,
entity or vessel, in the printed wording of the annex). The index is the GitHub contents listing of that
folder; an act's CSV is fetched when its CELEX year is this year or last (older acts are in the FSF long
since). Reading EUR-Lex's HTML or Formex directly would save the transcription's delay but no copy of
either could be obtained to build a parser on (see the shared real data's PROVENANCE.md).

An act both lists new parties and amends existing entries; a row whose start date lies before the year
preceding the act's (an entry listed years ago) is an amendment of an entry already in the FSF, not a new
designation, and is left out. (A UN listing taken over the next year keeps the UN's date: 2026/1960 adds
a party listed by the UN on 16.6.2025.) Rows that still name a party the FSF already has are dropped by
the streams when they reconcile provisional alerts.
Key: ``CELEX|recordId`` (``CELEX|name`` without a record id). Entries carry the act's CELEX number as
``raw.celex`` and their EUR-Lex address as ``source_url``. Changes are published with
``provisional_for: "eu_fsf"``; when an act leaves the window its entries go as ``superseded``, never alerted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson

from contracts.models import Entry, Identifier
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
from monitor.sources.tabular import clean, iso_date

INDEX = "amendments.json"
_INDEX_URL = (
    "https://api.github.com/repos/opensanctions/opensanctions/contents/datasets/eu/journal_sanctions/data/amendments"
)
_ACT = re.compile(r"^3(\d{4})[RDL]\d{4}\.csv$")
_EURLEX = "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{celex}"
_REQUIRED = ("amendmentCelex", "recordId", "schema", "name", "startDate")
_SCHEMATA = {"Person": "individual", "LegalEntity": "entity", "Organization": "entity", "Company": "entity",
             "Vessel": "vessel", "Airplane": "aircraft"}  # fmt: skip
_IDS = {"innCode": "inn", "ogrnCode": "ogrn", "imoNumber": "imo", "leiCode": "lei",
        "registrationNumber": "registration", "taxNumber": "tax", "passportNumber": "passport",
        "swiftBic": "bic"}  # fmt: skip
# An alias cell sometimes runs on into the annex's particulars ("Sayf-Al Adl. Date of birth: …").
_PARTICULARS = re.compile(r"\.?\s+(?:Date of birth|Place of birth|Nationality|In Arabic|Passport|Address)\b.*$")


class EuJournal:
    info = SourceInfo(
        id="eu_journal",
        jurisdiction="EU",
        publisher="Council of the European Union (Official Journal, L series)",
        title="EU restrictive-measures acts in the Official Journal (provisional, before the FSF)",
        kind=ListKind.SANCTION,
        files=(FileSpec(INDEX, _INDEX_URL),),
        key="CELEX|recordId: the act and the annex entry",
        schedule_s=POLL_S,
        provisional_for="eu_fsf",
        # Acts age out of the window in bulk each January: that is not a broken download.
        min_ratio=0.0,
    )

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now

    def linked_files(self, name: str, data: bytes, url: str) -> list[FileSpec]:
        """From the folder listing, the acts of this year and last."""
        if name != INDEX:
            return []
        try:
            listing = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"eu_journal: {INDEX} is not JSON: {exc}") from exc
        if not isinstance(listing, list):
            raise SnapshotError(f"eu_journal: {INDEX} is not a folder listing")
        year = (self._now or datetime.now(UTC)).year
        specs = []
        for item in listing:
            if not isinstance(item, dict):
                continue
            act, link = _ACT.match(str(item.get("name", ""))), item.get("download_url")
            if act and link and int(act[1]) >= year - 1:
                specs.append(FileSpec(f"act-{item['name']}", str(link)))
        return specs

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        require(files, INDEX, "eu_journal").close()
        for name in files.names():
            if not name.startswith("act-"):
                continue
            stream = files.open(name)
            if stream is None:
                continue
            with stream:
                text = stream.read().decode("utf-8-sig")
            yield from parse_act(name.removeprefix("act-"), text)


def parse_act(name: str, text: str) -> Iterator[Entry | RecordError]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise SnapshotError(f"eu_journal: {name} lacks the columns {missing} (the transcription format changed?)")
    for number, row in enumerate(reader, start=2):
        raw = {k: clean(v) for k, v in row.items() if k and clean(v)}
        celex, person = raw.get("amendmentCelex"), raw.get("name")
        act = _ACT.match(f"{celex}.csv") if celex else None
        if not act or not person:
            yield RecordError(f"eu_journal: {name} line {number}: no CELEX number or no name")
            continue
        started = iso_date(raw.get("startDate"), ("%d.%m.%Y",))
        if started is None:
            yield RecordError(f"eu_journal: {name} line {number}: start date {raw.get('startDate')!r} unreadable")
            continue
        if int(started[:4]) < int(act[1]) - 1:
            continue  # an amendment of an entry listed years before: the FSF has it already
        aliases = []
        for part in (raw.get("alias") or "").split(";") + (raw.get("previousName") or "").split(";"):
            alias = _PARTICULARS.sub("", part).strip(" .")
            if alias and alias != person and alias not in aliases:
                aliases.append(alias)
        countries = [c.strip() for f in ("country", "nationality") for c in (raw.get(f) or "").split(";") if c.strip()]
        yield Entry(
            key=f"{celex}|{raw.get('recordId') or person}",
            name=person,
            aliases=aliases,
            entity_type=_SCHEMATA.get(raw.get("schema") or "", "unknown"),
            identifiers=[
                Identifier(scheme=scheme, value=value.strip())
                for field, scheme in _IDS.items()
                for value in (raw.get(field) or "").split(";")
                if value.strip()
            ],
            countries=list(dict.fromkeys(countries)),
            addresses=[a for a in (raw.get("address"),) if a],
            programs=[p for p in (raw.get("programKey"),) if p],
            listed_on=started,
            remarks=raw.get("reason"),
            source_url=_EURLEX.format(celex=celex),
            raw={"celex": celex, **{k: v for k, v in raw.items() if k != "reason"}},
        )
