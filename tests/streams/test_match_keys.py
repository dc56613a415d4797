from __future__ import annotations

import countrynames
import pytest

from streams.enrich.names import name_form
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
