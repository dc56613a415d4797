"""Generated OFAC snapshots (the demo without real data) parse and diff like the real format, and the demo's
list layout comes from the shared real data in place, or is generated when it is absent."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.cli import main
from monitor import synthetic
from monitor.diff import diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.ofac_sdn import OfacSdn
from tests.snapshots import realdata_root

REPO = Path(__file__).resolve().parents[2]
WATCHLIST = REPO / "deploy" / "local" / "demo" / "watchlist.csv"


def test_generated_versions_diff_into_the_planned_changes(tmp_path: Path) -> None:
    plan = synthetic.Plan(add=["Red Sea Trading Corporation"], remove=["Cubicafe S.A.S."],
                          modify=["Joint Stock Company Nobility"], keep=["Banco Nacional de Cuba"], size=2000)  # fmt: skip
    labels = synthetic.write_sequence(tmp_path, plan)
    source = OfacSdn()
    snaps = [read_snapshot(source, from_path(source.info, tmp_path / "ofac_sdn" / label), label) for label in labels[:2]]
    assert len(snaps[0].entries) == 2003
    changes = list(diff("ofac_sdn", snaps[0].entries, labels[0], snaps[1], datetime(2026, 1, 1, tzinfo=UTC)))
    kinds = Counter(c.change for c in changes)
    assert kinds == {"added": 21, "removed": 21, "modified": 21}  # 1 % churn of 2,000 plus one planted each
    named = {(c.change, c.current.name) for c in changes}
    assert ("added", "RED SEA TRADING CORPORATION") in named
    assert ("removed", "CUBICAFE S.A.S.") in named
    assert ("modified", "JOINT STOCK COMPANY NOBILITY") in named
    # The third snapshot is the failed download: refused with exit 3, never mass "removed".
    code = main(["diff", "ofac_sdn", str(tmp_path / "ofac_sdn" / labels[1]), str(tmp_path / "ofac_sdn" / labels[2])])
    assert code == 3


def _demo_lists(dest: Path, realdata: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "local" / "demo_lists.py"), str(dest), str(WATCHLIST)],
        check=True, capture_output=True, text=True, env={**os.environ, "LISTWATCH_REALDATA": realdata},
    ).stdout  # fmt: skip
    return dict(line.split("=", 1) for line in out.splitlines())


def test_demo_replays_the_real_files_in_place(tmp_path: Path) -> None:
    root = realdata_root()
    info = _demo_lists(tmp_path, str(root))
    assert info["DEMO_LISTS_SEQUENCE"] == "gitscrape_2021-11-10,gitscrape_2021-11-12,gitscrape_2024-05-04"
    link = tmp_path / "ofac_sdn" / "gitscrape_2021-11-12" / "sdn.csv"
    assert link.is_symlink()
    assert link.resolve() == (root / "ofac_sdn_csv" / "gitscrape_2021-11-12" / "sdn.csv").resolve()


def test_demo_without_real_data_generates_and_says_so(tmp_path: Path) -> None:
    info = _demo_lists(tmp_path, str(tmp_path / "absent"))
    assert info["DEMO_LISTS_SEQUENCE"] == "1-baseline,2-changes,3-empty"
    assert "GENERATED" in info["DEMO_LISTS_ABOUT"]
    assert "LISTWATCH_REALDATA" in info["DEMO_LISTS_ABOUT"]
    first = tmp_path / "ofac_sdn" / "1-baseline" / "sdn.csv"
    assert not first.is_symlink()
    assert b"BANCO NACIONAL DE CUBA" in first.read_bytes()
    assert (tmp_path / "ofac_sdn" / "3-empty" / "sdn.csv").stat().st_size == 0


@pytest.mark.parametrize("size", [10, 500])
def test_generation_is_deterministic(tmp_path: Path, size: int) -> None:
    a = synthetic.encode(synthetic.versions(synthetic.Plan(size=size))[1])
    b = synthetic.encode(synthetic.versions(synthetic.Plan(size=size))[1])
    assert a == b
