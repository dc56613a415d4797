"""The differ and guards on real OFAC snapshot pairs (the shared real data, its PROVENANCE.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.cli import main
from monitor.diff import Rejection, SnapshotRejected, check_shrink, diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.ofac_sdn import OfacSdn
from tests.snapshots import materialise

ADDED = {"33451", "33534", "33535", "33597", "33918", "33919"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_cli_diff_real_pair_gives_the_published_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv"
    new = materialise("ofac_sdn", "gitscrape_2021-11-12", tmp_path) / "sdn.csv"
    code, changes, _ = run_cli(capsys, "diff", "ofac_sdn", str(old), str(new))
    assert code == 0
    by_kind: dict[str, set[str]] = {"added": set(), "removed": set(), "modified": set()}
    for c in changes:
        by_kind[str(c["change"])].add(str(c["key"]))
    assert by_kind["added"] == ADDED
    assert len(by_kind["removed"]) == 43
    assert len(by_kind["modified"]) == 21
    modified = [c for c in changes if c["change"] == "modified"]
    assert all(isinstance(c["fields"], dict) and c["fields"] for c in modified)
    for c in modified:
        for before, after in c["fields"].values():  # type: ignore[union-attr]
            assert before != after


def test_cli_rejects_the_real_zero_byte_download(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = materialise("ofac_sdn", "gitscrape_2024-05-03", tmp_path) / "sdn.csv"
    new = materialise("ofac_sdn", "gitscrape_2024-05-04", tmp_path) / "sdn.csv"
    assert new.stat().st_size == 0
    code, changes, err = run_cli(capsys, "diff", "ofac_sdn", str(old), str(new))
    assert (code, changes) == (3, [])
    assert len(err.strip().splitlines()) == 1
    assert "empty" in err


def test_same_snapshot_twice_gives_no_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv"
    assert run_cli(capsys, "diff", "ofac_sdn", str(snap), str(snap))[:2] == (0, [])


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_download_is_rejected_never_mass_removed(tmp_path: Path, keep: float) -> None:
    source = OfacSdn()
    good = materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv"
    data = good.read_bytes()
    cut = tmp_path / "cut" / "sdn.csv"
    cut.parent.mkdir()
    # Cut mid-record, as a dropped connection does.
    cut.write_bytes(data[: int(len(data) * keep)].rstrip(b"\r\n")[:-3])
    old = read_snapshot(source, from_path(source.info, good), "old")

    def read_new() -> None:
        check_shrink(source.info, len(old.entries), read_snapshot(source, from_path(source.info, cut), "cut"))

    with pytest.raises(SnapshotRejected) as info:
        read_new()
    assert info.value.reason in {Rejection.UNPARSABLE, Rejection.SHRUNK}


def test_shrink_guard_at_a_clean_line_boundary(tmp_path: Path) -> None:
    source = OfacSdn()
    good = materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv"
    lines = good.read_bytes().splitlines(keepends=True)
    half = tmp_path / "half.csv"
    half.write_bytes(b"".join(lines[: len(lines) // 2]))
    old = read_snapshot(source, from_path(source.info, good), "old")
    new = read_snapshot(source, from_path(source.info, half), "half")
    with pytest.raises(SnapshotRejected) as info:
        check_shrink(source.info, len(old.entries), new)
    assert info.value.reason is Rejection.SHRUNK


def test_full_file_set_joins_aliases_addresses_comments_and_identifiers(tmp_path: Path) -> None:
    source = OfacSdn()
    snap = from_path(source.info, materialise("ofac_sdn", "watchman_2021-07", tmp_path))
    entries = {e.key: e for e in source.parse(snap) if not isinstance(e, Exception)}
    assert len(entries) == 8976
    cuba = entries["306"]
    assert (cuba.name, cuba.entity_type) == ("BANCO NACIONAL DE CUBA", "entity")
    assert "NATIONAL BANK OF CUBA" in cuba.aliases
    assert any("Zurich" in a for a in cuba.addresses)
    assert "Switzerland" in cuba.countries
    # sdn_comments.csv continues the remarks of long entries.
    assert "LAZARUS GROUP" in (entries["28264"].remarks or "")
    uscc = [e for e in entries.values() if any(i.scheme == "uscc" for i in e.identifiers)]
    assert uscc, "USCC identifiers are extracted from remarks"


def test_baseline_marks_every_entry(tmp_path: Path) -> None:
    source = OfacSdn()
    snap = from_path(source.info, materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv")
    parsed = read_snapshot(source, snap, snap.snapshot_id())
    changes = list(diff("ofac_sdn", None, None, parsed, NOW))
    assert len(changes) == len(parsed.entries) == 9139
    assert all(c.baseline and c.change == "added" and c.snapshot_before is None for c in changes)


def test_event_ids_repeat_across_runs(tmp_path: Path) -> None:
    source = OfacSdn()
    root = tmp_path
    old = from_path(source.info, materialise("ofac_sdn", "gitscrape_2021-11-10", root) / "sdn.csv")
    new = from_path(source.info, materialise("ofac_sdn", "gitscrape_2021-11-12", root) / "sdn.csv")
    p_old, p_new = read_snapshot(source, old, "a"), read_snapshot(source, new, "b")
    first = [c.event_id for c in diff("ofac_sdn", p_old.entries, "a", p_new, NOW)]
    second = [c.event_id for c in diff("ofac_sdn", p_old.entries, "a", p_new, datetime.now(UTC))]
    assert first == second
    assert len(set(first)) == len(first) == 70


def test_docs_example_event_id_is_what_the_differ_computes(tmp_path: Path) -> None:
    """docs/events.md quotes this real change; event ids must stay stable across releases (dedupe)."""
    source = OfacSdn()
    old = from_path(source.info, materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv")
    new = from_path(source.info, materialise("ofac_sdn", "gitscrape_2021-11-12", tmp_path) / "sdn.csv")
    p_old, p_new = read_snapshot(source, old, old.snapshot_id()), read_snapshot(source, new, new.snapshot_id())
    changes = {c.entry_key: c for c in diff("ofac_sdn", p_old.entries, p_old.snapshot_id, p_new, NOW)}
    assert changes["20290"].event_id == "b778fb4f2afc0a95a06fb80faaffb808"
    assert changes["33918"].event_id == "31950ff0f3a7388b3a824cc0fd6d16ac"
    assert p_old.snapshot_id == "15578738e3d4fcb89386034ceba9554e972ae8c86f6bdee3479be700df3d560e"
    docs = (Path(__file__).parents[2] / "docs" / "events.md").read_text()
    assert "b778fb4f2afc0a95a06fb80faaffb808" in docs


def test_cli_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = materialise("ofac_sdn", "gitscrape_2021-11-10", tmp_path) / "sdn.csv"
    assert main(["diff", "no_such_list", str(snap), str(snap)]) == 2
    assert "unknown source" in capsys.readouterr().err
    assert main(["diff", "ofac_sdn", str(tmp_path / "missing.csv"), str(snap)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_screen_watchlist_against_a_real_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = materialise("ofac_sdn", "gitscrape_2021-11-12", tmp_path) / "sdn.csv"
    watchlist = tmp_path / "watch.csv"
    watchlist.write_text(
        "id,name,alt_names,country,uscc,lei,tags\n"
        "w1,Banco Nacional de Cuba,,,,,\n"
        "w2,Red Sea Trading Corp,,,,,\n"
        "w3,Siemens AG,,DE,,,\n"
        "w4,,,,,,\n",
        encoding="utf-8",
    )
    code = main(["screen", "--watchlist", str(watchlist), "--source", "ofac_sdn", "--snapshot", str(snap)])
    captured = capsys.readouterr()
    hits = [json.loads(line) for line in captured.out.splitlines()]
    assert code == 0
    assert {(h["watch_id"], h["entry_key"], h["entry_name"]) for h in hits} == {
        ("w1", "306", "BANCO NACIONAL DE CUBA"), ("w2", "33918", "RED SEA TRADING CORPORATION")}  # fmt: skip
    assert all(h["source"] == "ofac_sdn" and h["score"] >= 0.88 for h in hits)
    assert "watch.csv:5: id 'w4': missing name" in captured.err
    assert main(["screen", "--watchlist", str(watchlist), "--source", "ofac_sdn", "--snapshot", str(snap),
                 "--threshold", "1.5"]) == 2  # fmt: skip
