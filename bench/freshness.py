"""Publication -> delivered webhook, with the default schedules: how fresh are the alerts?

The three services run as their own processes (``python -m monitor|streams|alerts``) on the local Kafka and
Redis, with **no schedule overrides**: OFAC SDN and non-SDN are polled every 90 s (probed lists), EBRD and
AfDB every 600 s. A list server in this process serves copies of their real files (``LISTWATCH_REALDATA``,
copied to a temporary directory, never into the repository) with ETag / Last-Modified, and at random
moments (exponential gaps) appends one made-up company to a list. A subscriber watches every name that will
be published, with a webhook to a receiver in this process. Each latency runs from the moment the new file
is served to the first webhook naming the company.

``python -m bench freshness [--minutes N]`` (default 30); ``--quick``: 10 s / 30 s schedules for 90 s, to
check the harness, not a measurement of the defaults. Prints one JSON object per source kind and writes
them to ``bench/results/freshness.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from redis.asyncio import Redis

from alerts.store import AlertStore, Endpoint, now
from bench.common import claim_namespace, drop_namespace, run_namespace, start_child
from contracts.settings import CommonSettings
from monitor import realdata
from monitor.sources.base import POLL_S, PROBE_S
from streams.watchlists import WatchEntry, WatchlistStore

RESULTS = Path(__file__).parent / "results"
# source -> (kind label, real snapshot files to serve, the file changed, how a new row is written)
SOURCES: dict[str, tuple[str, str, str]] = {
    "ofac_sdn": ("probed (90 s)", "gitscrape_2021-11-10", "sdn.csv"),
    "ofac_cons": ("probed (90 s)", "watchman_2025-12", "cons_prim.csv"),
    "ebrd": ("polled (600 s)", "2025-02", "ebrd_ineligible.csv"),
    "afdb": ("polled (600 s)", "2024-06-04", "debarment.html"),
}
_SYLLABLES = ["kor", "vel", "tan", "bri", "zu", "mor", "lex", "quin", "dra", "sol", "phy", "nak", "ost", "rel",
              "vur", "gan", "tix", "pel", "hom", "ja"]  # fmt: skip


def made_up_names(n: int, seed: int = 7) -> list[str]:
    rng, out = random.Random(seed), set[str]()

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()

    while len(out) < n:
        out.add(f"{word()} {word()} Trading Company")
    return sorted(out)


def append_row(source: str, data: bytes, name: str, number: int) -> bytes:
    """The file with one more listed company, written as the publisher writes its rows."""
    if source in {"ofac_sdn", "ofac_cons"}:
        tail = b"\x1a" if data.endswith(b"\x1a") else b""
        body = data[: len(data) - len(tail)]
        row = f'{990000 + number},"{name.upper()}",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
        return body + row.encode() + tail
    if source == "ebrd":
        data = data if data.endswith(b"\n") else data + b"\n"
        row = f'"{name}","1 Bench Street Almaty","Kazakhstan","2026-11-29T00:00:00Z","2029-11-28T00:00:00Z",' \
              f'"2026-11-29T00:00:00Z","EBRD","Fraudulent Practice"\n'  # fmt: skip
        return data + row.encode()
    if source == "afdb":
        row = (f"<tr><td>Firm</td><td>{name}</td><td>Kazakhstan</td><td>29-Nov-2026</td><td>28-Nov-2029</td>"
               f"<td>Fraudulent Practice</td><td></td></tr>")  # fmt: skip
        at = data.rfind(b"</tbody>")
        return data[:at] + row.encode() + data[at:]
    raise ValueError(source)


@dataclass
class Run:
    root: Path
    published: dict[str, tuple[str, float]] = field(default_factory=dict)  # name -> (source, served at)
    delivered: dict[str, float] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)

    async def file(self, request: web.Request) -> web.Response:
        source, name = request.match_info["source"], request.match_info["file"]
        path = self.root / source / name
        if not path.is_file():
            raise web.HTTPNotFound()
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        self.served[source] = self.served.get(source, 0) + 1
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag})

    async def hook(self, request: web.Request) -> web.Response:
        event = orjson.loads(await request.read())
        name = str(event.get("data", {}).get("entry_name", ""))
        for published in self.published:
            if published.casefold() == name.casefold():
                self.delivered.setdefault(published, time.time())
        return web.Response(status=200)


def _start(service: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    with (logs / f"{service}.log").open("wb") as log:
        return start_child([sys.executable, "-m", service], env, log)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main_async(minutes: float, quick: bool) -> list[dict[str, Any]]:
    root = realdata.root_from_env(os.environ)
    work = Path(tempfile.mkdtemp(prefix="lw-fresh-"))
    run = Run(work / "lists")
    for source, (_, snapshot, _) in SOURCES.items():
        (run.root / source).mkdir(parents=True)
        for name, path in realdata.files(root, source, snapshot).items():
            shutil.copy(path, run.root / source / name)
    app = web.Application()
    app.router.add_get("/{source}/{file}", run.file)
    app.router.add_post("/hook", run.hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"

    namespace = run_namespace("fresh")
    env = {**os.environ, "LISTWATCH_NAMESPACE": namespace, "LISTWATCH_STATE_DIR": str(work / "state"),
           "LISTWATCH_MONITOR_SOURCES": ",".join(SOURCES), "LISTWATCH_MONITOR_PORT": "0",
           "LISTWATCH_STREAMS_WEB_PORT": "0", "LISTWATCH_API_PORT": "0", "LISTWATCH_METRICS_PORT": "0",
           "LISTWATCH_ALERTS_CONSOLE": "false", "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8"}  # fmt: skip
    for source in SOURCES:
        env[f"LISTWATCH_SOURCE_{source.upper()}_URL"] = f"{base}/{source}/"
        if quick:
            env[f"LISTWATCH_SOURCE_{source.upper()}_SCHEDULE_S"] = "10" if "probed" in SOURCES[source][0] else "30"
    common = CommonSettings.from_env(env)
    redis = Redis.from_url(common.redis_url)
    await claim_namespace(redis, common)
    names = made_up_names(2000)
    store = AlertStore(redis, common)
    sub, _ = await store.create_subscriber("Freshness bench")
    await store.put_endpoint(sub, Endpoint(id="ep", type="webhook", target=f"{base}/hook", created_at=now(),
                                           secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))  # fmt: skip
    await WatchlistStore(redis, common).put_many(WatchEntry(subscriber_id=sub, id=f"w{i}", name=n)
                                                 for i, n in enumerate(names))  # fmt: skip
    logs = work / "logs"
    logs.mkdir()
    procs = [_start(svc, env, logs) for svc in ("streams", "alerts", "monitor")]
    try:
        # Baselines first: every list is in the streams' list state before anything changes.
        expected = {s: None for s in SOURCES}
        deadline = time.time() + 600
        while time.time() < deadline:
            counts = {s: await redis.hlen(common.redis_key("list", s)) for s in SOURCES}
            if all(counts.values()) and all(expected[s] == counts[s] for s in SOURCES):
                break
            expected = dict(counts)  # type: ignore[arg-type]
            await asyncio.sleep(10)
        started = time.time()
        stop_probed = started + minutes * 60 - (40 if quick else PROBE_S * 1.1 + 20)
        stop_polled = started + minutes * 60 - (60 if quick else POLL_S * 1.1 + 30)
        pool = iter(names)

        async def publish(source: str) -> None:
            probed = "probed" in SOURCES[source][0]
            mean = (8 if quick else 45) if probed else (20 if quick else 150)
            until = stop_probed if probed else stop_polled
            changed = run.root / source / SOURCES[source][2]
            while True:
                await asyncio.sleep(random.expovariate(1 / mean))
                if time.time() > until:
                    return
                name = next(pool)
                changed.write_bytes(append_row(source, changed.read_bytes(), name, len(run.published)))
                run.published[name] = (source, time.time())

        await asyncio.gather(*(publish(s) for s in SOURCES))
        await asyncio.sleep(max(0.0, started + minutes * 60 - time.time()))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await runner.cleanup()
        await drop_namespace(redis, common)
        await redis.aclose()
    results = []
    for kind in sorted({k for k, _, _ in SOURCES.values()}):
        latencies = [run.delivered[n] - t for n, (s, t) in run.published.items()
                     if SOURCES[s][0] == kind and n in run.delivered]  # fmt: skip
        sent = sum(1 for s, _ in run.published.values() if SOURCES[s][0] == kind)
        results.append({
            "benchmark": "freshness", "kind": kind, "mode": "quick (10 s / 30 s schedules)" if quick else "defaults",
            "sources": sorted(s for s, v in SOURCES.items() if v[0] == kind), "published": sent,
            "delivered": len(latencies),
            "p50_s": round(statistics.median(latencies), 1) if latencies else None,
            "p95_s": round(percentile(latencies, 0.95), 1) if latencies else None,
            "max_s": round(max(latencies), 1) if latencies else None,
            "minutes": minutes, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench freshness")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    minutes = 1.5 if args.quick else args.minutes
    results = asyncio.run(main_async(minutes, args.quick))
    RESULTS.mkdir(exist_ok=True)
    lines = [orjson.dumps(r).decode() for r in results]
    (RESULTS / ("freshness-quick.json" if args.quick else "freshness.json")).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0
