"""OpenSanctions FtM datasets: the real yente fixtures (full files, the catalogue index, a delta series)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from monitor import realdata
from monitor.diff import Rejection, SnapshotRejected, diff, patch, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.base import DeltaOp, RecordError, SnapshotError
from monitor.sources.opensanctions import OpenSanctions, read_delta, to_entry
from tests.snapshots import materialise, realdata_root

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = OpenSanctions("sanctions")


def parsed(snapshot: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    files = from_path(SOURCE.info, materialise("opensanctions_sanctions", snapshot, tmp_path))
    return read_snapshot(SOURCE, files, files.snapshot_id())


def test_targets_become_entries_links_and_details_do_not(tmp_path: Path) -> None:
    t1 = parsed("yente_t1", tmp_path)
    assert (len(t1.entries), t1.error_count) == (6, 0)  # 4 Person + 2 Organization; the Address is not an entry
    zala = parsed("yente_zala", tmp_path)
    # 8 target companies + 6 persons; 41 Sanction, 14 Ownership, 3 non-target companies ... are links.
    assert (len(zala.entries), zala.error_count) == (14, 0)


def test_an_entity_maps_names_identifiers_and_countries(tmp_path: Path) -> None:
    t1 = parsed("yente_t1", tmp_path)
    entry = orjson.loads(t1.entries["NK-2GdmHtZTeNXjNVrBGEXZNj"])
    assert entry["name"] == "RAB „Inter Tobacco“"
    assert "Общество с ограниченной ответственностью “Интер Тобако”" in entry["aliases"]
    assert entry["identifiers"] == [{"scheme": "registration", "value": "808000714"}]
    assert (entry["countries"], entry["entity_type"]) == (["BY"], "entity")
    # What moves on every export is not part of the entry.
    assert not {"first_seen", "last_seen", "last_change", "referents"} & set(entry["raw"])
    zala = parsed("yente_zala", tmp_path)
    schemes = Counter(i["scheme"] for key in zala.entries for i in orjson.loads(zala.entries[key])["identifiers"])
    assert schemes["inn"] >= 8
    assert schemes["ogrn"] >= 8


def test_the_catalogue_index_gives_the_dataset_version_and_its_delta_index() -> None:
    index = (realdata_root() / "opensanctions_ftm/2024-07-05_yente_t1_index.json").read_bytes()
    assert SOURCE.version(index, "https://example.org/index.json") == (
        "20240527134702-zbn", "https://data.opensanctions.org/artifacts/sanctions/20240527134702-zbn/delta.json",
    )  # fmt: skip
    assert OpenSanctions("cn_sanctions").version(index, "https://x/")[0] == "20240613064703-ikz"
    assert OpenSanctions("no_such_dataset").version(index, "https://x/") == (None, None)


def test_versions_after_a_known_version_oldest_first_and_none_for_an_unknown_one() -> None:
    delta_json, _ = realdata.opensanctions_deltas(realdata_root())
    data = delta_json.read_bytes()
    after = SOURCE.versions_after(data, "20240527194702-wnk")
    assert [s.name for s in after or []] == ["20240528014702-pfh", "20240528074703-npf", "20240528134729-3iv"]
    assert SOURCE.versions_after(data, "20240528134729-3iv") == []
    assert SOURCE.versions_after(data, "20200101000000-old") is None
    with pytest.raises(SnapshotError):
        SOURCE.versions_after(b'{"updated_at": "x"}', "v")


def test_the_real_delta_series_applied_to_the_full_file(tmp_path: Path) -> None:
    """zbn (empty) -> wnk: ADD 2 -> pfh: ADD 1, MOD 1 -> npf: DEL 1 -> 3iv: ADD 1, against the full file."""
    t1 = parsed("yente_t1", tmp_path)
    _, files = realdata.opensanctions_deltas(realdata_root())
    state, version, seen = t1.entries, "t1", []
    for name, path in sorted(files.items()):
        with path.open("rb") as stream:
            new = patch(SOURCE.info.id, state, list(read_delta(stream, name)), name, SOURCE.info.max_error_rate)
        seen.append(sorted((c.change, c.current.name) for c in diff(SOURCE.info.id, state, version, new, NOW)))
        state, version = new.entries, name
    assert seen == [
        [],
        [("added", "AL-QAIDA IN IRAQ"), ("added", "Janan Agha")],
        [("added", "AL-QAIDA IN IRAQ"), ("modified", "Foobar Foobargroup")],
        [("removed", "AL-QAIDA IN IRAQ")],
        [("added", "Vladimir Nikolaevich PLOTNIKOV")],
    ]
    # All four at once give the net changes, with the same ids as one step at a time would for the last.
    ops = [op for _, p in sorted(files.items()) for op in read_delta(io.BytesIO(p.read_bytes()), p.parent.name)]
    net = patch(SOURCE.info.id, t1.entries, ops, "net", SOURCE.info.max_error_rate)
    assert len(net.entries) == 9
    assert sorted((c.change, c.current.name) for c in diff(SOURCE.info.id, t1.entries, "t1", net, NOW)) == [
        ("added", "Foobar Foobargroup"), ("added", "Janan Agha"), ("added", "Vladimir Nikolaevich PLOTNIKOV"),
    ]  # fmt: skip


def test_a_delta_with_unreadable_lines_is_refused_and_a_truncated_one_is_an_error() -> None:
    bad = b'{"op":"ADD","entity":{"id":"x","schema":"Person","properties":{"name":["A"]},"target":true}}\nnot json\n'
    ops = list(read_delta(io.BytesIO(bad), "d"))
    assert isinstance(ops[0], DeltaOp)
    assert isinstance(ops[1], RecordError)
    with pytest.raises(SnapshotRejected) as info:
        patch("s", {"k": b"{}"}, ops, "n", 0.01)
    assert info.value.reason is Rejection.ERROR_RATE
    with pytest.raises(SnapshotError, match="cut off"):
        list(read_delta(io.BytesIO(b'{"op":"DEL","entity":{"id":"x"}}\n{"op":"ADD","ent'), "d"))


def test_an_entity_that_stops_being_a_target_leaves_the_list() -> None:
    entity = {"id": "p1", "schema": "Person", "target": True, "properties": {"name": ["Ivan PETROV"]}}
    entry = to_entry(entity)
    assert entry is not None
    assert to_entry({**entity, "target": False}) is None
    assert to_entry({**entity, "schema": "Sanction"}) is None
    with pytest.raises(RecordError):
        to_entry({"id": "p2", "schema": "Person", "target": True, "properties": {}})
