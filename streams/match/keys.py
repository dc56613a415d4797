"""Index keys of a name, for candidate retrieval: a change looks up only the watch entries (or list
entries) that share a key with it, so work per change does not grow with the number of watched
companies.

- ``t:`` distinctive tokens of the core name (legal forms and common words are not keys), also folded
  (transliteration spellings: Fadjr / Fajr) and short neighbours joined (Zhu Hai / Zhuhai);
- ``p:`` metaphone of each longer token (spelling variants: Mohammed / Muhammad);
- ``x:`` the first four letters of each long token (typos: Zealadn / Zealand);
- ``a:`` the sorted letters of each token (swapped letters anywhere: Senawtec / Senwatec);
- ``b:`` character bigrams of Chinese core names (no word boundaries in Chinese);
- ``t:`` pinyin syllable pairs of Chinese names joined ("huawei"), meeting Latin tokens across scripts.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

import countrynames
from countrynames.util import normalize_name
from rapidfuzz import process
from rapidfuzz.distance import OSA
from rigour.text import metaphone

from streams.enrich.names import NameForm, latin_words

# Frequent words that identify nobody on their own; weighed down in scoring, never used as keys alone.
COMMON = frozenset(
    """
    the and of for de la le el al del des du da do dos das y et und company co corp corporation group holding
    holdings limited ltd inc llc international intl trading trade industrial industries industry technology
    technologies tech services service enterprise enterprises investment investments development engineering
    construction national general global import export imp exp bank china chinese russian united new shipping
    logistics management consulting partners systems solutions products manufacturing commercial energy
    resources resource network networks equipment science scientific branch subsidiary offshore office
    organization organisation association foundation institute society agency center centre council committee
    federation authority bureau factory plant works
    """.split()  # noqa: SIM905 - a word list reads better as text
)


COMMON_WEIGHT = 0.3  # a common word's (and a legal-form word's) weight in scoring

# Legal-form words that a name may still carry when misspelt ("Comapny", "Libaility").
_LEGAL_WORDS = frozenset(
    """company limited liability partnership corporation incorporated joint stock public closed open
    obshchestvo ogranichennoi otvetstvennostyu aktsionernoe zakrytoe otkrytoe publichnoe""".split()  # noqa: SIM905
)
_COMMON_OR_LEGAL = tuple(sorted(COMMON | _LEGAL_WORDS))
_LEGAL_SORTED = tuple(sorted(_LEGAL_WORDS))
# How close a misspelt word is to the word it stands for: OSA similarity normalised by the longer length.
_CLOSE = 0.84


def _near(token: str, words: tuple[str, ...]) -> bool:
    """Whether one of ``words`` has an OSA normalised similarity of at least ``_CLOSE`` with ``token``.
    Compared only with the words whose length allows it (the distance is at least the difference in
    length), 17–39 of the 116 common and legal-form words: 9.3 -> 3.7 us for a new word of 6–12 letters, and
    a new made-up list entry's enrichment and keys 91–107 -> 73–91 us (alternating). The answer is the same
    (tests/streams/test_match_keys.py)."""
    close = process.extractOne(
        token, _of_lengths(words, len(token)), scorer=OSA.normalized_similarity, score_cutoff=_CLOSE
    )
    return close is not None


@functools.lru_cache(maxsize=256)
def _of_lengths(words: tuple[str, ...], length: int) -> tuple[str, ...]:
    """The words a token of ``length`` can be close to (a margin kept for rounding: more is harmless)."""
    return tuple(w for w in words if abs(len(w) - length) <= (1 - _CLOSE) * max(len(w), length) + 1e-6)


@functools.lru_cache(maxsize=65536)
def is_legal_word(token: str) -> bool:
    """A legal-form word, also misspelt by a letter or two ("Comapny", "Parntership")."""
    if token in _LEGAL_WORDS:
        return True
    if len(token) < 6:
        return False
    return _near(token, _LEGAL_SORTED)


@functools.lru_cache(maxsize=65536)
def token_weight(token: str) -> float:
    """1.0 for a distinctive word (numbers included), 0.3 for a common word or a legal-form word (also
    when misspelt by a letter or two), 0.2 for a lone letter."""
    if any(c.isdigit() for c in token):
        return 1.0
    if len(token) <= 1:
        return 0.2
    if token in COMMON or token in _LEGAL_WORDS:
        return COMMON_WEIGHT
    if len(token) >= 6 and _near(token, _COMMON_OR_LEGAL):
        return COMMON_WEIGHT
    return 1.0


# Spellings that transliterations of one sound alternate between (Sovfrakht / Sovfracht, Fadjr / Fajr,
# Ayash / Ayas, Bourhan / Burhan), folded to one; doubled letters are written single (Daawa / Dawa).
_FOLDS = (("dzh", "j"), ("dj", "j"), ("sch", "s"), ("kh", "h"), ("ch", "h"), ("sh", "s"), ("ph", "f"), ("ou", "u"))
_DOUBLED = re.compile(r"(.)\1+")


@functools.lru_cache(maxsize=65536)
def fold(token: str) -> str:
    """The token with transliteration spellings folded: a ``t:`` key where it differs, and a way for two
    tokens to match (streams/match/score.py)."""
    out = _single(token)
    for spelt, sound in _FOLDS:
        if spelt in out:  # most words hold none: a test is cheaper than a replace that finds nothing
            out = out.replace(spelt, sound)
    return _single(out)


def _single(text: str) -> str:
    """Doubled letters written once: ``_DOUBLED.sub(r"\1", text)``, at half its cost for a new word (a run is
    looked for first, and groupby joins it; 4.5 -> 2.2 us a fold)."""
    if _DOUBLED.search(text) is None:
        return text
    return "".join(letter for letter, _ in itertools.groupby(text))


@functools.lru_cache(maxsize=65536)
def country_of(token: str) -> str | None:
    """The country a word names, by its name or its people's ("iran", "iranian"; countrynames, exact forms
    only); None for other words and short ones. Loose on its own (it also maps cities and codes: "tehran",
    "abd"), so a match needs more (streams/match/score.py).

    ``countrynames.to_code(token, fuzzy=False)``, read from its own table: ``to_code`` first looks for the
    word among the table's 23,000 values one by one (is it a code?), about 250 us for every word not seen
    before, most of a new list entry's scoring. Same answers (tests/streams/test_match_keys.py), except
    that its marker for names it refuses ("FAIL") is not taken for a code."""
    if len(token) < 4 or not token.isalpha():
        return None
    codes, names = _country_table()
    upper = token.upper()
    if upper in codes:
        return upper
    # normality's latinising is most of the rest (about 180 us a new word): a plain ASCII word is only lowered
    code = names.get(token.lower() if token.isascii() else normalize_name(upper) or "")
    return None if code == "FAIL" else code


@functools.cache
def _country_table() -> tuple[frozenset[str], dict[str, str]]:
    countrynames.to_code("FR")  # loads the table on first use
    table: dict[str, str] = countrynames.COUNTRY_NAMES
    return frozenset(table.values()) - {"FAIL"}, dict(table)


def identifier_key(scheme: str, value: str) -> str:
    return f"id:{scheme}:{value}"


def is_identifier_key(key: str) -> bool:
    return key.startswith("id:")


# A watch covering less than this share of each of a list entry's names' key weight is no candidate of its
# change, unless it shares an identifier: on the evaluation's dev part (every list entry's name watched too,
# ~34,000 watches) the lowest share of a watch scoring 0.5 or more with its entry is 0.16; the floor cuts the
# candidates a change scores from 119 to 72 on average (docs/matching.md).
MIN_WATCH_SHARE = 0.12


def share_floor(keys: Iterable[str]) -> float:
    """The share of a list entry's name's key weight a watch must cover to be a candidate of its change: none
    for a Chinese name, whose character pairs no Latin name shares ("Jiangxi Mingzheng Technology …" against
    "Jiangxi Mingzheng … 江西明正科技协同创新有限公司" covers 4 % of it and scores 0.90)."""
    return 0.0 if any(k.startswith("b:") for k in keys) else MIN_WATCH_SHARE


def name_keys(form: NameForm) -> set[str]:
    keys: set[str] = set()
    if form.script == "cjk":
        compact = form.core.replace(" ", "")
        keys.update(f"b:{compact[i : i + 2]}" for i in range(len(compact) - 1))
        if len(compact) == 1:
            keys.add(f"b:{compact}")
        syllables = form.ascii.split()
        keys.update(f"t:{a}{b}" for a, b in itertools.pairwise(syllables))
        # Latin words in it meet the same words of a Latin name ("TDK株式会社" / "TDK Corporation").
        keys.update(f"t:{w}" for w in latin_words(form.core) if len(w) >= 2 and token_weight(w) == 1.0)
        return keys
    tokens = form.ascii.split() if form.script == "other" else form.tokens
    distinctive = [t for t in tokens if token_weight(t) == 1.0] or tokens
    # Short words that the other side may write as one ("Zhu Hai Zhen Rong" / "Zhuhai Zhenrong").
    for a, b in itertools.pairwise(tokens):
        if a.isalpha() and b.isalpha() and len(a) <= 5 and len(b) <= 5 and token_weight(a + b) == 1.0:
            keys.add(f"t:{a}{b}")
    for token in distinctive:
        keys.add(f"t:{token}")
        if token.isalpha() and len(token) >= 5 and (folded := fold(token)) != token:
            keys.add(f"t:{folded}")
        if len(token) >= 4 and token.isalpha():
            keys.add(f"p:{metaphone(token)}")
        if len(token) >= 6:
            keys.add(f"x:{token[:4]}")  # a typo after the fourth letter still finds the name
        if len(token) >= 5 and not token.isdigit():
            # The same letters, two of them swapped ("Senawtec"). Not for numbers: a 5-digit number shares
            # its digits with up to 119 others, all of them other numbers.
            keys.add(f"a:{''.join(sorted(token))}")
    return keys
