"""What several benchmarks share: a run's own namespace, starting and stopping service processes, removing the
run's Redis keys, writing results, and drawing a curve (matplotlib, PNG under docs/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from contracts.clients import redis_client
from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A stream worker process (``python -m streams``) writing to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "streams"], env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def drop_namespace(redis: Redis, namespace: str) -> None:
    """Every key of the run's namespace, removed from the shared local Redis."""
    keys = [k async for k in redis.scan_iter(match=f"{namespace}:*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i : i + 500])


def line_plot(
    path: Path, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], labels: tuple[str, str, str],
    logx: bool = True, target: tuple[float, str] | None = None,
) -> None:  # fmt: skip
    """One PNG: each series' points joined, log scales, ``labels`` = (x label, y label, title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", label=label)
    if target is not None:
        ax.axhline(target[0], color="grey", linestyle="--", linewidth=1, label=target[1])
    if logx:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(labels[2])
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


RESULTS = Path(__file__).parent / "results"


def save_results(name: str, results: Sequence[Mapping[str, object]], quick: bool) -> None:
    """One JSON object per line in bench/results/NAME.json (NAME-quick.json for a quick run, not kept)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / (f"{name}-quick.json" if quick else f"{name}.json")
    path.write_text("".join(json.dumps(r) + "\n" for r in results))


@dataclass(frozen=True, slots=True)
class Run:
    """A benchmark's own namespace on the local Kafka and Redis, and a scratch directory."""

    namespace: str
    tmp: Path
    env: dict[str, str]
    settings: CommonSettings
    topics: Topics
    redis: Redis


async def private_run(name: str) -> Run:
    namespace = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix=f"lw-{name}-"))
    env = {**os.environ, "LISTWATCH_NAMESPACE": namespace, "LISTWATCH_STATE_DIR": str(tmp / "state"),
           "LISTWATCH_STREAMS_WEB_PORT": "0"}  # fmt: skip
    settings = CommonSettings.from_env(env)
    topics = Topics.for_settings(settings)
    await ensure_topics(settings, topics)
    return Run(namespace, tmp, env, settings, topics, redis_client(settings))
