"""Identifiers and nationalities read from remarks: the same results as the plain patterns they replaced, on
every remark of the real OFAC files and on made-up texts around the places an item opens."""

from __future__ import annotations

import csv
import random
import re

import pytest

from contracts.models import Identifier
from monitor.identifiers import _LABEL_RE, _LABELS, _USCC_ZH, from_remarks, nationality_from_remarks
from tests.snapshots import real_files

# The patterns as first written (one regular expression each): the reference.
_REFERENCE_ID = re.compile(rf"(?:^|;\s*|\balt\.\s+)(?P<label>{_LABEL_RE})\s+(?P<value>[A-Z0-9][A-Z0-9./-]*[A-Z0-9])")
_REFERENCE_NAT = r"(?:^|;\s*)(?:nationality|citizen|Nationality of Registration)\s+([A-Z][A-Za-z ,.'()-]+?)(?=;|\.?$)"


def _reference_ids(text: str | None) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for match in _REFERENCE_ID.finditer(text or ""):
        found.setdefault((_LABELS[match["label"]], match["value"].upper().rstrip(".")))
    for match in _USCC_ZH.finditer(text or ""):
        found.setdefault(("uscc", match["value"].upper().rstrip(".")))
    return list(found)


def _reference_nat(text: str | None) -> list[str]:
    return list(dict.fromkeys(m.strip() for m in re.findall(_REFERENCE_NAT, text or "")))


def _pairs(ids: list[Identifier]) -> list[tuple[str, str]]:
    return [(i.scheme, i.value) for i in ids]


def _remarks() -> list[str]:
    texts: set[str] = set()
    for source, snapshots in (("ofac_sdn", ("watchman_2019-01", "watchman_2021-07", "gitscrape_2024-05-03")),
                              ("ofac_cons", ("perchrh_2018-05", "watchman_2025-12"))):  # fmt: skip
        for snapshot in snapshots:
            for name, path in real_files(source, snapshot).items():
                if name in ("sdn.csv", "cons_prim.csv"):
                    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
                        texts.update(row[-1] for row in csv.reader(fh) if len(row) > 11)
    return sorted(texts)


def test_real_remarks_read_as_the_reference_patterns_read_them() -> None:
    texts = _remarks()
    assert len(texts) > 5_000
    with_ids = 0
    for text in texts:
        expected = _reference_ids(text)
        assert _pairs(from_remarks(text)) == expected, text
        assert nationality_from_remarks(text) == _reference_nat(text), text
        with_ids += bool(expected)
    assert with_ids > 1_000  # the comparison saw identifiers, not only empty results


_PIECES = ["Registration ID", "Passport", "Tax ID No.", "Identification Number IMO", "Identification Number",
           "SWIFT/BIC", "MMSI", "Unified Social Credit Code (USCC)", "nationality", "citizen",
           "Nationality of Registration", "alt.", "xalt.", "_alt.", "Alt.", ";", "; ", ";  ", " ", "  ", "\t",
           "\n", ".", "-", "A1234567", "12-34.56", "ab12", "Iran", "United States", "U.S.", "(China)",
           "统一社会信用代码：", "91310000MA1FL10001", "é", "x"]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_made_up_texts_read_as_the_reference_patterns_read_them(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(5_000):
        text = "".join(rng.choice(_PIECES) + rng.choice(["", " ", ""]) for _ in range(rng.randint(1, 12)))
        assert _pairs(from_remarks(text)) == _reference_ids(text), repr(text)
        assert nationality_from_remarks(text) == _reference_nat(text), repr(text)
