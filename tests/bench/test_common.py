from __future__ import annotations

from bench.common import parallel_capacity


def test_parallel_capacity_reports_two_processes_against_one() -> None:
    # Timings differ from run to run and are not checked (benchmarks, not tests, judge speed): only that the
    # runs happened and their median lies within their spread.
    result = parallel_capacity(repeats=2, loops=200_000)
    assert result["repeats"] == 2
    ratio, low, high = float(str(result["ratio"])), float(str(result["min"])), float(str(result["max"]))
    assert 0 < low <= ratio <= high
