from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bench.common import CpuQuota, check_alive, holds_partitions, parallel_capacity, process_cpu


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
