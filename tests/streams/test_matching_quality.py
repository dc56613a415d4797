"""Matching quality on the labelled evaluation set (tests/streams/matching_eval.py, docs/matching.md).

The floors are the figures docs/matching.md reports, rounded down: the test fails if quality drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.match.score import DEFAULT_THRESHOLD
from tests.streams.matching_eval import GroupResult, build, evaluate, load_lists


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GroupResult]:
    lists = load_lists(Path(tmp_path_factory.mktemp("lists")))
    return evaluate(lists, build(lists), DEFAULT_THRESHOLD)


def test_latin_script_precision_and_recall(results: dict[str, GroupResult]) -> None:
    positives = results["latin"]
    false_positives = results["latin_distinct"].fp + results["not_listed"].fp
    precision = positives.tp / (positives.tp + false_positives)
    assert precision >= 0.97, (positives.tp, false_positives, results["latin_distinct"].false_hits)
    assert positives.recall >= 0.99, positives.misses


def test_chinese_names_in_traditional_or_full_width_forms(results: dict[str, GroupResult]) -> None:
    assert results["chinese_variants"].recall >= 0.99, results["chinese_variants"].misses
    assert results["chinese_variants"].fp == 0


def test_every_identifier_match_is_found(results: dict[str, GroupResult]) -> None:
    assert results["identifier"].fn == 0, results["identifier"].misses
    assert results["identifier"].tp >= 80


def test_companies_on_no_list_raise_nothing(results: dict[str, GroupResult]) -> None:
    assert results["not_listed"].fp == 0, results["not_listed"].false_hits
