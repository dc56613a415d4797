from __future__ import annotations

import countrynames
import pytest

from streams.match.keys import country_of


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
