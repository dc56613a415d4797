"""Every real before/after pair of the shared real data gives the counts its provenance records."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.diff import Rejection, SnapshotRejected, check_shrink, diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from tests.snapshots import materialise, real_changes

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# source, before, after, (added, removed, modified): PROVENANCE.md of the shared real data.
PAIRS = [
    ("ofac_sdn", "gitscrape_2021-11-10", "gitscrape_2021-11-12", (6, 43, 21)),
    ("un_sc", "2018-06-08", "2018-06-22", (2, 0, 0)),
    ("un_sc", "2018-06-22", "2018-08-24", (6, 8, 14)),
    ("afdb", "2023-11-10", "2024-06-04", (104, 15, 43)),
    ("idb", "2024-06-04", "2024-06-13", (0, 6, 3)),
    # PROVENANCE says 260/52/30. Three individuals debarred twice in 06-13 keep one debarment in 2025-02:
    # their second listing (key #2) is removed and the first modified (+3 removed, +3 modified). A plain
    # set difference on (Title, Entity) gives 261/53/30 too, so the last +1/+1 is in the recorded count.
    ("idb", "2024-06-13", "2025-02", (261, 56, 33)),
    ("cn_sanctions", "2026-07-27", "2026-08-07", (7, 0, 0)),
    # Cosmetic churn (renumbered footnotes, update stamps) is published as modified with ``cosmetic`` set.
    ("worldbank", "2019-05-16_json", "2019-05-17_json", (0, 0, 31)),
    ("worldbank", "2019-05-17_json", "2019-05-20_json", (0, 2, 0)),
]


def counts(source_id: str, before: str, after: str, tmp_path: Path) -> tuple[int, int, int]:
    kinds = Counter(c.change for c in real_changes(source_id, before, after, tmp_path, NOW))
    return kinds["added"], kinds["removed"], kinds["modified"]


@pytest.mark.parametrize(("source_id", "before", "after", "expected"), PAIRS)
def test_real_pair_counts(source_id: str, before: str, after: str, expected: tuple[int, int, int],
                          tmp_path: Path) -> None:  # fmt: skip
    assert counts(source_id, before, after, tmp_path) == expected


def test_idb_scope_change_is_refused_not_mass_removed(tmp_path: Path) -> None:
    """The 2023-11 export still listed expired sanctions; the next one did not (2,126 -> 883 entries)."""
    with pytest.raises(SnapshotRejected) as info:
        counts("idb", "2023-11-10", "2024-06-04", tmp_path)
    assert info.value.reason is Rejection.SHRUNK


def test_ofac_cons_pair_counts_once_the_shrink_is_accepted(tmp_path: Path) -> None:
    """639 -> 442 entries over seven years trips the shrink guard; with it lowered, the published counts."""
    with pytest.raises(SnapshotRejected):
        counts("ofac_cons", "perchrh_2018-05", "watchman_2025-12", tmp_path)
    source = registry()["ofac_cons"]
    relaxed = type(source)()
    relaxed.info = replace(source.info, min_ratio=0.5)
    old = from_path(relaxed.info, materialise("ofac_cons", "perchrh_2018-05", tmp_path))
    new = from_path(relaxed.info, materialise("ofac_cons", "watchman_2025-12", tmp_path))
    p_old, p_new = read_snapshot(relaxed, old, "a"), read_snapshot(relaxed, new, "b")
    check_shrink(relaxed.info, len(p_old.entries), p_new)
    kinds = Counter(c.change for c in diff("ofac_cons", p_old.entries, "a", p_new, NOW))
    assert (kinds["added"], kinds["removed"], kinds["modified"]) == (78, 275, 288)


def test_worldbank_footnote_renumbering_is_cosmetic_and_the_feed_stamp_is_not_a_change(tmp_path: Path) -> None:
    """16 -> 17 May 2019: the array is re-ordered, LAST_REFRESH_DATE moves on all 1,319 records and 31
    records change only a footnote number and their update stamps."""
    changes = real_changes("worldbank", "2019-05-16_json", "2019-05-17_json", tmp_path, NOW)
    assert len(changes) == 31
    assert all(c.cosmetic for c in changes)
    assert {f.field for c in changes for f in c.fields} == {"raw.ADD_SUPP_INFO", "raw.UPD_DATE", "raw.UPD_TIME"}
    assert all(c.before and c.after and c.before.remarks == c.after.remarks for c in changes)


def test_worldbank_debarments_that_ran_out_are_expiries_not_delistings(tmp_path: Path) -> None:
    """17 -> 20 May 2019: AKIN PROJECT LLC and SEMIH SAGOCAK go, their cross-debarment ended 2019-05-18."""
    observed = datetime(2019, 5, 20, 9, tzinfo=UTC)
    changes = real_changes("worldbank", "2019-05-17_json", "2019-05-20_json", tmp_path, observed)
    assert sorted((c.current.name, c.change, c.removal, c.cosmetic) for c in changes) == [
        ("AKIN PROJECT LLC", "removed", "expired", False),
        ("SEMIH SAGOCAK", "removed", "expired", False),
    ]
    # Seen before the end date, the same removal is a decision to delist.
    early = real_changes("worldbank", "2019-05-17_json", "2019-05-20_json", tmp_path, datetime(2019, 5, 17, tzinfo=UTC))
    assert {c.removal for c in early} == {"delisted"}
