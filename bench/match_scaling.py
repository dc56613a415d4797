"""Time per change against the watchlists as they grow (issue: speed at scale, target 4): 10k, 100k and 1M
watched companies, beside a naive compare-with-every-watch baseline.

A private ``redis-server`` holds the watchlist store and its index (streams/watchlists.py) filled with made-up
company names (``bench/freshness.py made_up_names``) in batches. For 200 real OFAC SDN entries (their baseline
changes, enriched as the worker enriches them) the time of what the match stage does per change is taken:
the candidate lookup in the index, then scoring every candidate (``match_change``), in a first pass with a
store whose caches are empty and no name forms kept (as a worker meets watches it never read), then again
(as one meets watches it read lately): the median, the mean (the time per change over them all) and the p95
of each. The naive baseline scores every watched company for a few changes (sampled: it takes seconds per
change at 1M). ``python -m bench match_scaling [--quick]`` (quick: 1k and 10k); JSON per result in
``bench/results/match_scaling.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import connect_redis, free_port, line_plot, real_ofac_snapshot, save_results, start_redis

PLOT = Path(__file__).parents[1] / "docs" / "benchmarks_match_scaling.png"


async def run(sizes: list[int]) -> list[dict[str, object]]:

    from bench.freshness import made_up_names
    from contracts.settings import CommonSettings
    from monitor.diff import diff
    from streams.enrich.change import enrich
    from streams.enrich.names import name_form
    from streams.match.logic import enrichment_keysets, match_change, score_watch
    from streams.watchlists import WatchEntry, WatchlistStore

    port = free_port()
    proc = start_redis(port)
    results: list[dict[str, object]] = []
    try:
        redis = await connect_redis(port)
        settings = CommonSettings.from_env({"LISTWATCH_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
        source, parsed = real_ofac_snapshot()
        changes = list(diff("ofac_sdn", None, None, parsed, datetime.now(UTC), source.info))[::70][:200]
        enriched = [enrich(c) for c in changes]
        store = WatchlistStore(redis, settings)
        names = made_up_names(max(sizes), seed=11)
        loaded: list[WatchEntry] = []
        for size in sizes:
            while len(loaded) < size:
                batch = [WatchEntry(subscriber_id="bench", id=f"w{i}", name=names[i])
                         for i in range(len(loaded), min(size, len(loaded) + 500))]  # fmt: skip
                await store.put_many(batch)
                loaded.extend(batch)
            # First pass cold, as a worker meets candidates it never read: a store with empty caches (watch
            # entries, postings) and no name forms kept. Then the same changes again, warm: what a worker
            # pays for watches it has read lately (its caches hold 200,000 entries and 65,536 name forms, so
            # at 1M watches a stream of diverse changes lands between the two).
            name_form.cache_clear()
            fresh = WatchlistStore(redis, settings)
            passes = []
            for _ in range(2):
                times, found = [], 0
                for e in enriched:
                    started = time.perf_counter()
                    [candidates] = await fresh.candidates_many([enrichment_keysets(e.enrichment)])
                    alerts = match_change(e, candidates, {"bench": 0.88}, datetime.now(UTC))
                    times.append(time.perf_counter() - started)
                    found += len(alerts)
                passes.append((sorted(times), found))
            naive = []
            for e in enriched[:3]:
                started = time.perf_counter()
                for watch in loaded:
                    score_watch(watch, e.enrichment)
                naive.append(time.perf_counter() - started)
            (cold, found), (warm, _) = passes
            results.append({"benchmark": "match_scaling", "watched_companies": size, "changes": len(enriched),
                            "median_ms": _ms(statistics.median(cold)), "mean_ms": _ms(statistics.fmean(cold)),
                            "p95_ms": _ms(_p95(cold)), "warm_median_ms": _ms(statistics.median(warm)),
                            "warm_mean_ms": _ms(statistics.fmean(warm)), "warm_p95_ms": _ms(_p95(warm)),
                            "alerts": found, "naive_median_ms": round(statistics.median(naive) * 1000, 1)})  # fmt: skip
            print(json.dumps(results[-1]), flush=True)
        first, last = results[0], results[-1]
        fields = ("median_ms", "mean_ms", "p95_ms", "warm_median_ms", "warm_mean_ms", "warm_p95_ms")
        ratio = {f: round(float(str(last[f])) / float(str(first[f])), 2) for f in fields}
        results.append({"benchmark": "match_scaling", "what": "time per change, largest / smallest watchlist",
                        "ratio": ratio["median_ms"], "mean_ratio": ratio["mean_ms"], "p95_ratio": ratio["p95_ms"],
                        "warm_ratio": ratio["warm_median_ms"], "warm_mean_ratio": ratio["warm_mean_ms"],
                        "warm_p95_ratio": ratio["warm_p95_ms"],
                        "target_ratio": 3.0})  # fmt: skip
        await redis.aclose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return results


def _p95(ordered: list[float]) -> float:
    return ordered[int(0.95 * (len(ordered) - 1))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def plot(results: list[dict[str, object]]) -> None:
    rows = [r for r in results if "watched_companies" in r]
    sizes = [float(str(r["watched_companies"])) for r in rows]
    series = {label: (sizes, [float(str(r[field])) for r in rows])
              for field, label in (("median_ms", "listwatch median, first pass"),
                                   ("mean_ms", "listwatch mean, first pass"), ("p95_ms", "listwatch p95, first pass"),
                                   ("warm_p95_ms", "listwatch p95, repeated"),
                                   ("naive_median_ms", "naive scan of every watch"))}  # fmt: skip
    line_plot(PLOT, series, ("watched companies", "ms per list change", "Matching a change as watchlists grow"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench match_scaling")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    results = asyncio.run(run([1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000]))
    print(json.dumps(results[-1]))
    save_results("match_scaling", results, args.quick)
    if not args.quick:
        plot(results)
    return 0
