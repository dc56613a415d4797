"""Lays out the OFAC SDN snapshots the demo's list server replays, and prints shell assignments for demo.sh.

With the shared real data (LISTWATCH_REALDATA, default ../shared/realdata): the real files of 2021-11-10,
2021-11-12 and the real 0-byte download of 2024-05-04, linked in place. Without it: snapshots generated in
OFAC's real format by monitor/synthetic.py, with the demo watchlist's companies planted in them.

Usage: demo_lists.py DEST WATCHLIST_CSV
"""

from __future__ import annotations

import csv
import os
import shlex
import sys
from pathlib import Path

from monitor import realdata, synthetic

REAL = ["gitscrape_2021-11-10", "gitscrape_2021-11-12", "gitscrape_2024-05-04"]


def main(dest: Path, watchlist: Path) -> None:
    root = realdata.root_from_env(os.environ)
    reason = realdata.missing_reason(root)
    if reason is None:
        realdata.stage(root, dest, "ofac_sdn", REAL)
        sequence = REAL
        about = "real OFAC SDN snapshots 2021-11-10 -> 2021-11-12 -> 2024-05-04 (0 bytes)"
    else:
        with watchlist.open(encoding="utf-8", newline="") as fh:
            names = [row["name"] for row in csv.DictReader(fh)]
        # Row order of the demo watchlist: added, removed, added, changed, already listed, never listed.
        plan = synthetic.Plan(add=[names[0], names[2]], remove=[names[1]], modify=[names[3]], keep=[names[4]])
        sequence = synthetic.write_sequence(dest, plan)
        about = f"GENERATED OFAC-format snapshots (baseline -> changes -> 0 bytes); {reason}"
    print(f"DEMO_LISTS_SEQUENCE={shlex.quote(','.join(sequence))}")
    print(f"DEMO_LISTS_ABOUT={shlex.quote(about)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
