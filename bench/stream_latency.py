"""Latency from a change on the changes topic to its alert on the alerts topic, at a steady offered rate
(issue: speed at scale, target 3: p99 < 250 ms and p50 < 50 ms at 1,000 changes/s).

The local Kafka and Redis (a namespace of its own), one stream worker process (``python -m streams``), W
watched companies, and additions (not a baseline) of an OFAC-shaped list whose every entry is one of the
watched names, so that each change makes one alert (and, in the full run, a mix where one change in ten
does, the others looked up and scored alike and alerting nobody). For each offered rate the changes are published in
10 ms ticks for ``--seconds``; each change's clock starts when Kafka acknowledged it and stops when its alert
is read from the alerts topic (both in this process). Names made up, or real (the 2024 OFAC SDN list's, from
``LISTWATCH_REALDATA``): ``python -m bench stream_latency [--quick] [--names made-up|real|both]``, one JSON
object per rate in ``bench/results/stream_latency.json``, and docs/benchmarks_latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import (
    MachineCpu,
    Run,
    check_alive,
    drop_namespace,
    holds_partitions,
    line_plot,
    private_run,
    process_cpu,
    save_results,
    server_cpu,
    start_worker,
    stop,
)
from bench.diff_speed import ROW
from tests.factories import made_up_name

if TYPE_CHECKING:
    from contracts.clients import Producer
    from contracts.models import ListChange
    from contracts.settings import CommonSettings
    from monitor.publisher import ChangePublisher

PLOT = Path(__file__).parents[1] / "docs" / "benchmarks_latency.png"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _write_list(path: Path, names: list[str]) -> None:
    """An OFAC-shaped file of one entry per name."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        for n, name in enumerate(names, 1):
            row = ROW.format(n=n, program="SDGT")
            fh.write(row.replace(f"EXAMPLE TRADING CO {n} LIMITED", name.upper().replace('"', '""')))
        fh.write("\x1a")


def real_names(count: int) -> list[str]:
    """``count`` distinct primary names of the real OFAC SDN list of 2024 (companies, people, vessels as the
    list has them), in a fixed shuffled order: names nobody made up for this benchmark, which share index keys
    with one another as real names do (made-up names share four-letter prefixes by the hundred, and share
    nothing else)."""
    import random

    import orjson

    from bench.common import real_ofac_snapshot
    from streams.enrich.names import name_form

    _, parsed = real_ofac_snapshot()
    distinct: dict[str, str] = {}
    for raw in parsed.entries.values():
        name = str(orjson.loads(raw)["name"])
        distinct.setdefault(name_form(name).core, name)
    names = sorted(distinct.values())
    random.Random(7).shuffle(names)
    if len(names) < count:
        raise SystemExit(f"stream_latency: {count} real names needed, the 2024 OFAC SDN list has {len(names)}")
    return names[:count]


class AlertClock:
    """When each change's first alert was read from the alerts topic (this process's clock), by change id."""

    def __init__(self, settings: CommonSettings, topic: str, group: str) -> None:
        from aiokafka import AIOKafkaConsumer

        self.seen: dict[str, float] = {}
        self._awaited: set[str] = set()
        self._consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, group_id=group,
                                          auto_offset_reset="earliest", fetch_max_wait_ms=5)  # fmt: skip
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def expect(self, ids: Iterable[str]) -> None:
        """Await these changes' alerts: ``missing`` counts those not read yet, as they arrive (searching all
        the ids every 50 ms was a fifth of this process's samples in a 20,000-change drain, on the cores the
        worker shares)."""
        self._awaited = {i for i in ids if i not in self.seen}

    @property
    def missing(self) -> int:
        return len(self._awaited)

    async def _read(self) -> None:
        import orjson

        while True:
            batches = await self._consumer.getmany(timeout_ms=50)
            stamp = time.perf_counter()
            for records in batches.values():
                for record in records:
                    # Only the change's id (the alerts topic is plain JSON, contracts/codec.py): a whole Alert
                    # decoded by faust cost about 70 us of the two cores the worker shares, 5 us this way.
                    change_id = orjson.loads(record.value)["change_event_id"]
                    if change_id not in self.seen:
                        self.seen[change_id] = stamp
                        self._awaited.discard(change_id)


async def _alerting(
    run_: Run, names: str, listed: int, watches: int, every: int = 1
) -> tuple[list[str], list[ListChange], set[str]]:
    """Distinct names, the first ``listed`` of them listed as additions, and the ids of the changes that alert.
    ``every`` 1: every listed name is watched (each change alerts its own watch), and so are the others up
    to ``watches``. ``every`` k: one listed name in k is watched, and ``watches`` names in all (the rest not
    listed): the other changes are looked up and scored like any change, and alert nobody. Made-up names
    share four-letter prefix keys by the hundred and nothing else; real names share what real names share."""
    from monitor.diff import diff, read_snapshot
    from monitor.snapshot import DiskSnapshot
    from monitor.sources.ofac_sdn import OfacSdn
    from streams.watchlists import WatchEntry, WatchlistStore

    total = max(listed, watches) if every == 1 else listed + watches
    pool = real_names(total) if names == "real" else [made_up_name(n) for n in range(1, total + 1)]
    _write_list(run_.tmp / "sdn.csv", pool[:listed])
    if every == 1:
        watched = pool
    else:  # one listed name in ``every``, and names not listed up to ``watches``
        watched = pool[:listed:every]
        watched += pool[listed : listed + watches - len(watched)]
    source = OfacSdn()
    parsed = read_snapshot(source, DiskSnapshot({"sdn.csv": run_.tmp / "sdn.csv"}), "s")
    # Against an empty previous snapshot: additions, alerted as such (a baseline would not be news).
    changes = list(diff("ofac_sdn", {}, "empty", parsed, datetime.now(UTC), source.info))
    await WatchlistStore(run_.redis, run_.settings).put_many(
        WatchEntry(subscriber_id="bench", id=f"w{i}", name=n) for i, n in enumerate(watched)
    )
    # _write_list lists each name upper-cased, as OFAC does
    upper = {n.upper() for n in watched}
    return watched, changes, {c.event_id for c in changes if c.current.name in upper}


async def _warm_up(
    publisher: ChangePublisher, clock: AlertClock, warm: Sequence[ListChange],
    workers: Sequence[tuple[subprocess.Popen[bytes], Path]], alerting: set[str] | None = None,
) -> None:  # fmt: skip
    """The worker joined and its caches loaded: these changes published and all of their alerts read (those of
    ``alerting`` among them, when given)."""
    await publisher.publish(warm)
    clock.expect(c.event_id for c in warm if alerting is None or c.event_id in alerting)
    for _ in range(1200):
        if not clock.missing:
            return
        check_alive(workers)
        await asyncio.sleep(0.1)


async def _close(
    run_: Run, workers: Sequence[subprocess.Popen[bytes]], *clients: AlertClock | ChangePublisher | Producer
) -> None:
    """A run's clients stopped, its workers too, and its namespace removed."""
    for client in clients:
        await client.stop()
    stop(workers)
    await drop_namespace(run_.redis, run_.settings)
    await run_.redis.aclose()


async def run(
    rates: list[int], seconds: float, watches: int, names: str = "made-up", workers: int = 1, every: int = 1
) -> list[dict[str, object]]:
    """``names``: "made-up" (tests/factories.py ``made_up_name``) or "real" (``real_names``). ``workers``: stream
    workers sharing the changes topic's partitions, all joined and warmed up before the clock starts.
    ``every``: one change in ``every`` alerts (``_alerting``); the others load the worker as any change does,
    and only the alerting ones are timed."""
    from contracts.topics import Groups
    from monitor.publisher import ChangePublisher

    run_ = await private_run("latency")
    namespace, tmp, env, settings, topics = run_.namespace, run_.tmp, run_.env, run_.settings, run_.topics
    warm_n = 100 * every  # a hundred alerting changes to warm up with
    pool, changes, alerting = await _alerting(
        run_, names, int(sum(rates) * seconds) + warm_n * (1 + workers), watches, every
    )
    logs = [tmp / f"worker-{i}.log" for i in range(workers)]
    procs = [start_worker(env, log) for log in logs]
    running = list(zip(procs, logs, strict=True))
    publisher = ChangePublisher(settings, topics)
    clock = AlertClock(settings, topics.alerts, f"{namespace}.bench")
    seen = clock.seen
    sent: dict[str, float] = {}
    results: list[dict[str, object]] = []
    await publisher.start()
    await clock.start()
    try:
        warm, rest = changes[:warm_n], changes[warm_n:]
        await _warm_up(publisher, clock, warm, running, alerting)
        if workers > 1:
            group = Groups.for_settings(settings).changes
            for _ in range(1200):
                if all(holds_partitions(log, group, topics.changes) for log in logs):
                    break
                check_alive(running)
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"stream_latency: {workers} workers did not all hold changes partitions in 2 min")
            # each worker's caches warmed on its own partitions
            warm, rest = rest[: warm_n * workers], rest[warm_n * workers :]
            await _warm_up(publisher, clock, warm, running, alerting)
        for rate in rates:
            batch, rest = rest[: int(rate * seconds)], rest[int(rate * seconds) :]
            per_tick = max(1, rate // 100)
            started = time.perf_counter()
            for i in range(0, len(batch), per_tick):
                tick = batch[i : i + per_tick]
                due = started + (i / rate)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await publisher.publish(tick)
                acked = time.perf_counter()
                for change in tick:
                    sent[change.event_id] = acked
            offered = len(batch) / (time.perf_counter() - started)
            timed = [c for c in batch if c.event_id in alerting]
            clock.expect(c.event_id for c in timed)
            for _ in range(6000):  # at most 10 minutes
                if not clock.missing:
                    break
                check_alive(running)
                await asyncio.sleep(0.1)
            latencies = [(seen[c.event_id] - sent[c.event_id]) * 1000 for c in timed if c.event_id in seen]
            row: dict[str, object] = {
                "benchmark": "stream_latency", "offered_per_second": rate, "achieved_offer": round(offered),
                "changes": len(batch), "alerting_changes": len(timed), "alerts_read": len(latencies),
                "watched_companies": len(pool), "names": names, "alerting_share": round(1 / every, 3),
                "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(_quantile(latencies, 0.95), 1),
                "p99_ms": round(_quantile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1),
                "workers": workers, "target": "p99 < 250 ms and p50 < 50 ms at 1,000/s",
            }  # fmt: skip
            results.append(row)
            print(json.dumps(row), flush=True)
            await asyncio.sleep(2)  # let the worker drain before the next rate
    finally:
        await _close(run_, procs, clock, publisher)
    return results


async def drain(names: str, count: int, watches: int, every: int = 1) -> dict[str, object]:
    """How many alerting changes one worker drains per second: ``run``'s changes (each alerts its own watch)
    published as fast as the publisher goes, after a warm-up, timed to the last alert read. The latency at a
    rate near it is mostly queueing, and swings with the hour; this is the capacity it depends on. ``every``
    k: one change in k alerts (``_alerting``), and the rate counts every change, to the last alert read (the
    few changes after the last alerting one may still be in flight)."""
    from monitor.publisher import ChangePublisher

    run_ = await private_run("drain")
    namespace, tmp, env, settings, topics = run_.namespace, run_.tmp, run_.env, run_.settings, run_.topics
    warm_n = 100 * every
    pool, changes, alerting = await _alerting(run_, names, count + warm_n, watches, every)
    worker = start_worker(env, tmp / "worker.log")
    publisher = ChangePublisher(settings, topics)
    clock = AlertClock(settings, topics.alerts, f"{namespace}.bench")
    await publisher.start()
    await clock.start()
    try:
        warm, rest = changes[:warm_n], changes[warm_n:]
        await _warm_up(publisher, clock, warm, [(worker, tmp / "worker.log")], alerting)
        timed = [c for c in rest if c.event_id in alerting]
        cpu, redis_cpu, started = process_cpu([worker]), await server_cpu(run_.redis), time.perf_counter()
        machine = MachineCpu.now()
        for i in range(0, len(rest), 2000):
            await publisher.publish(rest[i : i + 2000])
        clock.expect(c.event_id for c in timed)
        for _ in range(12_000):  # at most 10 minutes
            if not clock.missing:
                break
            check_alive([(worker, tmp / "worker.log")])
            await asyncio.sleep(0.05)
        seconds, cpu = time.perf_counter() - started, process_cpu([worker]) - cpu
        redis_cpu = await server_cpu(run_.redis) - redis_cpu
        machine = MachineCpu.now().since(machine)
        read = sum(1 for c in timed if c.event_id in clock.seen)
        done = len(rest) if read == len(timed) else read * every  # all of them, or about as many as were timed
        row: dict[str, object] = {
            "benchmark": "stream_latency", "case": "alerting changes drained from a backlog", "names": names,
            "changes": len(rest), "alerting_share": round(1 / every, 3), "alerts_read": read,
            "watched_companies": len(pool), "seconds": round(seconds, 2), "per_second": round(done / seconds),
            "worker_cpu_us": round(1e6 * cpu / max(1, done)), "redis_cpu_us": round(1e6 * redis_cpu / max(1, done)),
            **machine.cores(seconds),
            "target": "well above 1,000/s for target 3's latency at 1,000/s",
        }  # fmt: skip
        print(json.dumps(row), flush=True)
        return row
    finally:
        await _close(run_, [worker], clock, publisher)


async def behind_baseline(lane: str, size: int, additions: int, rate: float) -> dict[str, object]:
    """Target 3's second half: additions arriving while a ``size``-entry baseline is in flight. ``lane``
    "own" publishes the baseline as the monitor does (its own topic); "shared" puts it on the changes topic,
    as before baselines had a lane, for the comparison in the same run."""
    from contracts import codec
    from contracts.clients import producer, send_all
    from contracts.topics import change_key
    from monitor.diff import diff, read_snapshot
    from monitor.publisher import ChangePublisher
    from monitor.snapshot import DiskSnapshot
    from monitor.sources.ofac_sdn import OfacSdn
    from streams.watchlists import WatchEntry, WatchlistStore

    run_ = await private_run(f"behind-{lane}")
    namespace, tmp, env, settings, topics, redis = (run_.namespace, run_.tmp, run_.env, run_.settings, run_.topics,
                                                    run_.redis)  # fmt: skip
    warm = 20
    total = size + warm + additions
    _write_list(tmp / "sdn.csv", [made_up_name(n) for n in range(1, total + 1)])
    source = OfacSdn()
    parsed = read_snapshot(source, DiskSnapshot({"sdn.csv": tmp / "sdn.csv"}), "s")
    now = datetime.now(UTC)
    baseline = list(diff("ofac_sdn", None, None, parsed, now, source.info))[:size]
    news = list(diff("ofac_sdn", {}, "empty", parsed, now, source.info))[size:]
    # The warm-up and the additions are watched, and 10,000 other companies; the baseline's entries are not.
    watched = [made_up_name(n) for n in range(size + 1, total + 10_001)]
    await WatchlistStore(redis, settings).put_many(
        WatchEntry(subscriber_id="bench", id=f"w{i}", name=n) for i, n in enumerate(watched)
    )
    worker = start_worker(env, tmp / "worker.log")
    publisher = ChangePublisher(settings, topics)
    raw = producer(settings, compression_type="zstd", max_request_size=8 * 1024 * 1024)  # as the monitor's
    clock = AlertClock(settings, topics.alerts, f"{namespace}.bench")
    seen = clock.seen
    await publisher.start()
    await raw.start()
    await clock.start()
    lists_key = f"{namespace}:list:ofac_sdn"
    try:
        await _warm_up(publisher, clock, news[:warm], [(worker, tmp / "worker.log")])
        started = time.perf_counter()
        topic = topics.baselines if lane == "own" else topics.changes
        for i in range(0, len(baseline), 5000):
            records = [(change_key(c.source, c.entry_key), codec.dumps(c)) for c in baseline[i : i + 5000]]
            await send_all(raw, topic, records)
        published = time.perf_counter() - started
        done: list[float] = []

        async def baseline_done() -> None:
            while await redis.hlen(lists_key) < size + warm:  # noqa: ASYNC110 - polling another process's work
                await asyncio.sleep(0.1)
            done.append(time.perf_counter() - started)

        watcher = asyncio.create_task(baseline_done())
        await asyncio.sleep(2)  # the baseline is in flight
        sent: dict[str, float] = {}
        for change in news[warm:]:
            await publisher.publish([change])
            sent[change.event_id] = time.perf_counter()
            await asyncio.sleep(1 / rate)
        for _ in range(6000):  # at most 10 minutes
            if all(c.event_id in seen for c in news[warm:]) and done:
                break
            check_alive([(worker, tmp / "worker.log")])
            await asyncio.sleep(0.1)
        watcher.cancel()
        baseline_s = done[0] if done else float("nan")
        delays = [(seen[k] - at) * 1000 for k, at in sent.items() if k in seen]
        row: dict[str, object] = {
            "benchmark": "stream_latency", "case": f"additions behind a baseline, {lane} lane",
            "baseline_entries": size, "baseline_published_s": round(published, 1),
            "baseline_through_s": round(baseline_s, 1), "baseline_per_second": round(size / baseline_s),
            "additions": additions, "alerts_read": len(delays), "p50_ms": round(statistics.median(delays), 1),
            "max_ms": round(max(delays), 1), "target": "an addition delayed at most 5 s by a 100k baseline",
        }  # fmt: skip
        print(json.dumps(row), flush=True)
        return row
    finally:
        await _close(run_, [worker], clock, publisher, raw)


def plot(results: list[dict[str, object]]) -> None:
    series = {}
    for names in sorted({str(r.get("names", "made-up")) for r in results}):
        rows = [r for r in results if str(r.get("names", "made-up")) == names]
        rates = [float(str(r["offered_per_second"])) for r in rows]
        for q in ("p50_ms", "p99_ms"):
            series[f"{q.removesuffix('_ms')}, {names} names"] = (rates, [float(str(r[q])) for r in rows])
    line_plot(PLOT, series, ("changes offered per second", "change → alert, ms", "Stream latency, one worker"),
              logx=False, target=(250, "p99 target"))  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench stream_latency")
    parser.add_argument("--quick", action="store_true", help="100 and 250 changes/s for 5 s each")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="stream workers sharing the changes (default 1)")
    parser.add_argument("--names", choices=["made-up", "real", "both"], default=None,
                        help="watched and listed names (default: both with LISTWATCH_REALDATA, made-up without; "
                             "made-up with --quick)")  # fmt: skip
    args = parser.parse_args(argv)
    rates, seconds = ([100, 250], 5.0) if args.quick else ([50, 100, 250, 1000], args.seconds)
    chosen = args.names or ("both" if os.environ.get("LISTWATCH_REALDATA") and not args.quick else "made-up")
    results: list[dict[str, object]] = []
    for names in (["made-up", "real"] if chosen == "both" else [chosen]):
        results += asyncio.run(run(rates, seconds, 10_000, names, args.workers))
        results.append(asyncio.run(drain(names, 2_000 if args.quick else 10_000, 10_000)))
    if not args.quick:
        # one change in ten alerting, the others looked up and scored as any change is: made-up names (the
        # real list has too few distinct names for 10,000 watches beside these changes)
        results += asyncio.run(run([250, 1000], seconds, 10_000, "made-up", args.workers, every=10))
        results.append(asyncio.run(drain("made-up", 10_000, 10_000, every=10)))
    size = 5_000 if args.quick else 100_000
    for lane in ("own", "shared"):
        results.append(asyncio.run(behind_baseline(lane, size, 60, 2.0)))
    save_results("stream_latency", results, args.quick)
    if not args.quick:
        plot([r for r in results if "offered_per_second" in r and r["alerting_share"] == 1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
