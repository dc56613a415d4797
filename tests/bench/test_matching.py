from __future__ import annotations

import pytest

from bench.matching import paired_recall


def test_paired_recall_tells_a_gap_from_the_draw() -> None:
    same = [True, False] * 100
    assert paired_recall(same, same) == {"difference": 0.0, "ci95": [0.0, 0.0], "only_ours": 0, "only_theirs": 0,
                                         "positives": 200}  # fmt: skip
    # ours finds 30 of 200 more, theirs 5 ours misses: the interval stays above zero
    ours, theirs = [True] * 130 + [False] * 70, [True] * 100 + [False] * 95 + [True] * 5
    found = paired_recall(ours, theirs)
    assert (found["difference"], found["only_ours"], found["only_theirs"]) == (0.125, 30, 5)
    ci = found["ci95"]
    assert isinstance(ci, list)
    assert 0 < ci[0] < 0.125 < ci[1]
    # one positive either way in 200: no telling them apart
    ci = paired_recall([True] + [False] * 199, [False, True] + [False] * 198)["ci95"]
    assert isinstance(ci, list)
    assert ci[0] < 0 < ci[1]


def test_paired_recall_needs_the_same_positives() -> None:
    with pytest.raises(ValueError, match="same positives"):
        paired_recall([True], [True, False])
    with pytest.raises(ValueError, match="same positives"):
        paired_recall([], [])
