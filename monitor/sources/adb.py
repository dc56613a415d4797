"""Asian Development Bank sanctions list (JSON:API, paged by ``links.next``).
Key: ``name|nationality``: the JSON:API resource ids are not documented as stable; repeats numbered.
``links.next`` names an internal host; it is rewritten onto the host the first page came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import orjson

from contracts.models import Entry
from monitor.sources.base import POLL_S, FileSpec, ListKind, RecordError, SnapshotError, SnapshotFiles, SourceInfo
from monitor.sources.jsonstream import iter_items
from monitor.sources.tabular import clean, iso_date, number_duplicates, split

_FIRST = "page-0001.json"
_URL = "https://apim.adb.org/sanctions/lists/v1/published-list?sortField=Name&isAscending=true"
_DATES = ("%d/%b/%Y", "%d/%B/%Y", "%Y-%m-%d", "%d-%b-%Y")
_TYPES = {"firm": "entity", "entity": "entity", "individual": "individual"}


def page_name(number: int) -> str:
    return f"page-{number:04d}.json"


class Adb:
    info = SourceInfo(
        id="adb",
        jurisdiction="INT",
        publisher="Asian Development Bank",
        title="ADB sanctions list",
        kind=ListKind.DEBARMENT,
        files=(FileSpec(_FIRST, _URL),),
        key="name|nationality: resource ids are not documented as stable; repeats numbered #2, #3",
        schedule_s=POLL_S,
    )

    def linked_files(self, name: str, data: bytes, url: str) -> list[FileSpec]:
        """The next page, with the leaked internal host replaced by the one this page came from."""
        if not (name.startswith("page-") and name.endswith(".json")):
            return []
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"adb: {name} is not JSON ({exc})") from exc
        nxt = (document.get("links") or {}).get("next") if isinstance(document, dict) else None
        if not nxt:
            return []
        here, there = urlsplit(url), urlsplit(nxt)
        public = urlunsplit((here.scheme, here.netloc, there.path, there.query, ""))
        return [FileSpec(page_name(int(name[5:9]) + 1), public)]

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        pages = [n for n in files.names() if n.startswith("page-") and n.endswith(".json")]
        if not pages:
            raise SnapshotError("adb: no pages in the snapshot")
        yield from number_duplicates(self._entries(files, pages))

    def _entries(self, files: SnapshotFiles, pages: list[str]) -> Iterator[Entry | RecordError]:
        for page in pages:
            stream = files.open(page)
            if stream is None:
                continue
            with stream:
                for item in iter_items(stream, "data.item", page):
                    attributes = item.get("attributes") or {}
                    raw = {k: clean(v) for k, v in attributes.items()}
                    name = raw.get("name")
                    if not name:
                        yield RecordError(f"adb: {page}: record without name")
                        continue
                    nationality = raw.get("nationality")
                    yield Entry(
                        key=f"{name}|{nationality or ''}",
                        name=name,
                        aliases=split(raw.get("otherName"), ";"),
                        entity_type=_TYPES.get((raw.get("entityType") or "").lower(), "unknown"),
                        countries=[nationality] if nationality else [],
                        addresses=split(raw.get("address"), ";"),
                        programs=[p for p in (raw.get("sanctionType"), raw.get("grounds")) if p],
                        listed_on=iso_date(raw.get("effectiveDateOfSanction"), _DATES),
                        end_date=iso_date(raw.get("lapseDateOfSanction"), _DATES),
                        source_url="https://www.adb.org/who-we-are/integrity/sanctions",
                        raw=raw,
                    )
