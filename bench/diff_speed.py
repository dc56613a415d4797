"""Diff speed and memory at scale, beside a pandas baseline measured in the same run (issue: speed at scale).

Two OFAC-shaped sdn.csv snapshots of N entries (1 % added, 1 % removed, 1 % modified, as the issue states),
then, each in a fresh process so that peaks do not mix:
- ``listwatch``: the command ``listwatch diff ofac_sdn OLD NEW`` itself, its output written to a file: content
  ids of both snapshots, ``read_pair`` (fingerprint every record, parse only those that moved, guard, spool;
  the old snapshot in a second process, ``-j 2``, its default on two cores), the diff, one JSON line per
  change; ``listwatch-j1``: the same in one process;
- ``listwatch-monitor``: the monitor's path, the old snapshot already saved (entries and fingerprints, as the
  previous poll left them, prepared outside the clock): read the new one against it, and diff;
- ``pandas``: read both files (all columns as strings), outer-merge on ``ent_num``, compare the other columns:
  the plain read-merge-compare a data engineer would write.
Each size is repeated (median and spread); a ratio listwatch / pandas per size, and the growth of time from one
size to the next, are reported. ``python -m bench diff_speed [--quick]``: one JSON object per result, written to
``bench/results/diff_speed.json``, and docs/benchmarks_diff.png (time against entries).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import line_plot, parallel_capacity, save_results

PLOT = Path(__file__).parents[1] / "docs" / "benchmarks_diff.png"
ROW = ('{n},"EXAMPLE TRADING CO {n} LIMITED",-0- ,"{program}",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
       '"Unified Social Credit Code (USCC) 91310000MA1FL{n:05d} (China); Registration ID {n} (China); '
       'nationality China; Linked To: SOMEBODY ELSE {n}."\r\n')  # fmt: skip


def synthesise(path: Path, size: int, after: bool) -> None:
    """The before file: ent_num 1..N. The after file: the first 1 % gone, 1 % new at the end, every 100th
    (offset 50) with another programme."""
    with path.open("w", encoding="ascii", newline="") as fh:
        first = size // 100 + 1 if after else 1
        for n in range(first, size + 1 + (size // 100 if after else 0)):
            program = "SDGT] [IRAN] [RUSSIA-EO14024" if after and n % 100 == 50 and n <= size else "SDGT] [IRAN"
            fh.write(ROW.format(n=n, program=program))
        fh.write("\x1a")


def _child(tool: str, old: str, new: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if tool in ("listwatch", "listwatch-j1"):
        # The command itself, output and all (written to a file, counted after the clock stops).
        from contracts.cli import main

        out = Path(new).with_suffix(".changes.jsonl")
        real, sys.stdout = sys.stdout, out.open("w")
        try:
            main(["diff", "ofac_sdn", old, new, *(["-j", "1"] if tool == "listwatch-j1" else ["-j", "2"])], env={})
        finally:
            sys.stdout.close()
            sys.stdout = real
        seconds = time.perf_counter() - started
        kinds = Counter(json.loads(line)["change"] for line in out.open())
        counts = [kinds["added"], kinds["removed"], kinds["modified"]]
    elif tool == "listwatch-monitor":
        from datetime import UTC, datetime

        from monitor.diff import Previous, diff, read_snapshot
        from monitor.snapshot import DiskSnapshot
        from monitor.sources.ofac_sdn import OfacSdn

        source = OfacSdn()
        old_files, new_files = DiskSnapshot({"sdn.csv": Path(old)}), DiskSnapshot({"sdn.csv": Path(new)})
        a = read_snapshot(source, old_files, "a")
        previous = Previous(a.entries, a.prints, a.prints_version)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        b = read_snapshot(source, new_files, "b", previous)
        kinds = Counter(c.change for c in diff("ofac_sdn", a.entries, "a", b, datetime.now(UTC), source.info))
        counts = [kinds["added"], kinds["removed"], kinds["modified"]]
        seconds = time.perf_counter() - started
    else:
        import pandas as pd

        def read(path: str) -> pd.DataFrame:
            frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="latin-1")
            return frame[frame[0] != "\x1a"]

        a, b = read(old), read(new)
        merged = a.merge(b, on=0, how="outer", suffixes=("_a", "_b"), indicator=True)
        both = merged[merged["_merge"] == "both"]
        cols = [c for c in a.columns if c != 0]
        modified = (both[[f"{c}_a" for c in cols]].to_numpy() != both[[f"{c}_b" for c in cols]].to_numpy()).any(axis=1)
        counts = [int((merged["_merge"] == "right_only").sum()), int((merged["_merge"] == "left_only").sum()),
                  int(modified.sum())]  # fmt: skip
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The forked reader of the old snapshot (``-j 2``), a process of its own: its peak is reported beside.
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "growth_mib": (peak - before) / 1024,
                      "worker_peak_mib": child_peak / 1024, "counts": counts}))  # fmt: skip


def measure(tool: str, old: Path, new: Path) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.diff_speed", "--child", tool, str(old), str(new)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def run(sizes: list[int], repeats: int) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            old, new = Path(tmp) / f"old-{size}.csv", Path(tmp) / f"new-{size}.csv"
            synthesise(old, size, after=False)
            synthesise(new, size, after=True)
            per_tool: dict[str, list[dict[str, float]]] = {
                "listwatch": [], "listwatch-j1": [], "listwatch-monitor": [], "pandas": []}  # fmt: skip
            capacity = [parallel_capacity()]  # what ``-j 2``'s two processes can get from the machine
            for _ in range(repeats):
                for tool in per_tool:  # interleaved, so that drift on a shared machine hits both alike
                    per_tool[tool].append(measure(tool, old, new))
            capacity.append(parallel_capacity())
            row: dict[str, object] = {"benchmark": "diff_speed", "entries": size,
                                      "file_mib": round(old.stat().st_size / 2**20, 1), "repeats": repeats,
                                      "machine_two_processes": [c["ratio"] for c in capacity]}  # fmt: skip
            for tool, runs in per_tool.items():
                times = [r["seconds"] for r in runs]
                row[tool] = {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
                             "max_s": round(max(times), 3), "peak_rss_mib": round(max(r["peak_mib"] for r in runs), 1),
                             "worker_peak_rss_mib": round(max(r.get("worker_peak_mib", 0.0) for r in runs), 1),
                             "counts": runs[0]["counts"]}  # fmt: skip
            lw, pd_ = row["listwatch"], row["pandas"]
            assert isinstance(lw, dict)
            assert isinstance(pd_, dict)
            row["ratio_listwatch_to_pandas"] = round(lw["median_s"] / pd_["median_s"], 2)
            mon = row["listwatch-monitor"]
            assert isinstance(mon, dict)
            row["ratio_monitor_to_pandas"] = round(mon["median_s"] / pd_["median_s"], 2)
            one = row["listwatch-j1"]
            assert isinstance(one, dict)
            row["ratio_listwatch_j1_to_pandas"] = round(one["median_s"] / pd_["median_s"], 2)
            row["same_counts"] = lw["counts"] == pd_["counts"] == mon["counts"] == one["counts"]
            if results:
                prev = results[-1]["listwatch"]
                assert isinstance(prev, dict)
                row["growth_vs_previous_size"] = round(lw["median_s"] / prev["median_s"], 2)
            results.append(row)
            print(json.dumps(row), flush=True)
    return results


def plot(results: list[dict[str, object]]) -> None:
    sizes = [float(str(r["entries"])) for r in results]
    series = {tool: (sizes, [r[tool]["median_s"] for r in results])  # type: ignore[index]
              for tool in ("listwatch", "listwatch-j1", "listwatch-monitor", "pandas")}  # fmt: skip
    line_plot(PLOT, series, ("entries per snapshot", "seconds (median)",
                             "Diff of two OFAC-shaped snapshots (1 % added / removed / modified)"))  # fmt: skip


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2], argv[3])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench diff_speed")
    parser.add_argument("--quick", action="store_true", help="10k and 100k entries, one run each (< 1 minute)")
    args = parser.parse_args(argv)
    sizes, repeats = ([10_000, 100_000], 1) if args.quick else ([10_000, 100_000, 1_000_000], 3)
    results = run(sizes, repeats)
    save_results("diff_speed", results, args.quick)
    if not args.quick:
        plot(results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
