"""Memory of parsing and diffing a large list, against the size of the file itself.

Synthesises an OFAC-format sdn.csv of N entries (a real record repeated with new ent_nums and names),
then measures, each in a fresh process so peaks do not mix:
- baseline: reading the whole file into one bytes object (what "the whole file in memory once" costs);
- parse: streaming every entry through the ofac_sdn parser, keeping nothing;
- snapshot: read_snapshot (parse + keep each entry as compact canonical JSON, what the diff needs);
- diff: read_snapshot of two snapshots (1% changed) and the diff between them.
Peak RSS growth (ru_maxrss after minus before) is reported in MiB and as a ratio to the file size.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW = ('{n},"EXAMPLE TRADING CO {n} LIMITED",-0- ,"SDGT] [IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
       '"Unified Social Credit Code (USCC) 91310000MA1FL{n:05d} (China); Registration ID {n} (China); '
       'nationality China; Linked To: SOMEBODY ELSE {n}."\r\n')  # fmt: skip


def synthesise(path: Path, size: int, changed_every: int = 0) -> None:
    with path.open("w", encoding="ascii", newline="") as fh:
        for n in range(1, size + 1):
            row = ROW.format(n=n)
            if changed_every and n % changed_every == 0:
                row = row.replace("SDGT] [IRAN", "SDGT] [IRAN] [RUSSIA-EO14024")
            fh.write(row)
        fh.write("\x1a")


def _child(mode: str, old: str, new: str) -> None:
    from monitor.diff import diff, read_snapshot
    from monitor.snapshot import DiskSnapshot
    from monitor.sources.ofac_sdn import OfacSdn

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    source = OfacSdn()
    count = 0
    if mode == "baseline":
        data = Path(old).read_bytes()
        count = data.count(b"\n")
    elif mode == "parse":
        for _ in source.parse(DiskSnapshot({"sdn.csv": Path(old)})):
            count += 1
    elif mode == "snapshot":
        count = len(read_snapshot(source, DiskSnapshot({"sdn.csv": Path(old)}), "a").entries)
    elif mode == "diff":
        from datetime import UTC, datetime

        a = read_snapshot(source, DiskSnapshot({"sdn.csv": Path(old)}), "a")
        b = read_snapshot(source, DiskSnapshot({"sdn.csv": Path(new)}), "b")
        count = sum(1 for _ in diff("ofac_sdn", a.entries, "a", b, datetime.now(UTC)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "kib": peak - before, "count": count, "seconds": time.perf_counter() - started}))


def run(size: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old.csv", Path(tmp) / "new.csv"
        synthesise(old, size)
        synthesise(new, size, changed_every=100)
        file_mib = old.stat().st_size / 2**20
        lines = [f"parse_memory: {size:,} entries, sdn.csv {file_mib:.1f} MiB"]
        results = {}
        for mode in ("baseline", "parse", "snapshot", "diff"):
            out = subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "bench.parse_memory", mode, str(old), str(new)],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            results[mode] = json.loads(out)
        for mode, r in results.items():
            mib = r["kib"] / 1024
            lines.append(
                f"  {mode:<9} peak +{mib:8.1f} MiB = {mib / file_mib:5.2f} x file, "
                f"{r['seconds']:6.1f} s, {r['count']:,} items"
            )
        return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4:
        _child(sys.argv[1], sys.argv[2], sys.argv[3])
    else:
        print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
