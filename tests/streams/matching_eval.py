"""The labelled matching evaluation, built from the real lists in the shared real data (read in place).

Run ``python -m tests.streams.matching_eval [threshold]`` for listwatch's figures per category, or
``python -m bench matching`` for the side-by-side run with nomenklatura's logic-v2 and a rapidfuzz floor
(docs/matching.md shows both). test_matching_quality.py fails when the *test* part drops below its floors.

Where the queries come from (see docs/matching.md for the table):
- real variation, the same party as different publishers spell it: an entry's aliases against its primary
  name (``alias``); a name as a list spelled it years earlier against the entry now (``renamed``, by OFAC
  ent_num and UN reference number); the US CSL's copy of an OFAC entry (``cross_list``, by entity number);
  the AfDB's and IDB's cross-debarments of World Bank firms (``cross_debarred``, by country and the same
  end date, which a cross-debarment shares with the original);
- customer spellings of listed names, one category each: legal forms with or without dots (``legal_dots``),
  dotted initials (``initials``), abbreviations (``abbreviation``), one dropped, doubled or swapped letter in
  the longest word (``typo``), case and punctuation (``case_punct``), diacritics dropped (``accents``);
- negatives: real companies on none of the lists (``not_listed``), a listed name searched among the other
  entries of its own list (``latin_distinct``), a listed name with its one distinctive word replaced by
  another list's word (``near_miss``), a listed short name inside a longer organisation's name
  (``containment``), a listed name whose word is swapped for another real word that differs by two
  neighbouring letters (``swapped_word``);
- Chinese: traditional / full-width forms (``chinese_variants``), a Chinese name against the entry that
  carries both scripts (``chinese_both``), a Chinese-only name against the entry with its Chinese names
  removed (``chinese_to_english``); identifiers (``identifier``: the USCC alone under another name, and
  ``identifier_conflict``: the right name with another valid USCC, a negative).

Every query is put once, by a fixed hash of its text and label, into the ``dev`` or the ``test`` part.
Tuning looks at ``dev`` only; the figures reported and enforced are those of ``test``.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from opencc import OpenCC
from stdnum.cn import uscc as stdnum_uscc

from contracts.models import Enrichment, Entry
from monitor.diff import decode_entry, read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from streams.bilingual import is_chinese_only
from streams.bilingual import pairs as bilingual_pairs
from streams.enrich.change import enrich_entries
from streams.enrich.names import name_form
from streams.index import rank_keyed
from streams.match.keys import is_identifier_key, share_floor
from streams.match.logic import enrichment_keysets, score_watch
from streams.match.score import DEFAULT_THRESHOLD
from streams.screen import SnapshotIndex
from streams.watchlists import WatchEntry, watch_keys
from tests.snapshots import materialise, real_files

# (label, source, snapshot): the lists searched (the first eight) and older snapshots used for ``renamed``.
SEARCHED = [
    ("ofac_sdn", "ofac_sdn", "watchman_2021-07"),
    ("ofac_sdn@2024", "ofac_sdn", "gitscrape_2024-05-03"),
    ("un_sc", "un_sc", "2026-02-27"),
    ("worldbank", "worldbank", "2025-01-07_xlsx"),
    ("idb", "idb", "2025-02"),
    ("ebrd", "ebrd", "2025-02"),
    ("afdb", "afdb", "2024-06-04"),
    ("cn_sanctions", "cn_sanctions", "2026-08-07"),
]
OLDER = [("ofac_sdn@2019", "ofac_sdn", "watchman_2019-01"), ("un_sc@2018", "un_sc", "2018-06-08")]

FAMILIES = {
    "latin_positive": ("alias", "renamed", "cross_list", "cross_debarred", "legal_dots", "initials", "abbreviation",
                       "typo", "case_punct", "accents"),
    "latin_negative": ("not_listed", "latin_distinct", "near_miss", "containment", "swapped_word"),
    "chinese": ("chinese_variants", "chinese_both", "chinese_to_english"),
    "identifier": ("identifier", "identifier_conflict"),
}  # fmt: skip
REAL_VARIATION = ("alias", "renamed", "cross_list", "cross_debarred")

# Real companies on none of these lists (an exact name on a list fails the evaluation loudly).
NOT_LISTED = [
    "Toyota Motor Corporation", "Nestlé S.A.", "Siemens AG", "Unilever PLC", "Samsung Electronics Co., Ltd.",
    "Alibaba Group Holding Limited", "Tencent Holdings Limited", "BYD Company Limited",
    "Contemporary Amperex Technology Co., Limited", "Haier Smart Home Co., Ltd.", "Lenovo Group Limited",
    "Xiaomi Corporation", "Volkswagen AG", "BASF SE", "A.P. Møller - Mærsk A/S", "Nokia Oyj",
    "Telefonaktiebolaget LM Ericsson", "Infosys Limited", "Tata Steel Limited", "Petróleo Brasileiro S.A.",
    "Vale S.A.", "Anglo American plc", "Rio Tinto Group", "BHP Group Limited", "Sony Group Corporation",
    "Hitachi, Ltd.", "Panasonic Holdings Corporation", "Hyundai Motor Company", "LG Electronics Inc.",
    "Schneider Electric SE", "Airbus SE", "Safran S.A.", "Compagnie Générale des Établissements Michelin",
    "Heineken N.V.", "Koninklijke Philips N.V.", "ABB Ltd", "Roche Holding AG", "Novartis AG",
    "Zurich Insurance Group AG", "Standard Chartered PLC", "Grupo Bimbo, S.A.B. de C.V.", "Cemex, S.A.B. de C.V.",
    "Fomento Económico Mexicano, S.A.B. de C.V.", "Grupo Televisa, S.A.B.", "Empresas Copec S.A.",
    "Ecopetrol S.A.", "Bancolombia S.A.", "Itaú Unibanco Holding S.A.", "Natura &Co Holding S.A.",
    "Embraer S.A.", "Companhia Siderúrgica Nacional", "Ambev S.A.", "YPF Sociedad Anónima",
    "Telefónica, S.A.", "Banco Bilbao Vizcaya Argentaria, S.A.", "Iberdrola, S.A.", "Inditex S.A.",
    "Repsol, S.A.", "Compañía Española de Petróleos, S.A.U.", "Renault S.A.", "Danone S.A.",
    "L'Oréal S.A.", "TotalEnergies SE", "Orange S.A.", "Société Générale S.A.", "Carrefour S.A.",
    "Compagnie de Saint-Gobain S.A.", "Vinci S.A.", "Bouygues S.A.", "Alstom S.A.", "Thales S.A.",
    "Capgemini SE", "Enel S.p.A.", "Eni S.p.A.", "Pirelli & C. S.p.A.", "Leonardo S.p.A.", "Fincantieri S.p.A.",
    "Heidelberg Materials AG", "Robert Bosch GmbH", "Continental AG", "ThyssenKrupp AG", "Bayer AG",
    "Deutsche Post AG", "Henkel AG & Co. KGaA", "Koninklijke Ahold Delhaize N.V.", "ASML Holding N.V.",
    "Akzo Nobel N.V.", "Wolters Kluwer N.V.", "Anheuser-Busch InBev SA/NV", "Solvay SA", "Umicore SA",
    "Novo Nordisk A/S", "Carlsberg A/S", "Vestas Wind Systems A/S", "Equinor ASA", "Norsk Hydro ASA",
    "Telenor ASA", "Volvo AB", "Atlas Copco AB", "Sandvik AB", "SKF AB", "Stora Enso Oyj", "Kone Oyj",
    "UPM-Kymmene Oyj", "Holcim Ltd", "Nestlé Nespresso SA", "Swisscom AG", "Barry Callebaut AG",
    "Tesco PLC", "BP p.l.c.", "Rolls-Royce Holdings plc", "GSK plc", "Diageo plc",
    "Vodafone Group Plc", "Barclays PLC", "Marks and Spencer Group plc", "J Sainsbury plc",
    "General Electric Company", "Caterpillar Inc.", "3M Company", "Johnson & Johnson", "Procter & Gamble Co.",
    "The Coca-Cola Company", "PepsiCo, Inc.", "Intel Corporation", "Microsoft Corporation", "Apple Inc.",
    "Cisco Systems, Inc.", "Oracle Corporation", "Walmart Inc.", "Ford Motor Company", "General Motors Company",
    "Boeing Company", "Pfizer Inc.", "Merck & Co., Inc.", "Abbott Laboratories", "Honeywell International Inc.",
    "Deere & Company", "Cargill, Incorporated", "Archer-Daniels-Midland Company", "Bunge Global SA",
    "Tata Consultancy Services Limited", "Reliance Industries Limited", "Larsen & Toubro Limited",
    "Mahindra & Mahindra Limited", "Wipro Limited", "Bharti Airtel Limited", "Hindustan Unilever Limited",
    "PT Astra International Tbk", "PT Telkom Indonesia (Persero) Tbk", "Petronas Chemicals Group Berhad",
    "Sime Darby Berhad", "Genting Berhad", "Singapore Telecommunications Limited", "Keppel Ltd.",
    "Jardine Matheson Holdings Limited", "Swire Pacific Limited", "CK Hutchison Holdings Limited",
    "Li & Fung Limited", "Fast Retailing Co., Ltd.", "Nintendo Co., Ltd.", "Komatsu Ltd.", "Kubota Corporation",
    "Mitsubishi Electric Corporation", "Toshiba Corporation", "Canon Inc.", "Ricoh Company, Ltd.",
    "Kia Corporation", "POSCO Holdings Inc.", "SK Hynix Inc.", "Naver Corporation", "Hon Hai Precision Industry Co., Ltd.",
    "Taiwan Semiconductor Manufacturing Company Limited", "Acer Incorporated", "ASUSTeK Computer Inc.",
    "Wistron Corporation", "Quanta Computer Inc.", "Geely Automobile Holdings Limited", "Anta Sports Products Limited",
    "Midea Group Co., Ltd.", "Gree Electric Appliances, Inc. of Zhuhai", "Shenzhou International Group Holdings Limited",
    "Yili Industrial Group Co., Ltd.", "Kweichow Moutai Co., Ltd.", "Ping An Insurance (Group) Company of China, Ltd.",
    "Sany Heavy Industry Co., Ltd.", "Zoomlion Heavy Industry Science and Technology Co., Ltd.",
    "Great Wall Motor Company Limited", "Weichai Power Co., Ltd.", "JD.com, Inc.", "Meituan", "NetEase, Inc.",
    "Baidu, Inc.", "Trip.com Group Limited", "Naspers Limited", "MTN Group Limited", "Sasol Limited",
    "Shoprite Holdings Ltd", "Dangote Cement Plc", "Safaricom PLC", "Ethiopian Airlines Group",
    "Emirates Telecommunications Group Company PJSC", "Saudi Basic Industries Corporation",
    "Qatar National Bank (Q.P.S.C.)", "Turkcell İletişim Hizmetleri A.Ş.", "Koç Holding A.Ş.",
    "Arçelik A.Ş.", "Orlen S.A.", "CEZ, a. s.", "OTP Bank Nyrt.", "MOL Magyar Olaj- és Gázipari Nyrt.",
    "比亚迪股份有限公司", "腾讯控股有限公司", "海尔智家股份有限公司", "宁德时代新能源科技股份有限公司",
    "联想集团有限公司", "美的集团股份有限公司", "格力电器股份有限公司", "小米集团", "阿里巴巴集团控股有限公司",
    "贵州茅台酒股份有限公司", "中国平安保险（集团）股份有限公司", "三一重工股份有限公司", "长城汽车股份有限公司",
]  # fmt: skip

# Customer spellings. Legal forms as written with and without dots (either way round).
_DOTTED_FORMS = [
    ("S.A.B. de C.V.", "SAB de CV"), ("S.A. de C.V.", "SA de CV"), ("S. de R.L. de C.V.", "S de RL de CV"),
    ("S. de R.L.", "S de RL"), ("S.A.L.", "SAL"), ("S.A.R.L.", "SARL"), ("S.A.S.", "SAS"), ("S.R.L.", "SRL"),
    ("S.p.A.", "SpA"), ("S.A.", "SA"), ("B.V.", "BV"), ("N.V.", "NV"), ("L.L.C.", "LLC"), ("P.L.C.", "PLC"),
    ("C.A.", "CA"), ("Co., Ltd.", "Co Ltd"), ("Co.,Ltd.", "Co Ltd"), ("Pvt. Ltd.", "Pvt Ltd"), ("Ltd.", "Ltd"),
    ("Inc.", "Inc"), ("Corp.", "Corp"), ("Ltda.", "Ltda"), ("L.T.D.", "LTD"), ("J.S.C.", "JSC"), ("A.S.", "AS"),
    ("GmbH & Co. KG", "GmbH & Co KG"), ("E.I.R.L.", "EIRL"), ("S.L.", "SL"), ("S.C.", "SC"),
]  # fmt: skip
# (long, short) pairs; a name with either gets the other.
_ABBREVIATIONS = [
    ("International", "Intl"), ("Corporation", "Corp"), ("Company", "Co"), ("Limited", "Ltd"),
    ("Incorporated", "Inc"), ("Compania", "Cia"), ("Compañía", "Cía"), ("Companhia", "Cia"), ("Compagnie", "Cie"),
    ("Manufacturing", "Mfg"), ("Brothers", "Bros"), ("National", "Natl"), ("Association", "Assn"),
    ("Engineering", "Eng"), ("Technology", "Tech"), ("Services", "Svcs"), ("Industries", "Inds"),
    ("Industrial", "Ind"), ("Development", "Dev"), ("Construction", "Constr"), ("Management", "Mgmt"),
    ("Trading", "Trdg"), ("Sociedad Anonima", "SA"), ("Sociedade Anonima", "SA"), ("Société Anonyme", "SA"),
    ("Limited Liability Company", "LLC"), ("Joint Stock Company", "JSC"), ("Public Joint Stock Company", "PJSC"),
    ("Closed Joint Stock Company", "CJSC"), ("Open Joint Stock Company", "OJSC"), ("and", "&"), ("y", "&"),
    ("et", "&"), ("Obshchestvo s Ogranichennoi Otvetstvennostyu", "OOO"), ("Aktsionernoe Obshchestvo", "AO"),
    ("Zakrytoe Aktsionernoe Obshchestvo", "ZAO"), ("Otkrytoe Aktsionernoe Obshchestvo", "OAO"),
    ("Sendirian Berhad", "Sdn Bhd"), ("Private Limited", "Pvt Ltd"), ("Establishment", "Est"),
]  # fmt: skip
# Legal-form words, for telling a near-miss that keeps another word of the name from one that keeps none.
_FORM_WORDS = frozenset(
    """limited liability company joint stock obshchestvo ogranichennoi otvetstvennostyu corporation aktsionernoe
    closed open public incorporated private group holding""".split()  # noqa: SIM905
)
_REAL_WORD_SWAPS = [
    ("dairy", "diary"), ("angel", "angle"), ("united", "untied"), ("martial", "marital"), ("casual", "causal"),
    ("trial", "trail"), ("silver", "sliver"), ("form", "from"), ("sacred", "scared"), ("quiet", "quite"),
    ("three", "there"), ("field", "filed"), ("nuclear", "unclear"), ("tired", "tried"), ("fried", "fired"),
    ("calm", "clam"), ("star", "tsar"), ("east", "eats"), ("salt", "slat"), ("lion", "loin"), ("cold", "clod"),
    ("able", "bale"), ("west", "wets"), ("parts", "prats"), ("sign", "sing"), ("barn", "bran"), ("liar", "lair"),
    ("split", "spilt"), ("compliant", "complaint"), ("stain", "satin"),
]  # fmt: skip
# Organisation words that make a longer name around a listed one (containment negatives).
_AROUND = [
    ("Friends of", "Charitable Foundation"), ("", "Trading House International"), ("", "Relief Society of Canada"),
    ("Alumni Association of", ""), ("", "Research Institute Foundation"), ("Museum of", "History Trust"),
    ("", "Workers Mutual Benefit Fund"), ("Citizens for", "Accountability Network"),
]  # fmt: skip


@dataclass
class Query:
    category: str
    watch: WatchEntry
    expected: tuple[str, str] | None  # (list label, entry key); None for a negative
    searched: str  # which index set the query is searched in (see Lists.index_set)
    origin: tuple[str, str] | None = None  # latin_distinct: the entry whose name is searched
    part: str = ""

    @property
    def family(self) -> str:
        return next(f for f, cats in FAMILIES.items() if self.category in cats)


@dataclass
class Lists:
    entries: dict[str, list[Entry]]  # the searched lists
    older: dict[str, list[Entry]]
    csl: list[dict[str, str]]
    # Chinese core -> (list label, Latin name): every pair a bilingual list prints for one entry, from the
    # searched lists and from the MOFCOM / MFA notices (streams/bilingual.py keeps the same in Redis).
    bilingual: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _indexes: dict[str, SnapshotIndex] = field(default_factory=dict)

    def index(self, label: str, variant: str = "full") -> SnapshotIndex:
        """One list's in-memory index: ``full``, ``primary`` (aliases removed) or ``no_cjk``."""
        key = f"{label}:{variant}"
        if key not in self._indexes:
            index = SnapshotIndex(label)
            for entry in self.entries[label]:
                if variant == "primary":
                    entry = _with_aliases(entry, [])
                elif variant == "no_cjk":
                    entry = _with_aliases(entry, [a for a in entry.aliases if name_form(a).script != "cjk"])
                    if name_form(entry.name).script == "cjk":
                        continue
                index.add(entry)
            self._indexes[key] = index
        return self._indexes[key]

    def index_set(self, searched: str) -> list[SnapshotIndex]:
        """``all`` (every list, full) or ``label[:variant]`` (one list)."""
        if searched == "all":
            return [self.index(label) for label in self.entries]
        label, _, variant = searched.partition(":")
        return [self.index(label, variant or "full")]


def _with_aliases(entry: Entry, aliases: list[str]) -> Entry:
    return Entry(key=entry.key, name=entry.name, aliases=aliases, entity_type=entry.entity_type,
                 countries=entry.countries, identifiers=entry.identifiers)  # fmt: skip


def _load(tmp: Path, source_id: str, snapshot: str) -> list[Entry]:
    source = registry()[source_id]
    files = from_path(source.info, materialise(source_id, snapshot, tmp))
    parsed = read_snapshot(source, files, files.snapshot_id())
    return [decode_entry(parsed.entries[k]) for k in parsed.entries]


def _read_csl() -> list[dict[str, str]]:
    """The CSL rows of the stored 2023-11 export. The file ends mid-record (the monitor rightly rejects it);
    the evaluation reads the complete rows before that with the csv module."""
    path = real_files("us_csl", "2023-11_truncated")["consolidated"]
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("_id") != "_id" and r.get("type") is not None]
    return [r for r in rows if r.get("name")]


def _notices(tmp: Path) -> list[Entry]:
    source = registry()["cn_mofcom"]
    files = from_path(source.info, materialise("cn_mofcom", "notices", tmp), linked=True)
    parsed = read_snapshot(source, files, files.snapshot_id())
    return [decode_entry(parsed.entries[k]) for k in parsed.entries]


def load_lists(tmp: Path) -> Lists:
    lists = Lists(
        entries={label: _load(tmp, s, snap) for label, s, snap in SEARCHED},
        older={label: _load(tmp, s, snap) for label, s, snap in OLDER},
        csl=_read_csl(),
    )
    for label, entries in [*lists.entries.items(), ("cn_mofcom", _notices(tmp))]:
        for entry in entries:
            for en, zh in bilingual_pairs([entry.name, *entry.aliases]):
                lists.bilingual.setdefault(name_form(zh).core, []).append((label, en))
    return lists


def watched(lists: Lists, query: Query) -> WatchEntry:
    """The watch as the streams see it: a Chinese-only name gains the Latin names bilingual lists print
    beside it, never from the list searched (that pairing would be the answer itself)."""
    if not is_chinese_only(query.watch.names()):
        return query.watch
    own = query.searched.partition(":")[0]
    latin = [en for n in query.watch.names() for label, en in lists.bilingual.get(name_form(n).core, [])
             if label != own]  # fmt: skip
    return replace(query.watch, alt_names=(*query.watch.alt_names, *dict.fromkeys(latin)))


def _plain(text: str) -> str:
    """Case and punctuation folded, for telling whether two spellings differ at all (not for matching)."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _words(text: str) -> set[str]:
    return {w for w in _plain(text).split() if len(w) >= 4}


def _spelling_of(a: str, b: str) -> bool:
    """Two spellings of one name rather than two names: at least half the longer words of the shorter name
    appear in the other as they are (former names, acronyms and trade names are other names)."""
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and len(wa & wb) * 2 >= min(len(wa), len(wb))


def _is_company(entry: Entry) -> bool:
    return entry.entity_type in {"entity", "unknown"}


def _latin(text: str) -> bool:
    return name_form(text).script == "latin"


def _part(query: Query) -> str:
    digest = hashlib.sha256(f"{query.category}|{query.watch.name}|{query.expected}".encode()).digest()
    return "test" if digest[0] % 2 else "dev"


# --- customer spellings ---------------------------------------------------------------------------------


def _legal_dots(name: str) -> str | None:
    for dotted, plain in _DOTTED_FORMS:
        for old, new in ((dotted, plain), (plain, dotted)):
            pattern = re.compile(rf"(?<![\w.]){re.escape(old)}(?![\w.])", re.IGNORECASE)
            if pattern.search(name):
                return pattern.sub(new, name, count=1).replace(" ,", ",")
    return None


def _initials(name: str) -> str | None:
    dotted = re.search(r"\b(?:[A-Z]\.){2,}(?=\s|$)", name)
    if dotted:
        return name.replace(dotted.group(0), dotted.group(0).replace(".", ""), 1)
    short = [w for w in name.split() if 2 <= len(w) <= 4 and w.isalpha() and w.isupper()]
    forms = {plain.upper() for _, plain in _DOTTED_FORMS} | {"LLC", "JSC", "OOO", "ZAO", "OAO", "PJSC", "CJSC"}
    for word in short:
        if word not in forms:
            # the word, not the letters inside another ("OF" in "NONPROFIT" made "NONPRO.F.IT")
            return re.sub(rf"\b{word}\b", ".".join(word) + ".", name, count=1)
    return None


def _abbreviation(name: str) -> str | None:
    for long, short in _ABBREVIATIONS:
        for old, new in ((long, short), (short, long)):
            if old in {"&", "y", "et", "and"} and new not in {"&"}:
                continue  # "&" becomes "and"/"y"/"et" only below
            pattern = re.compile(rf"(?<!\w){re.escape(old)}\.?(?!\w)", re.IGNORECASE)
            if pattern.search(name):
                return pattern.sub(new, name, count=1)
    if " & " in name:
        return name.replace(" & ", " and ", 1)
    return None


def _typo(name: str, rng: random.Random) -> str | None:
    words = name.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return None
    i = max(candidates, key=lambda k: len(words[k]))
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap"))
    if kind == "drop":
        word = word[:j] + word[j + 1 :]
    elif kind == "double":
        word = word[:j] + word[j] + word[j:]
    else:
        if word[j] == word[j + 1]:
            return None
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    words[i] = word
    return " ".join(words)


def _case_punct(name: str) -> str | None:
    plain = " ".join(re.sub(r"[.,;:()\"“”]", " ", name).split())
    out = plain.title() if name.isupper() else plain.upper()
    return out if out != name else None


# --- the set --------------------------------------------------------------------------------------------


def build(lists: Lists, seed: int = 42) -> list[Query]:
    rng = random.Random(seed)
    queries: list[Query] = []
    counter = 0

    def q(category: str, name: str, expected: tuple[str, str] | None, searched: str, **kw: object) -> None:
        nonlocal counter
        counter += 1
        fields = {k: v for k, v in kw.items() if k in {"alt_names", "uscc", "country"}}
        watch = WatchEntry(subscriber_id="eval", id=f"q{counter}", name=name, **fields)  # type: ignore[arg-type]
        query = Query(category, watch, expected, searched, origin=kw.get("origin"))  # type: ignore[arg-type]
        query.part = _part(query)
        queries.append(query)

    companies = [
        (label, e) for label, es in lists.entries.items() for e in es
        if _is_company(e) and _latin(e.name) and "#" not in e.key
    ]  # fmt: skip
    rng.shuffle(companies)

    # Real variation 1: aliases against the primary name (searched in the list without aliases).
    alias_pairs = [
        (label, e, a) for label, e in companies for a in e.aliases
        if _latin(a) and _plain(a) != _plain(e.name) and _spelling_of(a, e.name)
    ]  # fmt: skip
    for label, entry, alias in alias_pairs[:500]:
        q("alias", alias, (label, entry.key), f"{label}:primary")
    # Real variation 2: the name a list used years earlier, against the entry now.
    for old_label, new_label in (("ofac_sdn@2019", "ofac_sdn@2024"), ("un_sc@2018", "un_sc")):
        now = {e.key: e for e in lists.entries[new_label]}
        for old in lists.older[old_label]:
            new = now.get(old.key)
            if new and _is_company(new) and _latin(old.name) and _plain(old.name) != _plain(new.name):
                q("renamed", old.name, (new_label, new.key), new_label)
    # Real variation 3: the US CSL's copies of OFAC SDN entries (same entity number), as CSL spells them.
    sdn = {e.key: e for e in lists.entries["ofac_sdn@2024"]}
    for row in lists.csl:
        copied = sdn.get(row.get("entity_number", ""))
        if copied and "SDN" in row.get("source", "") and _is_company(copied):
            for name in [row["name"], *(a.strip() for a in row.get("alt_names", "").split(";"))]:
                if name and _latin(name) and _plain(name) != _plain(copied.name) and _spelling_of(name, copied.name):
                    q("cross_list", name, ("ofac_sdn@2024", copied.key), "ofac_sdn@2024")
                    break
    # Real variation 4: other banks' cross-debarments of World Bank firms, linked by country and end date.
    by_end: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in lists.entries["worldbank"]:
        if e.end_date and e.countries:
            by_end[(e.countries[0], e.end_date)].append(e)
    for label in ("afdb", "idb"):
        for e in lists.entries[label]:
            crossed = any("cross" in p.lower() and ("wb" in p.lower() or "world" in p.lower()) for p in e.programs)
            if not (crossed and e.end_date and e.countries and _is_company(e) and _latin(e.name)):
                continue
            linked = by_end.get((e.countries[0], e.end_date), [])
            if len(linked) == 1 and _plain(linked[0].name) != _plain(e.name):
                q("cross_debarred", e.name, ("worldbank", linked[0].key), "worldbank")

    # Customer spellings of listed names (each name gets the first category that applies, in turn).
    makers: list[tuple[str, Callable[[str], str | None]]] = [
        ("legal_dots", _legal_dots), ("initials", _initials), ("abbreviation", _abbreviation),
        ("typo", lambda n: _typo(n, rng)), ("case_punct", _case_punct),
    ]  # fmt: skip
    per_category = dict.fromkeys((c for c, _ in makers), 0)
    for label, entry in companies:
        for category, maker in sorted(makers, key=lambda m: per_category[m[0]]):
            if per_category[category] >= 150:
                continue
            variant = maker(entry.name)
            if variant and (_plain(variant) != _plain(entry.name) or category in {"legal_dots", "case_punct"}):
                q(category, variant, (label, entry.key), label)
                per_category[category] += 1
                break

    # Negatives.
    listed_plain = {_plain(n) for es in lists.entries.values() for e in es for n in [e.name, *e.aliases]}
    for name in NOT_LISTED:
        if _plain(name) in listed_plain:
            raise AssertionError(f"{name!r} is on a list: it cannot be a 'not listed' negative")
        q("not_listed", name, None, "all")
    for label, entry in companies[2000:2400]:
        q("latin_distinct", entry.name, None, label, origin=(label, entry.key))
    # Real words: spelled the same way in at least three entries' names (a one-off spelling may be a typo).
    seen: dict[str, int] = defaultdict(int)
    for _, e in companies:
        for w in set(_plain(e.name).split()):
            seen[w] += 1
    vocab_set = {w for w, n in seen.items() if n >= 3 and len(w) >= 5 and w.isalpha()}
    vocabulary = sorted(w for w in vocab_set if seen[w] >= 5 and len(w) >= 6)
    near = 0
    for _label, entry in companies[2400:]:
        words = entry.name.split()
        distinctive = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and seen[w.lower()] <= 2]
        others = [w for i, w in enumerate(words) if i not in distinctive and len(w) >= 4
                  and w.lower().strip(",.") not in _FORM_WORDS]  # fmt: skip
        # One distinctive word to replace, another word that still says which firm, no bracketed second name.
        if len(distinctive) != 1 or not others or "(" in entry.name:
            continue
        replacement = rng.choice(vocabulary)
        if replacement == words[distinctive[0]].lower():
            continue
        words[distinctive[0]] = replacement.title() if entry.name.istitle() else replacement.upper()
        candidate = " ".join(words)
        if _plain(candidate) not in listed_plain:
            q("near_miss", candidate, None, "all")
            near += 1
        if near >= 200:
            break
    short_orgs = [e for _, e in companies if 2 <= len(e.name.split()) <= 3 and len(_plain(e.name)) >= 10][:200]
    for i, entry in enumerate(short_orgs):
        before, after = _AROUND[i % len(_AROUND)]
        q("containment", f"{before} {entry.name.title()} {after}".strip(), None, "all")
    # Real words that differ by two neighbouring letters (an independent hand list, not the matcher's data).
    swaps = dict(_REAL_WORD_SWAPS + [(b, a) for a, b in _REAL_WORD_SWAPS])
    swapped = 0
    for _label, entry in companies:
        words = _plain(entry.name).split()
        hit = next((i for i, w in enumerate(words) if w in swaps), None)
        if hit is not None and len(words) >= 2:
            words[hit] = swaps[words[hit]]
            candidate = " ".join(words).title()
            if _plain(candidate) not in listed_plain:
                q("swapped_word", candidate, None, "all")
                swapped += 1
        if swapped >= 150:
            break

    # Chinese.
    to_trad = OpenCC("s2t")
    chinese = [(label, e, a) for label, es in lists.entries.items() for e in es for a in [e.name, *e.aliases]
               if name_form(a).script == "cjk" and len(name_form(a).core) >= 4]  # fmt: skip
    rng.shuffle(chinese)
    for i, (label, entry, alias) in enumerate(chinese[:200]):
        form = to_trad.convert(alias) if i % 2 == 0 else alias.translate(_FULL_WIDTH)
        if i % 4 == 0:
            form = form.translate(_FULL_WIDTH)
        q("chinese_variants", form, (label, entry.key), label)
    for label, entry, alias in chinese[200:400]:
        if any(_latin(n) for n in [entry.name, *entry.aliases]):
            q("chinese_both", alias.replace("有限公司", "").replace("股份", "") or alias, (label, entry.key), label)
    both = [(label, e) for label, es in lists.entries.items() for e in es
            if _latin(e.name) and any(name_form(a).script == "cjk" for a in e.aliases)]  # fmt: skip
    rng.shuffle(both)
    for label, entry in both[:200]:
        zh = next(a for a in entry.aliases if name_form(a).script == "cjk")
        q("chinese_to_english", zh, (label, entry.key), f"{label}:no_cjk")

    # Identifiers.
    usccs: list[tuple[str, Entry, str]] = [
        (label, e, i.value) for label, es in lists.entries.items() for e in es for i in e.identifiers
        if i.scheme == "uscc" and stdnum_uscc.is_valid(i.value)
    ]  # fmt: skip
    for label, entry, value in usccs:
        q("identifier", "Some Other Name", (label, entry.key), label, uscc=value)
    listed_usccs = {value for _, _, value in usccs}
    for label, entry, value in usccs:
        # The same name with another valid USCC that no list carries: another company of that name.
        digit = next(i for i in range(16, 8, -1) if value[i].isdigit())
        body = value[:digit] + str((int(value[digit]) + 1) % 10) + value[digit + 1 : 17]
        other = body + stdnum_uscc.calc_check_digit(body)
        if other not in listed_usccs:
            q("identifier_conflict", entry.name, None, label, uscc=other)

    # Accents (added in the seventh session, last so that no earlier query changed): a listed name written
    # with diacritics, as an ASCII-only ERP export writes it (the marks dropped by Unicode decomposition, not
    # by the matcher's own fold).
    accented = 0
    for label, entry in companies:
        plain = _without_marks(entry.name)
        if plain != entry.name and plain.isascii() and accented < 150:
            q("accents", plain, (label, entry.key), label)
            accented += 1
    return queries


def _without_marks(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


_FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


# --- evaluation -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scored:
    """A query's outcome under one matcher: the expected entry's score (positives) and the best score of
    any entry that would be a false alarm (negatives), with what that was."""

    query: Query
    expected: float
    wrong: float
    wrong_name: str = ""


Candidate = tuple[str, Entry, Enrichment]


def candidates(lists: Lists, query: Query) -> list[Candidate]:
    """listwatch's own retrieval: the entries sharing most index keys with the query, per list searched."""
    keys = watch_keys(watched(lists, query))
    return [(idx.source, e, en) for idx in lists.index_set(query.searched) for e, en in idx.candidates(keys)]


def excluded(query: Query, entry: Entry) -> bool:
    """Entries that are not a false alarm for a latin_distinct query: the entry itself and entries with the
    same core name (the same party listed twice)."""
    if query.origin is None:
        return False
    core = name_form(query.watch.name).core
    return entry.key == query.origin[1] or any(name_form(n).core == core for n in [entry.name, *entry.aliases])


Scorer = Callable[[Query, Sequence[Candidate]], Sequence[float]]


def listwatch_scorer(lists: Lists) -> Scorer:
    def scorer(query: Query, cands: Sequence[Candidate]) -> list[float]:
        watch = watched(lists, query)
        return [score_watch(watch, enrichment).value for _, _, enrichment in cands]

    return scorer


def run(queries: Iterable[Query], cands: Callable[[Query], Sequence[Candidate]], scorer: Scorer) -> list[Scored]:
    out = []
    for query in queries:
        found = cands(query)
        scores = scorer(query, found)
        expected, wrong, wrong_name = 0.0, 0.0, ""
        for (source, entry, _), value in zip(found, scores, strict=True):
            if query.expected is not None:
                if (source, entry.key) == query.expected:
                    expected = max(expected, value)
            elif not excluded(query, entry) and value > wrong:
                wrong, wrong_name = value, f"{source}:{entry.name}"
        out.append(Scored(query, expected, wrong, wrong_name))
    return out


@dataclass
class Figures:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)
    false_hits: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def queries(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def change_retrieval(
    lists: Lists, queries: Sequence[Query], part: str, limit: int, distractors: bool = False,
    counted: Callable[[Query], bool] | None = None, floor: bool = True,
) -> tuple[int, int, float]:
    """The other direction, a list change looking for the companies watched: every query's watch in one
    index (as streams/watchlists.py keeps them), each positive query's expected entry looked up with at most
    ``limit`` candidates (ranked by the entry's best-covered name, ties kept, with ``floor`` those under its
    names' floors left out unless they share an identifier, as the stream does). With ``distractors``, every list entry's primary
    name is watched too (about 34,000 watches of real company names: the cap's cost shows only at scale).
    ``counted``: which positives count (all by default). (watches retrieved, positives, mean candidates)."""
    postings: dict[str, list[int]] = defaultdict(list)
    for i, query in enumerate(queries):
        for key in watch_keys(watched(lists, query)):
            postings[key].append(i)
    if distractors:
        n = len(queries)
        for found in lists.entries.values():
            for e in found:
                for key in watch_keys(WatchEntry(subscriber_id="distractor", id=str(n), name=e.name)):
                    postings[key].append(n)
                n += 1
    entries = {(label, e.key): e for label, found in lists.entries.items() for e in found}
    hits = total = size = 0
    for i, query in enumerate(queries):
        entry = entries.get(query.expected) if query.expected is not None and query.part == part else None
        if entry is None or (counted is not None and not counted(query)):
            continue
        names = enrichment_keysets(enrich_entries([entry], None, None, None))
        taken = rank_keyed(
            [sorted(keys) for keys in names], postings, limit, True, share_floor if floor else None, is_identifier_key
        )
        hits, total, size = hits + (i in taken), total + 1, size + len(taken)
    return hits, total, size / max(total, 1)


def figures(scored: Iterable[Scored], threshold: float, part: str = "test") -> dict[str, Figures]:
    """Counts per category and per family (``family:<name>``) at one threshold, on one part."""
    out: dict[str, Figures] = defaultdict(Figures)
    for s in scored:
        if part != "all" and s.query.part != part:
            continue
        for key in (s.query.category, f"family:{s.query.family}"):
            f = out[key]
            if s.query.expected is not None:
                if s.expected >= threshold:
                    f.tp += 1
                else:
                    f.fn += 1
                    f.misses.append(f"{s.query.watch.name!r} ({s.expected:.2f}; expected {s.query.expected})")
            elif s.wrong >= threshold:
                f.fp += 1
                f.false_hits.append(f"{s.query.watch.name!r} -> {s.wrong_name!r} ({s.wrong:.2f})")
            else:
                f.tn += 1
    return dict(out)


def latin(figs: dict[str, Figures]) -> tuple[float, float]:
    """Latin-script precision and recall: positives' TP/FN, false alarms from the negative family."""
    pos, neg = figs["family:latin_positive"], figs["family:latin_negative"]
    precision = pos.tp / (pos.tp + neg.fp) if pos.tp + neg.fp else 1.0
    return precision, pos.recall


def evaluate(tmp: Path) -> tuple[Lists, list[Query], list[Scored]]:
    lists = load_lists(tmp)
    queries = build(lists)
    return lists, queries, run(queries, lambda q: candidates(lists, q), listwatch_scorer(lists))


def report(threshold: float = DEFAULT_THRESHOLD, part: str = "test") -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        lists, queries, scored = evaluate(Path(tmp))
    size = sum(len(es) for es in lists.entries.values())
    yield f"threshold {threshold}; part {part}; {size} list entries; {len(queries)} queries (all parts)"
    figs = figures(scored, threshold, part)
    precision, recall = latin(figs)
    yield f"Latin script: precision {precision:.3f} recall {recall:.3f}"
    yield "| category | queries | TP | FP | FN | TN | precision | recall |"
    yield "|---|---|---|---|---|---|---|---|"
    for family, cats in FAMILIES.items():
        for key in (*cats, f"family:{family}"):
            if key in figs:
                f = figs[key]
                yield (f"| {key} | {f.queries} | {f.tp} | {f.fp} | {f.fn} | {f.tn} | {f.precision:.3f} | "
                       f"{f.recall:.3f} |")  # fmt: skip
    for key, f in sorted(figs.items()):
        if not key.startswith("family:"):
            for line in f.misses[:6] + f.false_hits[:6]:
                yield f"  {key}: {line}"


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    for line in report(float(args[0]) if args else DEFAULT_THRESHOLD, args[1] if len(args) > 1 else "dev"):
        print(line)
