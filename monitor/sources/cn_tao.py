"""State Council Taiwan Affairs Office (国务院台办) lists, from its notices: the "Taiwan independence"
diehards (台独顽固分子), their henchmen and accomplices (台独打手帮凶), and the companies and organisations
tied to them that are punished (关联企业和机构).

As with ``cn_mofcom`` there is no consolidated file: the lists are what the notices add, suspend and lift,
replayed in date order. Pages come from the TAO's site (gwytb.gov.cn), many GB18030-encoded; an index page
links the notices, and only links whose text concerns these lists are followed.

No real notice page could be obtained for this project: the parser reads the structure the TAO's notices
use (a list named in a heading or sentence, then the names as numbered items or a ``、``-separated run
after a colon, a Chinese name optionally followed by its English one in brackets), and is strict: a notice
that lists people or companies but yields no name is an unreadable record, never silence.
Key: ``list|中文名``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from contracts.models import Entry
from monitor.sources.base import POLL_S, FileSpec, ListKind, RecordError, SnapshotError, SnapshotFiles, SourceInfo
from monitor.sources.cn_mofcom import first_date, notice_links, notice_texts

INDEX = "index.html"
DIEHARDS = "台独顽固分子清单"
HENCHMEN = "台独打手帮凶清单"
LINKED = "台独关联企业和机构"
LIST_EN = {
    DIEHARDS: 'Diehard "Taiwan Independence" Separatists',
    HENCHMEN: 'Henchmen and Accomplices of "Taiwan Independence"',
    LINKED: 'Companies and organisations linked to "Taiwan independence" diehards',
}
_LINK_TEXT = re.compile(r"顽固分子|打手帮凶|惩戒|关联企业|清单")
_ITEM = re.compile(r"^[\s　]*(?:\d+[.、．]|[（(][一二三四五六七八九十百]+[）)]|[一二三四五六七八九十]+、)[\s　]*(.+)$")
_NAME = re.compile(r"^([\u4e00-\u9fff·・]{2,40})(?:[（(]([^（）()]*[A-Za-z][^（）()]*)[）)])?")
_DATE_LINE = re.compile(r"【发文日期】\s*(.+)|发布时间[:：]\s*(.+)")


@dataclass(slots=True)
class TaoNotice:
    name: str
    url: str | None
    title: str
    published: str | None
    action: str  # "add", "lift", "suspend" or "none"
    # list -> [(中文名, English name or None)] in the order given.
    parties: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)


def _list_of(line: str) -> str | None:
    if "打手帮凶" in line:
        return HENCHMEN
    if "顽固分子" in line and not re.search(r"关联|企业|机构", line):
        return DIEHARDS
    if re.search(r"关联|企业|机构|基金会", line) and re.search(r"惩戒|清单|名单", line):
        return LINKED
    return None


def parse_notice(name: str, text: str) -> TaoNotice:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    url = next((line for line in lines[:3] if line.startswith("http")), None)
    title = next((line for line in lines if not line.startswith("http")), "")
    body = "\n".join(lines)
    dated = _DATE_LINE.search(body)
    published = first_date(dated[1] or dated[2]) if dated else first_date(body)
    if re.search(r"移出|解除|撤销", title):
        action = "lift"
    elif "暂停" in title:
        action = "suspend"
    elif re.search(r"列入|惩戒|公布|认定", title):
        action = "add"
    else:
        action = "none"
    notice = TaoNotice(name, url, title, published, action)
    current: str | None = None
    for line in lines:
        named = _list_of(line)
        if named:
            current = named
        if current is None:
            continue
        item = _ITEM.match(line)
        candidates = [item[1]] if item else []
        _, sep, tail = line.partition("：") if "：" in line else line.partition(":")
        if not item and sep and "、" in tail:
            candidates = [p for p in re.split(r"[、，,]", tail.strip("。；; ")) if p]
        for candidate in candidates:
            match = _NAME.match(candidate.strip(' “”"'))
            if match:
                english = " ".join(match[2].split()) if match[2] else None
                notice.parties.setdefault(current, []).append((match[1], english))
    return notice


def _entry(list_name: str, zh: str, en: str | None, notice: TaoNotice) -> Entry:
    return Entry(
        key=f"{LIST_EN[list_name]}|{zh}",
        name=zh,
        aliases=[en] if en else [],
        entity_type="entity" if list_name == LINKED else "individual",
        countries=["TW"],
        programs=[LIST_EN[list_name], list_name],
        listed_on=notice.published,
        source_url=notice.url,
        raw={"zh": zh, "en": en, "list": list_name, "notice": notice.title, "status": "listed"},
    )


def replay(notices: list[TaoNotice]) -> Iterator[Entry | RecordError]:
    """The lists as the notices leave them, in publication order."""
    state: dict[str, Entry] = {}
    for notice in sorted(notices, key=lambda n: (n.published or "", n.name)):
        if notice.action == "none":
            continue
        if not notice.parties:
            yield RecordError(f"cn_tao: {notice.name}: '{notice.title}' names no one that could be read")
            continue
        for list_name, parties in notice.parties.items():
            for zh, en in parties:
                key = f"{LIST_EN[list_name]}|{zh}"
                if notice.action == "add":
                    previous = state.get(key)
                    entry = _entry(list_name, zh, en, notice)
                    if previous is not None:  # listed again: keep the first listing date
                        entry.listed_on = previous.listed_on
                    state[key] = entry
                elif notice.action == "lift":
                    state.pop(key, None)
                elif key in state:
                    state[key].remarks = f"measures suspended from {notice.published} ({notice.title})"
                    state[key].raw["status"] = "suspended"
    yield from state.values()


class CnTao:
    info = SourceInfo(
        id="cn_tao",
        jurisdiction="CN",
        publisher="Taiwan Affairs Office of the State Council (PRC)",
        title='"Taiwan independence" diehards, henchmen and linked companies (notices)',
        kind=ListKind.COUNTERMEASURE,
        files=(FileSpec(INDEX, "https://www.gwytb.gov.cn/zccs/zccs_61195/cjtdwgfz/"),),
        key="list|中文名: the notices name people and companies in Chinese, English rarely",
        schedule_s=POLL_S,
        min_ratio=0.95,
    )

    def linked_files(self, name: str, data: bytes, url: str) -> list[FileSpec]:
        """From an index page, the notice pages whose link text concerns these lists."""
        return notice_links(data, url, _LINK_TEXT) if name == INDEX else []

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        notices = [parse_notice(name, text) for name, text in notice_texts(files)]
        if not any(n.action != "none" for n in notices):
            raise SnapshotError("cn_tao: no notice that lists, suspends or lifts anyone (layout changed?)")
        yield from replay(notices)
