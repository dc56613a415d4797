from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bench.common import CpuQuota, check_alive, claim_namespace, holds_partitions, parallel_capacity, process_cpu
from contracts.settings import CommonSettings


def test_parallel_capacity_reports_two_processes_against_one() -> None:
    # Timings differ from run to run and are not checked (benchmarks, not tests, judge speed): only that the
    # runs happened and their median lies within their spread.
    result = parallel_capacity(repeats=2, loops=200_000)
    assert result["repeats"] == 2
    ratio, low, high = float(str(result["ratio"])), float(str(result["min"])), float(str(result["max"]))
    assert 0 < low <= ratio <= high


def test_a_dead_worker_ends_a_benchmark_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text("starting\nTraceback (most recent call last):\nIndexError: list index out of range\n")
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        dead.wait(timeout=30)
        check_alive([(running, log)])  # alive: nothing to say
        with pytest.raises(RuntimeError, match=r"exited with 3:\n(.|\n)*IndexError: list index out of range"):
            check_alive([(running, log), (dead, log)])
    finally:
        running.kill()
        running.wait()


_ASSIGNED = """[2026-12-01 10:50:16,700] [12734] [INFO] Setting newly assigned partitions
+Topic Partition Set-----------------+------------+
| topic                              | partitions |
+------------------------------------+------------+
| {topics}
+------------------------------------+------------+ for group {group}
"""


def test_holds_partitions_reads_each_groups_last_assignment(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    first = _ASSIGNED.format(topics="ns.changes.v1          | {0-1}      |\n| ns.watches.v1 | {0-1} |", group="ns.streams")
    lane = _ASSIGNED.format(topics="ns.changes.baseline.v1 | {0-3}      |", group="ns.streams-baseline")
    log.write_text(first + lane)
    assert holds_partitions(log, "ns.streams", "ns.changes.v1")
    assert holds_partitions(log, "ns.streams-baseline", "ns.changes.baseline.v1")
    assert not holds_partitions(log, "ns.streams-baseline", "ns.changes.v1")
    # after a rebalance that left this worker only the watches: the last assignment counts
    log.write_text(first + lane + _ASSIGNED.format(topics="ns.watches.v1 | {0} |", group="ns.streams"))
    assert not holds_partitions(log, "ns.streams", "ns.changes.v1")
    assert not holds_partitions(log, "ns.other", "ns.changes.v1")


def test_a_cpu_quota_holds_a_busy_process_to_its_share() -> None:
    # The kernel enforces the quota, so the capped side cannot come out high by chance; uncapped, the loop
    # would use most of a core over the second (at least half of one on this two-core machine when busy).
    try:
        quota = CpuQuota.create(f"listwatch-test-{uuid.uuid4().hex[:8]}", 0.1)
    except OSError as e:
        pytest.skip(f"this machine cannot cap a process: {e}")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        quota.add(busy.pid)
        before = process_cpu([busy])
        time.sleep(1.0)
        used = process_cpu([busy]) - before
        assert used < 0.3, f"{used:.2f} s of CPU in a second under a quota of 0.1 of a core"
        assert quota.throttled() > 0
    finally:
        busy.kill()
        busy.wait()
        quota.close()
    assert not quota.path.exists()


async def test_claiming_a_namespace_removes_runs_whose_process_has_gone(
    env: dict[str, str], namespaces: set[str], kafka: str, redis: Redis
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    root = env["LISTWATCH_NAMESPACE"]
    mine, dead, unmarked, running, elsewhere = (f"{root}-{n}" for n in ("mine", "dead", "old", "live", "far"))
    namespaces.update({mine, dead, unmarked, running, elsewhere})
    gone_pid = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone_pid.wait()
    host = socket.gethostname()
    await redis.set(f"{dead}:bench-owner", f"{host} {gone_pid.pid}")
    await redis.set(f"{dead}:list:x", "1")
    await redis.set(f"{unmarked}:list:x", "1")  # a run from before runs were marked
    await redis.set(f"{running}:bench-owner", f"{host} {os.getpid()}")
    await redis.set(f"{elsewhere}:bench-owner", f"another-host {gone_pid.pid}")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"{dead}.changes.v1", 1, 1), NewTopic(f"{running}.changes.v1", 1, 1)])
        settings = CommonSettings.from_env({**env, "LISTWATCH_NAMESPACE": mine})
        assert await claim_namespace(redis, settings, prefix=f"{root}-") == {dead, unmarked}
        left = {k.decode() async for k in redis.scan_iter(match=f"{root}-*", count=1000)}
        assert left == {f"{mine}:bench-owner", f"{running}:bench-owner", f"{elsewhere}:bench-owner"}
        topics = set(await admin.list_topics())
        assert f"{running}.changes.v1" in topics
        assert f"{dead}.changes.v1" not in topics
    finally:
        await admin.close()
        keys = [k async for k in redis.scan_iter(match=f"{root}-*", count=1000)]
        if keys:
            await redis.delete(*keys)


def test_a_benchmarks_child_ends_when_the_benchmark_is_killed(tmp_path: Path) -> None:
    # The benchmark stands in as a process that starts a child the benchmarks' way, prints its pid, and waits;
    # killed outright (no finally, no stop), its child must go too.
    script = (
        "import sys, time\n"
        "from bench.common import start_child\n"
        "child = start_child([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    bench = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert bench.stdout is not None
    child = int(bench.stdout.readline())
    try:
        time.sleep(0.5)  # the child has run its prctl and exec'd by now, or is about to
        os.kill(child, 0)  # running
        bench.kill()
        bench.wait()
        for _ in range(200):
            if not _running(child):
                break
            time.sleep(0.05)
        assert not _running(child), "the child outlived the benchmark that started it"
    finally:
        bench.kill()
        bench.wait()
        bench.stdout.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def _running(pid: int) -> bool:
    # a child of a killed process is reparented and reaped; a zombie (state Z) counts as gone
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
