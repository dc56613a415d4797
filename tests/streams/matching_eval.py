"""The labelled evaluation set for matching, built from the real lists in the shared real data.

Run ``python -m tests.streams.matching_eval`` for the report in docs/matching.md; the test in
test_matching_quality.py fails when quality drops below what that report states.

Queries are (watch entry, expected list entry or None). A positive query counts as found when the
expected entry is among the matches at or above the threshold; a negative query (None) is a false
positive when anything matches. Precision = TP / (TP + FP), recall = TP / (TP + FN), per group.
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opencc import OpenCC

from contracts.models import Entry
from monitor.diff import decode_entry, read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from streams.enrich.names import name_form
from streams.match.score import DEFAULT_THRESHOLD
from streams.screen import SnapshotIndex
from streams.watchlists import WatchEntry
from tests.snapshots import materialise

# (source, fixture snapshot): the lists the evaluation draws from and searches in.
LISTS = [
    ("ofac_sdn", "watchman_2021-07"),
    ("ofac_sdn", "gitscrape_2024-05-03"),
    ("un_sc", "2026-02-27"),
    ("worldbank", "2025-01-07_xlsx"),
    ("idb", "2025-02"),
    ("ebrd", "2025-02"),
    ("afdb", "2024-06-04"),
    ("cn_sanctions", "2026-08-07"),
]

# Real companies that are on none of these lists (checked by the evaluation itself: an exact name on a
# list would fail it loudly).
NOT_LISTED = [
    "Toyota Motor Corporation", "Nestlé S.A.", "Siemens AG", "Unilever PLC", "Samsung Electronics Co., Ltd.",
    "Alibaba Group Holding Limited", "Tencent Holdings Limited", "BYD Company Limited", "Contemporary Amperex "
    "Technology Co., Limited", "Haier Smart Home Co., Ltd.", "Lenovo Group Limited", "Xiaomi Corporation",
    "Volkswagen AG", "BASF SE", "Maersk A/S", "Nokia Oyj", "Ericsson AB", "Infosys Limited", "Tata Steel Limited",
    "Petrobras S.A.", "Vale S.A.", "Anglo American plc", "Rio Tinto Group", "BHP Group Limited", "Sony Group "
    "Corporation", "Hitachi, Ltd.", "Panasonic Holdings Corporation", "Hyundai Motor Company", "LG Electronics Inc.",
    "Schneider Electric SE", "Airbus SE", "Safran S.A.", "Michelin", "Heineken N.V.", "Philips N.V.", "ABB Ltd",
    "Roche Holding AG", "Novartis AG", "Zurich Insurance Group AG", "Standard Chartered PLC",
    "比亚迪股份有限公司", "腾讯控股有限公司", "海尔智家股份有限公司", "宁德时代新能源科技股份有限公司",
    "联想集团有限公司",
]  # fmt: skip

_LEGAL_SWAPS = [
    (" co ltd", " company limited"), (" company limited", " co., ltd."), (" corporation", " corp."),
    (" corp", " corporation"), (" limited", " ltd"), (" ltd", " limited"), (" llc", " l.l.c."), (" inc", " inc."),
    (" s a", " s.a."), (" gmbh", " g.m.b.h."),
]  # fmt: skip


@dataclass
class Query:
    group: str
    watch: WatchEntry
    expected: tuple[str, str] | None  # (source, entry key) or None for a negative
    # For "latin_distinct": the listed entry whose name is searched among the other entries of its list.
    origin: tuple[str, str] | None = None


@dataclass
class GroupResult:
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


def load_lists(tmp: Path) -> dict[str, list[Entry]]:
    """Entries per list, keyed by source id (``source@snapshot`` for a second snapshot of one list)."""
    out: dict[str, list[Entry]] = {}
    sources = registry()
    for source_id, snapshot in LISTS:
        source = sources[source_id]
        files = from_path(source.info, materialise(source_id, snapshot, tmp))
        parsed = read_snapshot(source, files, files.snapshot_id())
        label = source_id if source_id not in out else f"{source_id}@{snapshot}"
        out[label] = [decode_entry(parsed.entries[k]) for k in parsed.entries]
    return out


def _variant(name: str, rng: random.Random) -> str | None:
    """A spelling a customer might use for a listed company: another legal-form spelling, other case
    and punctuation, or one typo in a long word."""
    lowered = " " + " ".join(name.replace(",", " ").replace(".", " ").lower().split())
    for old, new in _LEGAL_SWAPS:
        if lowered.endswith(old):
            return (lowered[: -len(old)] + new).strip().title()
    words = name.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) >= 7 and word.isalpha():
        i = rng.randrange(1, len(word) - 1)
        words[longest] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two letters
        return " ".join(words).title()
    return None


def build(lists: dict[str, list[Entry]], seed: int = 42) -> list[Query]:
    rng = random.Random(seed)
    queries: list[Query] = []
    to_trad, n = OpenCC("s2t"), 0

    def watch(name: str, **kw: object) -> WatchEntry:
        nonlocal n
        n += 1
        return WatchEntry(subscriber_id="eval", id=f"q{n}", name=name, **kw)  # type: ignore[arg-type]

    latin = [
        (s, e) for s, es in lists.items() for e in es
        if e.entity_type in {"entity", "unknown"} and name_form(e.name).script == "latin" and "#" not in e.key
    ]  # fmt: skip
    rng.shuffle(latin)
    # Latin positives: the listed name as a customer would spell it.
    for source, entry in latin[:400]:
        variant = _variant(entry.name, rng)
        if variant:
            queries.append(Query("latin", watch(variant), (source, entry.key)))
    # Latin negatives: a listed company's name searched in the list without it (distinct entities with
    # similar names, as each list tells them apart).
    for source, entry in latin[400:800]:
        queries.append(Query("latin_distinct", watch(entry.name), None, origin=(source, entry.key)))
    # Companies on no list.
    queries.extend(Query("not_listed", watch(name), None) for name in NOT_LISTED)
    # Chinese names given in traditional characters or full width.
    chinese = [(s, e, a) for s, es in lists.items() for e in es for a in [e.name, *e.aliases]
               if name_form(a).script == "cjk" and len(name_form(a).core) >= 4]  # fmt: skip
    rng.shuffle(chinese)
    for i, (source, entry, alias) in enumerate(chinese[:200]):
        form = to_trad.convert(alias) if i % 2 == 0 else alias.translate(_FULL_WIDTH_DIGITS_LATIN)
        if i % 4 == 0:
            form = form.translate(_FULL_WIDTH_DIGITS_LATIN)
        queries.append(Query("chinese_variants", watch(form), (source, entry.key)))
    # Chinese name only, against the English-only entry: transliteration is all there is.
    both = [
        (s, e) for s, es in lists.items() for e in es
        if name_form(e.name).script == "latin" and any(name_form(a).script == "cjk" for a in e.aliases)
    ]  # fmt: skip
    rng.shuffle(both)
    for source, entry in both[:100]:
        zh = next(a for a in entry.aliases if name_form(a).script == "cjk")
        queries.append(Query("chinese_to_english", watch(zh), (source, entry.key)))
    # Identifiers: the USCC alone, under another name.
    for source, es in lists.items():
        for entry in es:
            for ident in entry.identifiers:
                if ident.scheme == "uscc" and len(ident.value) == 18:
                    queries.append(Query("identifier", watch("Some Other Name", uscc=ident.value), (source, entry.key)))
    return queries


_FULL_WIDTH_DIGITS_LATIN = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def evaluate(lists: dict[str, list[Entry]], queries: list[Query], threshold: float) -> dict[str, GroupResult]:
    results: dict[str, GroupResult] = defaultdict(GroupResult)
    full = {s: _index(s, es) for s, es in lists.items()}
    stripped: dict[str, dict[str, SnapshotIndex]] = {"chinese_to_english": {}, "latin_distinct": {}}
    for q in queries:
        r = results[q.group]
        if q.group == "latin_distinct" and q.origin:
            hits = _hits_without(full[q.origin[0]], q, threshold)
        elif q.group == "chinese_to_english" and q.expected:
            source = q.expected[0]
            if source not in stripped["chinese_to_english"]:
                stripped["chinese_to_english"][source] = _index(source, [_english_only(e) for e in lists[source]])
            hits = {
                (h.source, h.entry.key) for h in stripped["chinese_to_english"][source].screen([q.watch], threshold)
            }
        else:
            hits = {(h.source, h.entry.key) for idx in full.values() for h in idx.screen([q.watch], threshold)}
        if q.expected is None:
            if hits:
                r.fp += 1
                r.false_hits.append(f"{q.watch.name!r} -> {sorted(hits)[:3]}")
            else:
                r.tn += 1
        elif q.expected in hits:
            r.tp += 1
        else:
            r.fn += 1
            r.misses.append(f"{q.watch.name!r} (expected {q.expected})")
    return dict(results)


def _english_only(entry: Entry) -> Entry:
    return Entry(key=entry.key, name=entry.name, aliases=[a for a in entry.aliases if name_form(a).script != "cjk"],
                 entity_type=entry.entity_type, countries=entry.countries)  # fmt: skip


def _index(source: str, entries: list[Entry]) -> SnapshotIndex:
    index = SnapshotIndex(source)
    for entry in entries:
        index.add(entry)
    return index


def _hits_without(index: SnapshotIndex, q: Query, threshold: float) -> set[tuple[str, str]]:
    """Matches of a listed name among the *other* entries of its own list: the entry itself and entries
    with the same core name (the same party listed twice) are not counted. Other lists are not searched:
    development banks cross-debar the same firms, so a match there is usually right."""
    assert q.origin is not None
    core = name_form(q.watch.name).core
    return {
        (h.source, h.entry.key)
        for h in index.screen([q.watch], threshold)
        if (h.source, h.entry.key) != q.origin
        and name_form(h.entry.name).core != core
        and not any(name_form(a).core == core for a in h.entry.aliases)
    }


def report(threshold: float = DEFAULT_THRESHOLD) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        lists = load_lists(Path(tmp))
    queries = build(lists)
    results = evaluate(lists, queries, threshold)
    yield f"threshold {threshold}; {sum(len(es) for es in lists.values())} list entries; {len(queries)} queries"
    yield "| group | queries | TP | FP | FN | TN | precision | recall |"
    yield "|---|---|---|---|---|---|---|---|"
    for group, r in sorted(results.items()):
        yield (f"| {group} | {r.tp + r.fp + r.fn + r.tn} | {r.tp} | {r.fp} | {r.fn} | {r.tn} | "
               f"{r.precision:.3f} | {r.recall:.3f} |")  # fmt: skip
    for group, r in sorted(results.items()):
        for line in r.misses[:5] + r.false_hits[:5]:
            yield f"  {group}: {line}"


if __name__ == "__main__":
    import sys

    for line in report(float(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_THRESHOLD):
        print(line)
