from __future__ import annotations

from pathlib import Path

import pytest

from contracts.models import Entry
from monitor.diff import SnapshotRejected, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.base import SnapshotError
from monitor.sources.un_sc import UnSc
from tests.snapshots import materialise


def parse(path: Path) -> dict[str, Entry]:
    source = UnSc()
    return {e.key: e for e in source.parse(from_path(source.info, path)) if isinstance(e, Entry)}


def test_current_format_parses_every_record(tmp_path: Path) -> None:
    entries = parse(materialise("un_sc", "2026-02-27", tmp_path) / "consolidated.xml")
    assert len(entries) == 730 + 273
    adf = entries["CDe.001"]
    assert (adf.name, adf.entity_type, adf.programs) == ("ADF", "entity", ["DRC"])
    assert "Allied Democratic Forces" in adf.aliases
    assert adf.countries == ["Democratic Republic of the Congo"]
    assert adf.listed_on == "2014-06-30"
    assert "DATAID" not in adf.raw  # internal ids do not make an entry "modified"


def test_original_script_names_are_kept(tmp_path: Path) -> None:
    entries = parse(materialise("un_sc", "2026-02-27", tmp_path) / "consolidated.xml")
    scripts = [e for e in entries.values() if e.raw.get("NAME_ORIGINAL_SCRIPT")]
    assert scripts
    assert all(e.aliases[0] == e.raw["NAME_ORIGINAL_SCRIPT"] for e in scripts)


def test_truncated_xml_is_rejected(tmp_path: Path) -> None:
    good = materialise("un_sc", "2018-06-08", tmp_path) / "consolidated.xml"
    cut = tmp_path / "cut.xml"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    source = UnSc()
    with pytest.raises(SnapshotRejected, match="not well-formed"):
        read_snapshot(source, from_path(source.info, cut), "x")


@pytest.mark.parametrize(
    "doc",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<CONSOLIDATED_LIST><ENTITIES><ENTITY><REFERENCE_NUMBER>X</REFERENCE_NUMBER>"
        b"<FIRST_NAME>&b;</FIRST_NAME></ENTITY></ENTITIES></CONSOLIDATED_LIST>",
        # external entity (XXE)
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<CONSOLIDATED_LIST><ENTITIES><ENTITY><REFERENCE_NUMBER>X</REFERENCE_NUMBER>"
        b"<FIRST_NAME>&x;</FIRST_NAME></ENTITY></ENTITIES></CONSOLIDATED_LIST>",
    ],
)
def test_entity_declarations_are_refused(tmp_path: Path, doc: bytes) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(doc)
    with pytest.raises(SnapshotError, match="entities"):
        list(UnSc().parse(from_path(UnSc.info, path)))
