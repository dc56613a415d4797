"""Matching quality side by side: listwatch, nomenklatura's logic-v2 (the matcher yente uses) and a plain
rapidfuzz token_set_ratio floor, on the same queries of the evaluation set (tests/streams/matching_eval.py),
in one run. Also the time per query of listwatch's retrieval and scoring against every list loaded.

Every matcher scores the same candidates per query: listwatch's own retrieval plus the ten names rapidfuzz
ranks highest in the lists searched (so the anchors are not limited by our index). listwatch's figures use
its own retrieval only, as in production. Figures are for the held-out ``test`` part unless ``--part``.

Prints one JSON object per (matcher, threshold) and a summary; writes docs/matching_pr.png.
Needs the bench extra (``pip install -e '.[bench]'``: nomenklatura, matplotlib).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process, utils

from contracts.models import Entry
from streams.match.score import DEFAULT_THRESHOLD
from streams.screen import SnapshotIndex
from tests.streams.matching_eval import (
    Candidate,
    Figures,
    Lists,
    Query,
    Scored,
    build,
    candidates,
    figures,
    latin,
    listwatch_scorer,
    load_lists,
    run,
)

THRESHOLDS = [round(0.70 + 0.02 * i, 2) for i in range(15)]
PNG = Path(__file__).resolve().parents[1] / "docs" / "matching_pr.png"


class Widened:
    """Candidates for the anchors: listwatch's plus rapidfuzz's top ten names in the lists searched."""

    def __init__(self, lists: Lists) -> None:
        self._lists = lists
        self._choices: dict[str, tuple[list[str], list[Candidate]]] = {}

    def _names(self, searched: str) -> tuple[list[str], list[Candidate]]:
        if searched not in self._choices:
            names: list[str] = []
            owners: list[Candidate] = []
            for idx in self._lists.index_set(searched):
                for entry, enrichment in idx.entries():
                    for name in [entry.name, *entry.aliases]:
                        names.append(utils.default_process(name))
                        owners.append((idx.source, entry, enrichment))
            self._choices[searched] = (names, owners)
        return self._choices[searched]

    def __call__(self, query: Query) -> list[Candidate]:
        found = {(s, e.key): (s, e, en) for s, e, en in candidates(self._lists, query)}
        names, owners = self._names(query.searched)
        for name in query.watch.names():
            hits = process.extract(utils.default_process(name), names, scorer=fuzz.token_set_ratio, limit=10)
            for _, _, position in hits:
                s, e, en = owners[position]
                found.setdefault((s, e.key), (s, e, en))
        return list(found.values())


def rapidfuzz_scorer(query: Query, cands: Sequence[Candidate]) -> list[float]:
    watched = [utils.default_process(n) for n in query.watch.names()]
    return [
        max(fuzz.token_set_ratio(w, utils.default_process(n)) / 100 for w in watched for n in [e.name, *e.aliases])
        for _, e, _ in cands
    ]


def logic_v2_scorer() -> Callable[[Query, Sequence[Candidate]], list[float]]:
    from followthemoney import model
    from nomenklatura.matching import LogicV2

    schemata = {"entity": "Organization", "individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
    cache: dict[str, object] = {}
    config = LogicV2.default_config()

    def entity(
        eid: str, schema: str, names: Sequence[str], countries: Sequence[str], ids: Sequence[tuple[str, str]]
    ) -> Any:
        e = model.make_entity(schema)
        e.id = eid  # logic-v2 caches name analysis by entity id: every entity gets its own
        e.add("name", names[0])
        e.add("alias", list(names[1:]))
        e.add("country", list(countries), quiet=True)
        for scheme, value in ids:
            prop = {"lei": "leiCode", "imo": "imoNumber"}.get(scheme, "registrationNumber")
            if e.schema.get(prop) is not None:
                e.add(prop, value, quiet=True)
        return e

    def score(query: Query, cands: Sequence[Candidate]) -> list[float]:
        w = query.watch
        q = entity(f"q:{w.id}", "Company", w.names(), [w.country] if w.country else [], w.identifiers())
        out = []
        for source, e, _ in cands:
            # Keyed by what the entry says, not only by its key: a query that holds out one of an entry's
            # names searches a copy of the entry without it, under the same key (keyed by the key alone, the
            # anchor saw the held-out name whenever the full entry had been built first).
            ids = [(i.scheme, i.value) for i in e.identifiers]
            names = [e.name, *e.aliases]
            key = repr((source, e.key, e.entity_type, names, e.countries, ids))
            if key not in cache:
                eid = f"{source}:{e.key}:{len(cache)}"  # logic-v2 caches by entity id: one per version
                cache[key] = entity(eid, schemata.get(e.entity_type, "LegalEntity"), names, e.countries, ids)
            out.append(LogicV2.compare(q, cache[key], config).score)
        return out

    return score


def _summary(name: str, scored: list[Scored], part: str) -> list[dict[str, object]]:
    rows = []
    for t in THRESHOLDS:
        figs = figures(scored, t, part)
        p, r = latin(figs)

        def recall(cat: str, figs: dict[str, Figures] = figs) -> float | None:
            return round(figs[cat].recall, 4) if cat in figs else None

        rows.append({
            "bench": "matching", "matcher": name, "part": part, "threshold": t,
            "latin_precision": round(p, 4), "latin_recall": round(r, 4),
            "latin_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "chinese_variants_recall": recall("chinese_variants"), "chinese_both_recall": recall("chinese_both"),
            "chinese_to_english_recall": recall("chinese_to_english"), "identifier_recall": recall("identifier"),
            "identifier_conflict_false_alarms": figs["identifier_conflict"].fp if "identifier_conflict" in figs
            else None,
        })  # fmt: skip
    return rows


def paired_recall(
    ours: Sequence[bool], theirs: Sequence[bool], resamples: int = 4000, seed: int = 7
) -> dict[str, object]:
    """Two matchers' hits on the same positives: the recall difference (ours - theirs), a 95 % interval of it by
    a paired bootstrap (positives resampled with replacement, both matchers' outcomes kept together), and how
    many only one of them finds. Whether a gap is more than which queries happened to be drawn."""
    if len(ours) != len(theirs) or not ours:
        raise ValueError("paired_recall needs the same positives, at least one, for both matchers")
    n = len(ours)
    pairs = [int(a) - int(b) for a, b in zip(ours, theirs, strict=True)]
    rng = random.Random(seed)
    diffs = sorted(sum(pairs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return {
        "difference": round(sum(pairs) / n, 4), "ci95": [round(diffs[int(0.025 * resamples)], 4),
        round(diffs[int(0.975 * resamples) - 1], 4)], "only_ours": pairs.count(1), "only_theirs": pairs.count(-1),
        "positives": n,
    }  # fmt: skip


def _speed(
    lists: Lists, queries: list[Query], sample: int, copies: int = 1, threshold: float = 0.0
) -> dict[str, object]:
    """listwatch per query against every list loaded in one index, as the stream worker keeps them in Redis:
    retrieval and scoring of every candidate (``threshold`` 0: the offline screen scores them all), or, at a
    threshold, as the worker screens a newly watched company (candidates whose cheap bound is under it are
    not scored); median and p95 in ms, after one warm-up pass (the caches of a running worker). ``copies`` >
    1 adds every entry again under another key, for an index of that many times the size (the real lists
    here hold about 30,000)."""
    index = SnapshotIndex("all")
    for copy in range(copies):
        for entries in lists.entries.values():
            for entry in entries:
                index.add(entry if copy == 0 else Entry(**{**entry.asdict(), "key": f"{entry.key}#{copy}"}))
    picked = queries[:: max(1, len(queries) // sample)][:sample]
    timings = []
    for measured in (False, True):
        for query in picked:
            started = time.perf_counter()
            for _ in index.screen([query.watch], threshold):
                pass
            if measured:
                timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "bench": "matching_speed", "entries": len(index), "threshold": threshold, "queries": len(timings),
        "median_ms": round(statistics.median(timings), 3), "p95_ms": round(timings[int(0.95 * len(timings))], 3),
    }  # fmt: skip


def _plot(curves: dict[str, list[dict[str, object]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    for (name, rows), marker in zip(curves.items(), "os^", strict=False):
        recall = [float(str(r["latin_recall"])) for r in rows]
        precision = [float(str(r["latin_precision"])) for r in rows]
        ax.plot(recall, precision, marker=marker, label=name)
        for r in rows[::3]:
            ax.annotate(f"{r['threshold']:.2f}", (r["latin_recall"], r["latin_precision"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))  # fmt: skip
    ax.set_xlabel("recall (Latin script, test part)")
    ax.set_ylabel("precision")
    ax.set_title("Matching: precision-recall over thresholds 0.70-0.98")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench matching")
    parser.add_argument("--quick", action="store_true", help="every fourth query, no plot")
    parser.add_argument("--part", default="test", choices=["dev", "test", "all"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        lists = load_lists(Path(tmp))
    queries = build(lists)
    if args.quick:
        queries = queries[::4]
    widened = Widened(lists)
    pools = {id(q): widened(q) for q in queries}
    curves: dict[str, list[dict[str, object]]] = {}
    timing: dict[str, float] = {}
    runs: dict[str, list[Scored]] = {}
    for name, cands, scorer in (
        ("listwatch", lambda q: candidates(lists, q), listwatch_scorer(lists)),
        ("nomenklatura logic-v2", lambda q: pools[id(q)], logic_v2_scorer()),
        ("rapidfuzz token_set_ratio", lambda q: pools[id(q)], rapidfuzz_scorer),
    ):
        started = time.perf_counter()
        scored = runs[name] = run(queries, cands, scorer)
        timing[name] = time.perf_counter() - started
        curves[name] = _summary(name, scored, args.part)
        for row in curves[name]:
            print(json.dumps(row))
    bests: dict[str, dict[str, object]] = {}
    for name, rows in curves.items():
        best = bests[name] = max(rows, key=lambda r: (r["latin_f1"], r["threshold"]))
        print(json.dumps({"bench": "matching_best", "matcher": name, "part": args.part, **{
            k: best[k] for k in ("threshold", "latin_precision", "latin_recall", "latin_f1")},
            "scoring_seconds": round(timing[name], 1)}))  # fmt: skip
    # listwatch at its default threshold against logic-v2 at its own best, on the same Latin positives
    best_v2 = float(str(bests["nomenklatura logic-v2"]["threshold"]))
    positives = [i for i, s in enumerate(runs["listwatch"]) if s.query.family == "latin_positive"
                 and (args.part == "all" or s.query.part == args.part)]  # fmt: skip
    print(json.dumps({"bench": "matching_paired", "part": args.part, "ours": f"listwatch at {DEFAULT_THRESHOLD}",
                      "theirs": f"nomenklatura logic-v2 at {best_v2}", **paired_recall(
                          [runs["listwatch"][i].expected >= DEFAULT_THRESHOLD for i in positives],
                          [runs["nomenklatura logic-v2"][i].expected >= best_v2 for i in positives])}))
    for copies in (1, 2):
        for threshold in (0.0, DEFAULT_THRESHOLD):
            print(json.dumps(_speed(lists, queries, 300, copies, threshold)))
    if not args.quick:
        _plot(curves, PNG)
        print(json.dumps({"bench": "matching_plot", "path": str(PNG.relative_to(PNG.parents[1]))}))
    return 0
