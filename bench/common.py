"""What several benchmarks share: a run's own namespace (or a private redis-server), starting and stopping
service processes, removing the run's Redis keys, the real OFAC snapshot they load, writing results,
drawing a curve (matplotlib, PNG under docs/), and what two busy processes get from this machine."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: diff_speed's pandas child must not load listwatch's modules
    from redis.asyncio import Redis

    from contracts.settings import CommonSettings
    from contracts.topics import Topics
    from monitor.diff import ParsedSnapshot
    from monitor.sources.ofac_sdn import OfacSdn


def start_child(
    command: Sequence[str], env: Mapping[str, str] | None = None, out: IO[bytes] | int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """A process of the benchmark's (its output to ``out``, errors too) that ends when the benchmark does,
    however the benchmark ends (bench/child.py)."""
    wrapped = [sys.executable, "-m", "bench.child", str(os.getpid()), *command]
    return subprocess.Popen(wrapped, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our own


def start_worker(env: dict[str, str], log: Path, quota: CpuQuota | None = None) -> subprocess.Popen[bytes]:
    """A stream worker process (``python -m streams``) writing to ``log``, moved under ``quota`` (when given) as
    soon as it has started: with every thread it has, and any it starts after."""
    with log.open("wb") as out:
        proc = start_child([sys.executable, "-m", "streams"], env, out)
    if quota is not None:
        try:
            quota.add(proc.pid)
        except OSError:
            proc.kill()
            proc.wait()
            raise
    return proc


def process_cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds (user + system) the processes used so far, from /proc."""
    total = 0.0
    for proc in procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass(frozen=True, slots=True)
class MachineCpu:
    """The whole machine's CPU seconds so far, every process (the broker's too): busy, and stolen by the
    hypervisor (this machine is a KVM guest; a slow hour shows as steal)."""

    busy: float
    steal: float

    @classmethod
    def now(cls) -> MachineCpu:
        # /proc/stat's first line: user nice system idle iowait irq softirq steal ..., in clock ticks
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
        busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]
        return cls(busy / hz, ticks[7] / hz)

    def since(self, before: MachineCpu) -> MachineCpu:
        return MachineCpu(self.busy - before.busy, self.steal - before.steal)

    def cores(self, seconds: float) -> dict[str, float]:
        """A result row's fields for this span of ``seconds``: the cores kept busy and those the host took."""
        busy, stolen = round(self.busy / seconds, 2), round(self.steal / seconds, 2)
        return {"machine_cores_busy": busy, "machine_cores_stolen": stolen}


class CpuQuota:
    """A CPU cgroup of its own capping the processes put in it at ``cores`` of CPU time a second (the kernel's
    CFS quota: cgroup v2's ``cpu.max``, or v1's ``cpu.cfs_quota_us``), as a Kubernetes CPU limit caps a pod.
    Two workers' scaling is then measured with each on a share of the machine of its own, while the Redis
    and the broker they share have cores to spare: on two cores, uncapped, they are not."""

    _V2, _V1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")
    _PERIOD_US = 100_000

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, name: str, cores: float) -> CpuQuota:
        """The cgroup ``name`` with its quota set; OSError (with what was tried) where no CPU controller is
        writable here (not root, or a container's read-only cgroups)."""
        quota = max(1000, round(cores * cls._PERIOD_US))
        v2 = "cpu" in _read(cls._V2 / "cgroup.controllers").split()
        path = (cls._V2 if v2 else cls._V1) / name
        try:
            if v2:  # the parent must hand the cpu controller down to its children
                (cls._V2 / "cgroup.subtree_control").write_text("+cpu")
            path.mkdir(exist_ok=True)
            if v2:
                (path / "cpu.max").write_text(f"{quota} {cls._PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(cls._PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as e:
            raise OSError(f"no writable CPU cgroup ({'v2' if v2 else 'v1'} at {path}): {e}") from e
        return cls(path)

    def add(self, pid: int) -> None:
        """The process (all its threads, and the children it starts after) under the quota."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled(self) -> float:
        """Seconds the kernel held the cgroup's processes back for the quota so far (``cpu.stat``)."""
        stat = dict(line.split() for line in _read(self.path / "cpu.stat").splitlines() if line.strip())
        if "throttled_usec" in stat:  # v2
            return int(stat["throttled_usec"]) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9  # v1: nanoseconds

    def close(self) -> None:
        """Remove the cgroup once its processes have exited (a cgroup with processes cannot be removed)."""
        for _ in range(100):
            if not self.path.exists() or not _read(self.path / "cgroup.procs").strip():
                break
            time.sleep(0.05)  # its last process is still being reaped
        if self.path.exists():
            self.path.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


async def server_cpu(redis: Redis) -> float:
    """CPU seconds (user + system) the Redis server used so far, by its own ``INFO cpu``."""
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def check_alive(workers: Iterable[tuple[subprocess.Popen[bytes], Path]]) -> None:
    """A worker (its process and log) that died ends the run with its log's last lines, rather than a wait of up
    to an hour for work it will never do."""
    for proc, log in workers:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"the worker logging to {log} exited with {proc.returncode}:\n" + "\n".join(tail))


def holds_partitions(log: Path, group: str, topic: str) -> bool:
    """The worker logging to ``log`` holds partitions of ``topic`` in its faust consumer group ``group`` after
    its last rebalance (faust logs each assignment as a table, then the group's name)."""
    found = re.findall(r"Setting newly assigned partitions(.*?)for group (\S+)", log.read_text(errors="replace"),
                       re.DOTALL)  # fmt: skip
    last = [held for held, named in found if named == group]
    return bool(last) and topic in last[-1]


def stop(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def drop_namespace(redis: Redis, settings: CommonSettings, namespaces: Iterable[str] = ()) -> None:
    """Every key of the run's namespace (or of ``namespaces``, when given), removed from the shared local
    Redis, and its topics from the local Kafka (left behind, thousands of them slowed the broker's start to
    minutes)."""
    from contracts.topics import drop_topics

    names = sorted(namespaces) or [settings.namespace]
    for name in names:
        keys = [k async for k in redis.scan_iter(match=f"{name}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await redis.delete(*keys[i : i + 500])
    await drop_topics(settings, names)


RUN_PREFIX = "bench-"
_OWNER = "bench-owner"  # a run's key naming its process: "{host} {pid}"


def run_namespace(name: str) -> str:
    """A benchmark run's own namespace on the shared local Kafka and Redis."""
    return f"{RUN_PREFIX}{name}-{uuid.uuid4().hex[:8]}"


async def claim_namespace(redis: Redis, settings: CommonSettings, prefix: str = RUN_PREFIX) -> set[str]:
    """The run's namespace marked as this process's, first thing (before its topics or keys), and earlier
    runs' namespaces (named ``prefix``...) whose process has gone removed: a run killed outright (SIGKILL, a
    closed terminal) never reaches its ``drop_namespace``. A namespace with no mark (written before marks
    were) counts as gone; one marked by another host, or by a process still running here, is kept. Returns
    the namespaces removed."""
    from aiokafka.admin import AIOKafkaAdminClient

    await redis.set(settings.redis_key(_OWNER), f"{socket.gethostname()} {os.getpid()}")
    found = {_text(k).split(":", 1)[0] async for k in redis.scan_iter(match=f"{prefix}*", count=1000)}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        found |= {t.split(".", 1)[0] for t in await admin.list_topics() if t.startswith(prefix)}
    finally:
        await admin.close()
    gone = set()
    for name in sorted(found - {settings.namespace}):
        owner = await redis.get(f"{name}:{_OWNER}")
        if not _running(None if owner is None else _text(owner)):
            gone.add(name)
    if gone:
        await drop_namespace(redis, settings, gone)
    return gone


def _running(owner: str | None) -> bool:
    if owner is None:
        return False
    host, _, pid = owner.rpartition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
    from contracts.clients import redis_client
    from contracts.settings import CommonSettings
    from contracts.topics import Topics, ensure_topics

    namespace = run_namespace(name)
    tmp = Path(tempfile.mkdtemp(prefix=f"lw-{name}-"))
    env = {**os.environ, "LISTWATCH_NAMESPACE": namespace, "LISTWATCH_STATE_DIR": str(tmp / "state"),
           "LISTWATCH_STREAMS_WEB_PORT": "0"}  # fmt: skip
    settings = CommonSettings.from_env(env)
    redis = redis_client(settings)
    await claim_namespace(redis, settings)
    topics = Topics.for_settings(settings)
    await ensure_topics(settings, topics)
    return Run(namespace, tmp, env, settings, topics, redis)


def _spin(loops: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i
    return time.perf_counter() - started


def parallel_capacity(repeats: int = 3, loops: int = 3_000_000) -> dict[str, object]:
    """How much two CPU-bound processes at once get done against one alone, measured now: 2.0 on two free
    cores. The ceiling of any two-process figure of the same run (two stream workers against one, the diff's
    ``-j 2``): on this virtual machine two busy processes have measured 0.95-2.2x one, varying by the minute.
    One alone, then two at once, ``repeats`` times; the median and the spread."""
    ratios = []
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for _ in range(repeats):
            alone = pool.apply(_spin, (loops,))
            pair = [pool.apply_async(_spin, (loops,)) for _ in range(2)]
            ratios.append(2 * alone / max(p.get() for p in pair))
    return {"what": "machine: two CPU-bound processes at once against one alone", "ratio": round(
        statistics.median(ratios), 2), "min": round(min(ratios), 2), "max": round(max(ratios), 2), "repeats": repeats}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    # the settings every listwatch Redis gets (deploy/redis-listwatch.conf), so memory is measured as deployed
    conf = Path(__file__).resolve().parents[1] / "deploy" / "redis-listwatch.conf"
    args = [binary, str(conf), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return start_child(args)


async def connect_redis(port: int) -> Redis:
    """A client of the private server, once it answers."""
    from redis.asyncio import Redis

    redis = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    for _ in range(100):
        try:
            await redis.ping()
            break
        except Exception:  # noqa: BLE001 - starting up
            await asyncio.sleep(0.05)
    return redis


def real_ofac_snapshot() -> tuple[OfacSdn, ParsedSnapshot]:
    """The real OFAC SDN file of 2024-05-03 (14,965 entries) from the shared real data, parsed."""
    from monitor import realdata
    from monitor.diff import read_snapshot
    from monitor.snapshot import DiskSnapshot
    from monitor.sources.ofac_sdn import OfacSdn

    files = realdata.files(realdata.root_from_env(os.environ), "ofac_sdn", "gitscrape_2024-05-03")
    source = OfacSdn()
    return source, read_snapshot(source, DiskSnapshot(files), "s")
