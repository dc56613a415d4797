"""Index keys of a name, for candidate retrieval: a change looks up only the watch entries (or list
entries) that share a key with it, so work per change does not grow with the number of watched
companies.

- ``t:`` distinctive tokens of the core name (legal forms and common words are not keys);
- ``p:`` metaphone of each longer token (spelling variants: Mohammed / Muhammad);
- ``b:`` character bigrams of Chinese core names (no word boundaries in Chinese);
- ``t:`` pinyin syllable pairs of Chinese names joined ("huawei"), meeting Latin tokens across scripts.
"""

from __future__ import annotations

import itertools

from rigour.text import metaphone

from streams.enrich.names import NameForm

# Frequent words that identify nobody on their own; weighed down in scoring, never used as keys alone.
COMMON = frozenset(
    """
    the and of for de la le el del des du da do dos das y et und company co corp corporation group holding
    holdings limited ltd inc llc international intl trading trade industrial industries industry technology
    technologies tech services service enterprise enterprises investment investments development engineering
    construction national general global import export imp exp bank china chinese russian united new shipping
    logistics management consulting partners systems solutions products manufacturing commercial energy
    resources resource network networks equipment science scientific
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def token_weight(token: str) -> float:
    if len(token) <= 1:
        return 0.2
    return 0.3 if token in COMMON else 1.0


def name_keys(form: NameForm) -> set[str]:
    keys: set[str] = set()
    if form.script == "cjk":
        compact = form.core.replace(" ", "")
        keys.update(f"b:{compact[i : i + 2]}" for i in range(len(compact) - 1))
        if len(compact) == 1:
            keys.add(f"b:{compact}")
        syllables = form.ascii.split()
        keys.update(f"t:{a}{b}" for a, b in itertools.pairwise(syllables))
        return keys
    tokens = form.ascii.split() if form.script == "other" else form.tokens
    distinctive = [t for t in tokens if token_weight(t) == 1.0] or tokens
    for token in distinctive:
        keys.add(f"t:{token}")
        if len(token) >= 4 and token.isalpha():
            keys.add(f"p:{metaphone(token)}")
    return keys
