"""Matching quality on the held-out test part of the evaluation set (tests/streams/matching_eval.py).

The floors are the test-part figures docs/matching.md reports, rounded down: the test fails if quality drops.
Tuning looks only at the dev part (``python -m tests.streams.matching_eval 0.88 dev``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.api.models import MIN_THRESHOLD
from streams.enrich.names import NameForm, name_form
from streams.index import MAX_WATCH_CANDIDATES
from streams.match.logic import enrichment_ids, forms, score_watch, watch_ids
from streams.match.score import DEFAULT_THRESHOLD, EntryBound, WatchBound, score_bound
from tests.streams.matching_eval import (
    Figures,
    Lists,
    Query,
    Scored,
    candidates,
    change_retrieval,
    evaluate,
    figures,
    latin,
    watched,
)

CUSTOMER = ("legal_dots", "initials", "abbreviation", "typo", "case_punct", "accents")


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lists, list[Query], list[Scored]]:
    return evaluate(Path(tmp_path_factory.mktemp("lists")))


@pytest.fixture(scope="module")
def scored(evaluation: tuple[Lists, list[Query], list[Scored]]) -> list[Scored]:
    return evaluation[2]


_Watch = tuple[list[NameForm], list[tuple[str, str]]]


def test_the_score_bound_is_never_below_the_score(evaluation: tuple[Lists, list[Query], list[Scored]]) -> None:
    """match_change skips a candidate whose cheap bound is under the threshold: on every pair the evaluation
    scores (both parts; a property, not a figure to tune), the bound is at least the score (scores are
    rounded to 4 places)."""
    lists, queries, _ = evaluation
    pairs = skipped = 0
    # One per list entry, kept across every watch that meets it, as match_change keeps one per change
    # across its candidates (its memory of words seen must never change a bound).
    entry_bounds: dict[tuple[object, ...], EntryBound] = {}
    # and each entry's watches bounded at once, as match_change bounds a change's candidates
    by_entry: dict[tuple[object, ...], tuple[EntryBound, list[_Watch], list[float]]] = {}
    for query in queries:
        watch = watched(lists, query)
        watch_forms = [name_form(n) for n in watch.names()]
        # what screen_watch computes, one per watched company across its candidates
        watch_bound = WatchBound(watch_forms, watch_ids(watch))
        for _, _, enrichment in candidates(lists, query):
            value = score_watch(watch, enrichment).value
            entry_forms, ids = forms(enrichment.names), enrichment_ids(enrichment)
            bound = score_bound(watch_forms, entry_forms, watch_ids(watch), ids)
            assert bound + 1e-4 >= value, (query.watch.name, [n.original for n in enrichment.names], bound, value)
            # what match_change computes, once per change for all its candidates: the same bound, exactly
            key = (*(f.original for f in entry_forms), *ids)
            entry_bound = entry_bounds.setdefault(key, EntryBound(entry_forms, ids))
            assert entry_bound.bound(watch_forms, watch_ids(watch)) == bound
            assert watch_bound.bound(entry_forms, ids) == bound
            entry_batch = by_entry.setdefault(key, (EntryBound(entry_forms, ids), [], []))
            entry_batch[1].append((watch_forms, watch_ids(watch)))
            entry_batch[2].append(bound)
            pairs += 1
            skipped += bound + 1e-4 < DEFAULT_THRESHOLD
    for many, batch, expected in by_entry.values():
        assert many.bounds(batch) == expected
    assert pairs > 10_000
    assert skipped > pairs // 2  # the bound is worth having: most candidates are ruled out unscored


def test_the_watch_candidate_cap_loses_no_watch(
    evaluation: tuple[Lists, list[Query], list[Scored]], scored: list[Scored]
) -> None:
    """A change is scored against at most MAX_WATCH_CANDIDATES watches, none covering under its names' floor
    of their key weight (streams/match/keys.py share_floor) unless it shares an identifier (the stream's main cost, issue 11): on the test part
    they lose no watch that would alert at any threshold a subscriber may set, against a lookup with neither
    cap nor floor; alone and at scale (every list entry's name watched too, ~34,000 watches, where ranking by
    the sum over an entry's names lost 2 of 823: a short name among long aliases; docs/matching.md)."""
    lists, queries, _ = evaluation
    capped, total, _ = change_retrieval(lists, queries, "test", MAX_WATCH_CANDIDATES)
    assert capped / total >= 0.98
    alerting = {id(s.query) for s in scored if s.query.expected is not None and s.expected >= MIN_THRESHOLD}

    def would_alert(query: Query) -> bool:
        return id(query) in alerting

    for distractors in (False, True):
        capped, total, _ = change_retrieval(lists, queries, "test", MAX_WATCH_CANDIDATES, distractors, would_alert)
        unlimited, _, _ = change_retrieval(lists, queries, "test", 100_000, distractors, would_alert, floor=False)
        assert capped == unlimited == total


@pytest.fixture(scope="module")
def test_part(scored: list[Scored]) -> dict[str, Figures]:
    return figures(scored, DEFAULT_THRESHOLD, "test")


def test_the_parts_are_fixed_and_both_used(scored: list[Scored]) -> None:
    parts = {s.query.part for s in scored}
    assert parts == {"dev", "test"}
    assert 0.4 < sum(s.query.part == "test" for s in scored) / len(scored) < 0.6


def test_latin_script_precision(test_part: dict[str, Figures]) -> None:
    precision, _ = latin(test_part)
    negatives = [line for cat in ("latin_distinct", "near_miss", "containment", "swapped_word", "not_listed")
                 for line in test_part[cat].false_hits]  # fmt: skip
    assert precision >= 0.98, negatives


def test_customer_spellings_are_found(test_part: dict[str, Figures]) -> None:
    found = sum(test_part[c].tp for c in CUSTOMER)
    total = sum(test_part[c].tp + test_part[c].fn for c in CUSTOMER)
    assert found / total >= 0.97, [m for c in CUSTOMER for m in test_part[c].misses]
    for category in CUSTOMER:
        assert test_part[category].recall >= 0.93, (category, test_part[category].misses)


def test_real_variation_between_publishers(test_part: dict[str, Figures]) -> None:
    # Aliases and other publishers' spellings are often other names altogether (docs/matching.md): the
    # floor is what is measured today, not a target.
    assert test_part["alias"].recall >= 0.39, test_part["alias"].misses[:20]
    assert test_part["cross_list"].recall >= 0.28, test_part["cross_list"].misses[:20]
    assert latin(test_part)[1] >= 0.715  # 0.718 after round 8
    assert test_part["cross_debarred"].recall >= 0.75, test_part["cross_debarred"].misses


def test_near_misses_and_swapped_real_words_stay_below_the_threshold(test_part: dict[str, Figures]) -> None:
    assert test_part["swapped_word"].fp == 0, test_part["swapped_word"].false_hits
    assert test_part["containment"].fp == 0, test_part["containment"].false_hits
    assert test_part["near_miss"].fp <= 3, test_part["near_miss"].false_hits


def test_near_misses_stay_visible_to_a_reviewer_at_a_lower_threshold(scored: list[Scored]) -> None:
    near = [s for s in scored if s.query.category == "near_miss" and s.query.part == "test"]
    assert sum(s.wrong >= 0.5 for s in near) / len(near) >= 0.75  # 75 of 95 today


def test_chinese_names_in_every_form(test_part: dict[str, Figures]) -> None:
    assert test_part["chinese_variants"].recall >= 0.99, test_part["chinese_variants"].misses
    assert test_part["chinese_both"].recall >= 0.95, test_part["chinese_both"].misses
    # Chinese-only name -> English-only entry, through the names bilingual lists print side by side (never the
    # searched list's own pairing), a Latin word inside the Chinese name, and generic company words: 0.57
    # measured (0.56 with the first table of generic words, 0.49 with the bilingual names alone, 0.00 without).
    assert test_part["chinese_to_english"].recall >= 0.57, test_part["chinese_to_english"].misses
    assert test_part["chinese_to_english"].fp == 0


def test_identifiers_decide(test_part: dict[str, Figures]) -> None:
    assert test_part["identifier"].fn == 0, test_part["identifier"].misses
    assert test_part["identifier"].tp >= 20
    assert test_part["identifier_conflict"].fp <= 1, test_part["identifier_conflict"].false_hits


def test_companies_on_no_list_raise_almost_nothing(test_part: dict[str, Figures]) -> None:
    # Two today, both near-misses a reviewer may want to see: "Inditex S.A." / "INDUITEX LTDA." (one letter
    # more) and "Mitsubishi Electric Corporation" / "Mitsubishi Electric Engineering Company".
    assert test_part["not_listed"].fp <= 2, test_part["not_listed"].false_hits
