"""MOFCOM export-control control list (出口管制管控名单) and watch list (关注名单), from the Security and
Control Bureau's publishing API (paged JSON), beside the notices that ``cn_mofcom`` crawls.

The two lists are read from one API each, page by page: the first page says how many records there are,
and the further pages are linked from it (``pageNo=2…``). A snapshot whose pages do not add up to that
total is refused (a page went missing or the paging moved), never read as removals.

No real API response could be obtained for this project: the format below is the one the Bureau's site
loads its tables from as far as it could be established (``{"code": 200, "data": {"total", "pageNo",
"pageSize", "list": [...]}}``; per record the Chinese and English names, the country or region, the list,
the date listed, the announcement number, and a removal date once removed), and the fixtures are
hand-made from it. Field names are matched strictly: a record without a name, or a page without
``data.list``, is an error, not an empty list.

Key: ``list|English name`` (``list|中文名`` without one), the same as ``cn_mofcom`` builds from notices.
A record that carries a removal date has left the list: the watch list's removals matter as much as its
additions (a party cleared from the watch list may trade again).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from contracts.models import Entry
from monitor.sources.base import PROBE_S, FileSpec, ListKind, RecordError, SnapshotError, SnapshotFiles, SourceInfo

_API = "https://aqygzj.mofcom.gov.cn/api/ecl/list?listType={kind}&pageNo=1&pageSize=100"
LISTS = {
    "control": ("出口管制管控名单", "Export Control Control List"),
    "watch": ("出口管制关注名单", "Export Control Watch List"),
}
_PAGE = re.compile(r"^(control|watch)-(\d+)\.json$")
_MAX_PAGES = 500


def _page_url(url: str, number: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["pageNo"] = str(number)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _data(raw: bytes, name: str) -> dict[str, Any]:
    try:
        page = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"cn_export_control: {name} is not JSON: {exc}") from exc
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("list"), list) or not isinstance(data.get("total"), int):
        raise SnapshotError(f"cn_export_control: {name} has no data.list / data.total (the API changed?)")
    if page.get("code") not in (200, "200", 0, "0", None):
        raise SnapshotError(f"cn_export_control: {name} answered code {page.get('code')!r}: {page.get('msg')!r}")
    return data


class CnExportControl:
    info = SourceInfo(
        id="cn_export_control",
        jurisdiction="CN",
        publisher="PRC Ministry of Commerce, Security and Control Bureau",
        title="Export control control list and watch list (publishing API)",
        kind=ListKind.EXPORT_CONTROL,
        files=tuple(FileSpec(f"{kind}-1.json", _API.format(kind=kind)) for kind in LISTS),
        key="list|English name (list|中文名 without one), as cn_mofcom",
        schedule_s=PROBE_S,
        min_ratio=0.9,
    )

    def linked_files(self, name: str, data: bytes, url: str) -> list[FileSpec]:
        """From the first page of a list, every further page its total calls for."""
        match = _PAGE.match(name)
        if not match or match[2] != "1":
            return []
        page = _data(data, name)
        size = int(page.get("pageSize") or len(page["list"]) or 1)
        pages = math.ceil(page["total"] / size)
        if pages > _MAX_PAGES:
            raise SnapshotError(f"cn_export_control: {name} calls for {pages} pages (limit {_MAX_PAGES})")
        return [FileSpec(f"{match[1]}-{n}.json", _page_url(url, n)) for n in range(2, pages + 1)]

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        for kind, (zh_list, en_list) in LISTS.items():
            names = sorted((n for n in files.names() if _PAGE.match(n) and n.startswith(f"{kind}-")), key=_number)
            if f"{kind}-1.json" not in names:
                raise SnapshotError(f"cn_export_control: the first page of the {en_list} is missing")
            total, seen = None, 0
            for name in names:
                stream = files.open(name)
                if stream is None:
                    continue
                with stream:
                    page = _data(stream.read(), name)
                total = page["total"] if total is None else total
                for record in page["list"]:
                    seen += 1
                    entry = _entry(record, zh_list, en_list, name)
                    if entry is not None:
                        yield entry
            if seen != total:
                raise SnapshotError(f"cn_export_control: the {en_list} pages hold {seen} records, the API said {total}")


def _number(name: str) -> int:
    match = _PAGE.match(name)
    return int(match[2]) if match else 0


def _text(record: dict[str, Any], *fields: str) -> str | None:
    for field in fields:
        value = record.get(field)
        if value is not None and str(value).strip():
            return " ".join(str(value).split())
    return None


def _entry(record: Any, zh_list: str, en_list: str, page: str) -> Entry | RecordError | None:
    """The record's entry; None for a record the API still shows with its removal date: it has left."""
    if not isinstance(record, dict):
        return RecordError(f"cn_export_control: {page}: a record that is not an object")
    zh, en = _text(record, "nameCn", "entityNameCn"), _text(record, "nameEn", "entityNameEn")
    if not zh and not en:
        return RecordError(f"cn_export_control: {page}: a record without a name: {record!r:.120}")
    if _text(record, "removeDate", "removedDate"):
        return None
    raw = {k: v for k, v in record.items() if v not in (None, "")}
    raw["list"] = zh_list
    return Entry(
        key=f"{en_list}|{en or zh}",
        name=en or zh or "",
        aliases=[zh] if en and zh else [],
        entity_type="individual" if _text(record, "entityType") in {"个人", "individual", "person"} else "entity",
        countries=[c for c in (_text(record, "country", "countryEn"),) if c],
        addresses=[a for a in (_text(record, "address", "addressEn"),) if a],
        programs=[en_list, zh_list],
        listed_on=_text(record, "addDate", "listDate"),
        remarks=_text(record, "noticeNo", "announcementNo"),
        source_url=_text(record, "noticeUrl"),
        raw=raw,
    )
