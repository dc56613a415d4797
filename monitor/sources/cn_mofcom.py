"""China's own notices: MOFCOM Unreliable Entity List and export-control control list announcements, and
MFA countermeasure decisions. There is no consolidated file: the list is what the notices add, suspend
and lift, in date order. A snapshot is the set of notice pages (``*.html``, ``*.htm``, ``*.md``,
``*.txt``; UTF-8 or GB18030); each entity is taken from the Chinese text as ``中文名（English name）``
(annex items, or an inline ``、``-separated list), and annex persons by their Chinese name.
Key: ``list|English name`` (``list|中文名`` when no English name is given). Notices that suspend or lift
measures name earlier notices by number (``〔2025〕7号``); their entities change status accordingly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from contracts.models import Entry
from monitor.sources.base import PROBE_S, FileSpec, ListKind, RecordError, SnapshotError, SnapshotFiles, SourceInfo

INDEX = "index.html"
NOTICE_SUFFIXES = (".html", ".htm", ".md", ".txt")

UEL = "不可靠实体清单"
CONTROL = "出口管制管控名单"
WATCH = "出口管制关注名单"
COUNTER = "反制清单"
_LIST_EN = {UEL: "Unreliable Entity List", CONTROL: "Export Control Control List",
            WATCH: "Export Control Watch List", COUNTER: "MFA Countermeasures List"}  # fmt: skip

_LINK_TEXT = re.compile(r"不可靠实体|管控名单|关注名单|反制")
_DATE = re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|(20\d\d)-(\d\d)-(\d\d)")
_DOC_ID = re.compile(r"【发布文号】[^\n〔]*〔(\d{4})〕(\d+)号|商务部公告(\d{4})年第(\d+)号|外交部令第(\d+)号")
_REF = re.compile(r"〔(\d{4})〕((?:\d+号?[和、及])*\d+)号")
# 中文名（English）: the Chinese part runs back to the previous separator; the bracket may close in ASCII.
_PAIR = re.compile(r"([^\s、，,。：:；;（(）)\n]{2,60}?)[（(]([^（）()\n]*[A-Za-z][^（）()\n]*)[）)]")
_ENUM = re.compile(r"^[\s　]*(?:[（(][一二三四五六七八九十百]+[）)]|\d+[.、．]|[一二三四五六七八九十]+、)[\s　]*")
_PERSON_ITEM = re.compile(r"^[\s　]*[（(][一二三四五六七八九十]+[）)]([^（(\s]{2,20})[（(]([^）)]*)[）)]")


@dataclass(slots=True)
class Party:
    zh: str
    en: str | None
    entity_type: str


@dataclass(slots=True)
class Notice:
    name: str
    url: str | None
    title: str
    published: str | None
    doc_id: str | None
    list_name: str | None
    action: str  # "add", "suspend", "lift" or "none"
    parties: list[Party] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)


def decode_raw(data: bytes) -> str:
    """UTF-8, else GB18030 (older MFA pages)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def decode(data: bytes) -> str:
    """A notice's text: decoded, and HTML reduced to its text."""
    text = decode_raw(data)
    if "<html" in text[:2000].lower() or "<body" in text[:5000].lower():
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(text)
        for node in tree.css("script, style"):
            node.decompose()
        body = tree.body
        text = body.text(separator="\n") if body is not None else tree.text(separator="\n")
    return text


def first_date(text: str) -> str | None:
    match = _DATE.search(text)
    if not match:
        return None
    y, m, d = (match[1], match[2], match[3]) if match[1] else (match[4], match[5], match[6])
    try:
        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _clean_zh(name: str) -> str:
    name = _ENUM.sub("", name).strip(" 　\t")
    # "决定将参与对台湾地区军售的洛克希德·马丁…": the name starts after the last 的 / 将 / 对.
    for marker in ("的", "将", "对"):
        if marker in name:
            name = name.rsplit(marker, 1)[1]
    return name.strip(' 　\t“”"')


def parse_notice(name: str, text: str) -> Notice:
    lines = [line.strip() for line in text.splitlines()]
    url = next((line for line in lines[:3] if line.startswith("http")), None)
    title = next((line for line in lines if line and not line.startswith("http") and not line.startswith("来源")), "")
    body = "\n".join(lines)
    dated = re.search(r"【发文日期】\s*(.+)", body)
    published = first_date(dated[1]) if dated else first_date(body)
    doc = _DOC_ID.search(body)
    doc_id = None
    if doc:
        doc_id = f"{doc[1]}-{doc[2]}" if doc[1] else f"{doc[3]}-{doc[4]}" if doc[3] else f"mfa-{doc[5]}"
    if UEL in body:
        list_name = UEL
    elif "关注名单" in body and "管控名单" not in body:
        list_name = WATCH
    elif "管控名单" in body:
        list_name = CONTROL
    elif "反制" in body:
        list_name = COUNTER
    else:
        list_name = None
    # The title says what the notice does; an investigation (启动调查) lists nobody yet.
    if re.search(r"暂停|停止|调整|移出|解除", title) and not re.search(r"列入", title):
        action = "suspend"
    elif re.search(r"调查", title) and not re.search(r"列入", title):
        action = "none"
    elif re.search(r"列入|反制|采取.*措施", title) or re.search(r"列入|反制", body[:1500]):
        action = "add"
    else:
        action = "none"
    notice = Notice(name, url, title, published, doc_id, list_name, action)
    if action == "suspend":
        notice.refs = _refs(body)
        return notice
    if action == "add":
        notice.parties = _parties(lines)
    return notice


def _refs(body: str) -> list[str]:
    """Notice numbers named with what happens to them: "stop:2025-8", "suspend:2025-7"."""
    out: list[str] = []
    for sentence in re.split(r"[，。；]", body):
        verb = "lift" if re.search(r"停止|取消|移出", sentence) and "暂停" not in sentence else "suspend"
        if not re.search(r"暂停|停止|取消|移出", sentence):
            continue
        for match in _REF.finditer(sentence):
            out.extend(f"{verb}:{match[1]}-{n}" for n in re.findall(r"\d+", match[2]))
    return out


def _latin(value: str) -> str:
    """English names as published, with zero-width characters dropped and spaces collapsed."""
    return " ".join(re.sub(r"[\u200b-\u200d\ufeff]", "", value).split())


def _parties(lines: list[str]) -> list[Party]:
    parties: dict[str, Party] = {}
    kind = "entity"
    parent: Party | None = None
    for line in lines:
        section = re.match(r"^[\s　]*[一二三四五六七八九十]+、\s*(\S{1,12})", line)
        if section and re.search(r"企业|实体|机构|组织", section[1]) and "人员" not in section[1]:
            kind = "entity"
        elif section and re.search(r"人员|个人", section[1]):
            kind = "individual"
        branch = re.match(r"^[\s　]*[-–—]\s*([A-Za-z].+)$", line)
        if branch and parent is not None:
            # Branches listed under an entity ("TechInsights公司及其分支机构" then "-TechInsights Japan KK").
            en = _latin(branch[1])
            parties.setdefault(en.casefold(), Party(zh=parent.zh, en=en, entity_type="entity"))
            continue
        if kind == "individual" and (person := _PERSON_ITEM.match(line)) and not re.search(r"[A-Za-z]", person[2]):
            parties.setdefault(person[1], Party(zh=person[1], en=None, entity_type="individual"))
            continue
        for match in _PAIR.finditer(line):
            zh, en = _clean_zh(match[1]), _latin(match[2])
            if len(zh) < 2 or re.search(r"[\u4e00-\u9fff]", en):
                continue  # a Chinese title in brackets ("BRINC无人机公司创始人"), not an English name
            if re.search(r"[《》]|法|条例|规定|公告", zh) and not re.search(r"公司|集团|实验室|研究所|大学|中心", zh):
                continue
            party = parties.setdefault(en.casefold(), Party(zh=zh, en=en, entity_type=kind))
            parent = party
    return list(parties.values())


@dataclass(slots=True)
class _State:
    entry: Entry
    doc_id: str | None


class CnMofcom:
    info = SourceInfo(
        id="cn_mofcom",
        jurisdiction="CN",
        publisher="PRC Ministry of Commerce and Ministry of Foreign Affairs",
        title="Unreliable Entity List, export control lists and MFA countermeasures (notices)",
        kind=ListKind.COUNTERMEASURE,
        files=(FileSpec(INDEX, "https://www.mofcom.gov.cn/zwgk/zcfb/index.html"),),
        key="list|English name (list|中文名 without one): from 中文名（English name） in each notice",
        schedule_s=PROBE_S,
        min_ratio=0.95,
    )

    def linked_files(self, name: str, data: bytes, url: str) -> list[FileSpec]:
        """From an index page, the notice pages whose link text concerns one of our lists."""
        return notice_links(data, url, _LINK_TEXT) if name == INDEX else []

    def parse(self, files: SnapshotFiles) -> Iterator[Entry | RecordError]:
        notices = [parse_notice(name, text) for name, text in notice_texts(files)]
        if not notices:
            raise SnapshotError("cn_mofcom: no notice pages in the snapshot")
        yield from replay(notices)


def notice_links(data: bytes, url: str, label: re.Pattern[str]) -> list[FileSpec]:
    """The pages an index page links to whose link text matches ``label``, named by their address."""
    from urllib.parse import urljoin

    from selectolax.lexbor import LexborHTMLParser

    specs: dict[str, FileSpec] = {}
    for link in LexborHTMLParser(decode_raw(data)).css("a[href]"):
        href, text = link.attributes.get("href") or "", " ".join(link.text().split())
        if href and label.search(text):
            target = urljoin(url, href)
            specs[target] = FileSpec(f"notice-{hashlib.sha256(target.encode()).hexdigest()[:16]}.html", target)
    return list(specs.values())


def notice_texts(files: SnapshotFiles) -> Iterator[tuple[str, str]]:
    """(file name, text) of every notice page of a snapshot (the index page left out)."""
    for name in files.names():
        if not name.endswith(NOTICE_SUFFIXES) or name == INDEX or name.startswith("."):
            continue
        stream = files.open(name)
        if stream is None:
            continue
        with stream:
            yield name, decode(stream.read())


def replay(notices: list[Notice]) -> Iterator[Entry | RecordError]:
    """The list as the notices leave it, in publication order."""
    state: dict[str, _State] = {}
    by_doc: dict[str, list[str]] = {}
    for notice in sorted(notices, key=lambda n: (n.published or "", n.name)):
        if notice.action == "add":
            if not notice.list_name:
                yield RecordError(f"cn_mofcom: {notice.name}: cannot tell which list the notice concerns")
                continue
            if not notice.parties:
                yield RecordError(f"cn_mofcom: {notice.name}: a listing notice, but no party could be read")
                continue
            for party in notice.parties:
                key = f"{_LIST_EN[notice.list_name]}|{party.en or party.zh}"
                state[key] = _State(_entry(key, party, notice), notice.doc_id)
                if notice.doc_id:
                    by_doc.setdefault(notice.doc_id, []).append(key)
        elif notice.action == "suspend":
            for ref in notice.refs:
                verb, doc_id = ref.split(":", 1)
                for key in by_doc.get(doc_id, []):
                    if key not in state:
                        continue
                    if verb == "lift":
                        del state[key]
                    else:
                        entry = state[key].entry
                        entry.remarks = f"measures suspended from {notice.published} ({notice.title})"
                        entry.raw["status"] = "suspended"
                        entry.raw["status_notice"] = notice.url or notice.name
    for item in state.values():
        yield item.entry


def _entry(key: str, party: Party, notice: Notice) -> Entry:
    return Entry(
        key=key,
        name=party.en or party.zh,
        aliases=[party.zh] if party.en else [],
        entity_type=party.entity_type,
        programs=[_LIST_EN[notice.list_name or COUNTER], notice.list_name or COUNTER],
        listed_on=notice.published,
        source_url=notice.url,
        raw={"zh": party.zh, "en": party.en, "notice": notice.title, "doc_id": notice.doc_id, "status": "listed"},
    )
