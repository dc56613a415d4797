from __future__ import annotations

import random
import re
import string

import countrynames
import pytest
from rapidfuzz import process
from rapidfuzz.distance import OSA

from streams.enrich.names import name_form
from streams.match import keys
from streams.match.keys import MIN_WATCH_SHARE, country_of, name_keys, share_floor


def _table_words() -> list[str]:
    countrynames.to_code("FR")
    return sorted(k for k in countrynames.COUNTRY_NAMES if k.isalpha() and len(k) >= 4 and k != "fail")


@pytest.mark.parametrize("chunk", range(4))
def test_a_word_names_the_country_countrynames_gives_it(chunk: int) -> None:
    # Every one-word name in countrynames' table (11,000 in 2026, in every script) and everyday words: the
    # table read directly must answer as ``to_code`` does.
    words = [*_table_words()[chunk::4], "iranian", "Korean", "TEHRAN", "trading", "sitysipava", "Çinli", "Türkiye"]
    words += [w.upper() for w in words[:500]] + [w.title() for w in words[:500]]
    differ = [w for w in words if country_of.__wrapped__(w) != countrynames.to_code(w, fuzzy=False)]
    assert differ == []


def test_short_words_codes_and_the_refusal_marker() -> None:
    assert country_of("iran") == "IR"
    assert country_of("iranian") == "IR"
    assert country_of("suhh") == "SUHH"  # a code of four letters (the Soviet Union) is a code, as in to_code
    assert country_of("abc") is None
    assert country_of("ir4n") is None
    assert countrynames.to_code("fail") == "FAIL"
    assert country_of("fail") is None  # its marker for refused names is no country


def test_a_chinese_name_sets_no_share_floor_for_its_watches() -> None:
    # Its character pairs are keys no Latin watch shares: a Latin watch covers a few per cent of a mixed
    # "Latin name 中文名" and may still score 0.90 (the Latin words inside it), so it must not be floored out.
    mixed = name_form("Zentrix Karvell Technology Co. Ltd. 曾特里克斯科技有限公司")
    assert mixed.script == "cjk"
    assert share_floor(name_keys(mixed)) == 0.0
    assert share_floor(name_keys(name_form("Zentrix Karvell Technology Co. Ltd."))) == MIN_WATCH_SHARE > 0


def _misspelt(rnd: random.Random, word: str) -> str:
    """``word`` with one or two edits (a letter changed, dropped, added, or two swapped)."""
    letters = list(word)
    for _ in range(rnd.randint(1, 2)):
        i, op = rnd.randrange(len(letters)), rnd.randrange(4)
        if op == 0:
            letters[i] = rnd.choice(string.ascii_lowercase)
        elif op == 1 and len(letters) > 1:
            del letters[i]
        elif op == 2:
            letters.insert(i, rnd.choice(string.ascii_lowercase))
        elif i + 1 < len(letters):
            letters[i], letters[i + 1] = letters[i + 1], letters[i]
    return "".join(letters)


def test_a_misspelt_common_word_is_found_among_the_words_of_its_length_as_among_all() -> None:
    """``_near`` compares a word only with the common and legal-form words whose length allows a close match;
    it answers as comparing it with all of them does, for near misses of every one of them and random words."""
    rnd = random.Random(11)
    tokens = [_misspelt(rnd, w) for w in keys._COMMON_OR_LEGAL for _ in range(20)]
    tokens += ["".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(6, 16))) for _ in range(3000)]
    found = 0
    for words in (keys._COMMON_OR_LEGAL, keys._LEGAL_SORTED):
        for token in tokens:
            every = process.extractOne(token, words, scorer=OSA.normalized_similarity, score_cutoff=keys._CLOSE)
            assert keys._near(token, words) == (every is not None), token
            found += every is not None
    assert found > 1000  # the near misses are there to be found


def _fold_by_patterns(token: str) -> str:
    """The fold as the patterns say it: doubled letters once, each spelling to its sound, doubled letters once."""
    out = re.sub(r"(.)\1+", r"\1", token)
    for spelt, sound in keys._FOLDS:
        out = out.replace(spelt, sound)
    return re.sub(r"(.)\1+", r"\1", out)


def test_the_fold_is_what_its_patterns_say() -> None:
    rnd = random.Random(13)
    spellings = [spelt for spelt, _ in keys._FOLDS]
    tokens = ["sovfrakht", "sovfracht", "fadjr", "daawa", "bourhan", "mohammed", "dzhafar", "1100", "aaa", "ščč"]
    for _ in range(5000):
        parts = [rnd.choice([*spellings, *string.ascii_lowercase[:8], "ll", "ss", "oo"]) for _ in range(rnd.randint(2, 7))]
        tokens.append("".join(parts))
    assert sum(keys.fold(t) != t for t in tokens) > 1000  # most of them fold
    for token in tokens:
        assert keys.fold(token) == _fold_by_patterns(token), token
