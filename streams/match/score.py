"""Scoring a watched company against a list entry: pure functions, with the reasons recorded.

- identifiers: an equal valid USCC / LEI (or other scheme) scores 1.0 and wins;
- names, same script: weighted token similarity (rapidfuzz per token; distinctive tokens weigh 1.0, common
  words 0.3, single letters 0.2, legal forms are gone already; tokens with digits must be equal), at least
  one distinctive token must agree;
  Chinese names: rapidfuzz on the simplified core, with containment for names of 4+ characters;
- across scripts: the Latin name's distinctive tokens spelled by the pinyin of the Chinese one;
- a country conflict (both sides name countries, none shared) multiplies the score by 0.85, an entry
  listed as a vessel or aircraft by 0.85, as an individual by 0.95 (watched parties are companies).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein, Prefix
from rigour.text import metaphone
from wordfreq import freq_to_zipf, get_frequency_dict, zipf_frequency, zipf_to_freq

from contracts.settings import DEFAULT_MATCH_THRESHOLD
from streams.enrich.names import NameForm
from streams.match.keys import COMMON, country_of, fold, is_legal_word, token_weight

DEFAULT_THRESHOLD = DEFAULT_MATCH_THRESHOLD  # defined once, with the settings
_TOKEN_MATCH = 90.0
_COUNTRY_PENALTY = 0.85
_CROSS_SCRIPT_CAP = 0.9
_UNMATCHED_PENALTY = 0.92
# A watched name whose every word is in the listed name, which has one distinctive word more ("Bank Refah" /
# "Bank Refah Kargaran"): a customer's short form of the listed name, or a sister firm. Just over the default
# threshold: alerted with its reason, first to go at a higher one (_token_score has the conditions).
_ONE_WORD_MORE = 0.9
# Articles and prepositions: no word more or less when a name is compared by its words ("Lajnat al Dawa" /
# "Lajnat al Daawa al Islamiyya": the second "al" is no second word more).
_FILLERS = frozenset("the of for in at al el la le les de del des du da do dos das y et".split())  # noqa: SIM905
# The mirror of _ONE_WORD_MORE (a watched name with one distinctive word more than the listed name, every listed
# word equal to its partner) needs this many distinctive listed words: with two, sister firms ("Emma Tel Plus"
# / "Emma Tel") came with it on the evaluation's development part (docs/matching.md).
_MIRROR_WORDS = 3
_TYPE_PENALTY = {"vessel": 0.85, "aircraft": 0.85, "individual": 0.95}
# Two valid identifiers of one scheme that differ: most likely two companies of the same name.
_ID_CONFLICT = 0.6
# A word this common (Zipf frequency, wordfreq) in one of these languages is a real word, not a typo.
_REAL_WORD_ZIPF = 2.5
_LANGUAGES = ("en", "es", "fr", "pt", "de")


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    reasons: tuple[str, ...]


@functools.lru_cache(maxsize=65536)
def _phonetic(token: str) -> str:
    return str(metaphone(token))


@functools.lru_cache(maxsize=65536)
def _real_word(token: str) -> bool:
    if token.isascii() and token.isalpha() and token.islower():
        return token in common_words()
    return max(zipf_frequency(token, lang) for lang in _LANGUAGES) >= _REAL_WORD_ZIPF


@functools.cache
def common_words() -> frozenset[str]:
    """The lower-case ASCII words at or above _REAL_WORD_ZIPF in one of _LANGUAGES, read once from wordfreq's
    lists with wordfreq's own rounding (a frequency to 3 significant digits, its Zipf value to 2 places): the
    same answers as ``zipf_frequency`` (tests/streams/test_match_logic.py), which costs about 70 us for each
    word not seen before (its tokenizer runs first), a tenth of a worker's time on new list entries. About
    200,000 words; loaded before the worker starts (streams/worker.py)."""
    floor = zipf_to_freq(_REAL_WORD_ZIPF) * 0.9
    out: set[str] = set()
    for lang in _LANGUAGES:
        for word, freq in get_frequency_dict(lang, "best").items():
            if freq >= floor and word.isascii() and word.isalpha() and word.islower():
                rounded = round(freq, math.floor(-math.log(freq, 10)) + 3)
                if round(freq_to_zipf(rounded), 2) >= _REAL_WORD_ZIPF:
                    out.add(word)
    return frozenset(out)


def _swapped(token: str, other: str) -> bool | None:
    """Two neighbouring letters swapped: True for a typing slip ("Zealadn"), None when both spellings are
    real words ("nuclear" / "unclear", "dairy" / "diary"): two words, not one misspelt. False otherwise."""
    if min(len(token), len(other)) < 5 or not OSA.distance(token, other) == 1 < Levenshtein.distance(token, other):
        return False
    return None if _real_word(token) and _real_word(other) else True


# A word made only of pinyin syllables ("zhanjiang", "zhenjiang"): one changed vowel there is another place.
_PINYIN = re.compile(
    r"(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ei|ao|ou|an|en|in|un|ua|uo|ie|ue|ve|ui|iu|er|a|o|e|i|u|v))+"
)
_VOWELS = frozenset("aeiouy")


@functools.lru_cache(maxsize=65536)
def _pinyin(token: str) -> bool:
    return _PINYIN.fullmatch(token) is not None


def _spelling_variant(token: str, other: str) -> bool:
    """Two spellings of one word: a vowel written otherwise, added or left out, as transliterations of
    Arabic, Persian or Korean names do (Thowra / Thawra, Biblios / Biblos, Ryengwang / Ryongwang), or one stem
    with another ending (Metallurgical / Metallurgy, Industries / Industrial). Not where both are real words
    (Lines / Lanes) or both are pinyin (Zhanjiang / Zhenjiang)."""
    if min(len(token), len(other)) < 5:
        return False
    prefix = Prefix.similarity(token, other)
    if prefix >= 7 and prefix >= 0.8 * min(len(token), len(other)):
        return True
    if _real_word(token) and _real_word(other):
        return False
    ops = list(Levenshtein.editops(token, other))
    if len(ops) != 1 or (_pinyin(token) and _pinyin(other)):
        return False
    [op] = ops
    if op.tag == "replace":
        return token[op.src_pos] in _VOWELS and other[op.dest_pos] in _VOWELS
    return (token[op.src_pos] if op.tag == "delete" else other[op.dest_pos]) in _VOWELS


def _transliterated(token: str, other: str) -> bool:
    """One word in two transliterations: equal once folded. Not between two pinyin words (Chang / Hang;
    pinyin never doubles a vowel, so Binaa / Bina is not one) or two real words (Chair / Hair), and not for
    short words."""
    if max(len(token), len(other)) < 5 or not token.isalpha() or not other.isalpha():
        return False
    a, b = fold(token), fold(other)
    if a != b or len(a) < 4:
        return False
    if _pinyin(token) and _pinyin(other) and not any(v * 2 in token + " " + other for v in _VOWELS):
        return False
    return not (_real_word(token) and _real_word(other))


def _misspelt_common(token: str, other: str) -> bool:
    """``token`` is a common word of five letters or more (``other``) with one letter dropped, added, changed
    or two swapped, and is no real word itself (Grop / Group, Intenational / International)."""
    return (
        len(other) >= 5
        and other in COMMON
        and token not in COMMON
        and token.isalpha()
        and OSA.distance(token, other, score_cutoff=1) == 1
        and not _real_word(token)
    )


def _plural(token: str, other: str) -> bool:
    """One word with and without a final s (Farmacias / Farmacia, Iran's / Iran once the apostrophe is
    joined)."""
    short, long_ = sorted((token, other), key=len)
    return len(short) >= 4 and long_ == short + "s" and short.isalpha()


def _demonym(token: str, other: str) -> bool:
    """A country and its people's word (Iran / Iranian, Korea / Korean, Lebanon / Lebanese): one country, the
    same first four letters (which keeps out the cities and codes that name a country too)."""
    return token[:4] == other[:4] and country_of(token) is not None and country_of(token) == country_of(other)


def _rejoin(a: list[str], b: list[str]) -> list[str]:
    """Words of ``a`` written apart that ``b`` writes as one ("Zhu Hai" / "Zhuhai", "Mae Sai" / "Maesai")."""
    whole = set(b)
    if not any(x + y in whole for x, y in itertools.pairwise(a)):
        return list(a)  # nothing to join (nearly always)
    out: list[str] = []
    i = 0
    while i < len(a):
        if i + 1 < len(a) and a[i] + a[i + 1] in whole and a[i] not in whole and a[i + 1] not in whole:
            out.append(a[i] + a[i + 1])
            i += 2
        else:
            out.append(a[i])
            i += 1
    return out


@functools.lru_cache(maxsize=1 << 18)
def _token_sim(token: str, other: str) -> float:
    """How alike two words are, 0-100; cached, because the same words meet again and again."""
    if token == other:
        return 100.0
    if not (token.isalpha() and other.isalpha()) and any(c.isdigit() for c in token + other):
        return 0.0  # "No. 1" and "No. 2", "Branch 3" and "Branch 8": numbers tell entities apart
    if _plural(token, other) or _demonym(token, other):
        return 95.0
    if _misspelt_common(token, other) or _misspelt_common(other, token):
        return 90.0  # "Grop" / "Group": a slip in a common word
    if (swap := _swapped(token, other)) is None:
        return fuzz.ratio(token, other)  # two real words: no typo and no sounding-alike allowance
    if swap:
        return 95.0
    # One changed letter in a short word is often another word (Zhanjiang / Zhenjiang): the Indel ratio
    # passes _TOKEN_MATCH only from ten letters on.
    sim = fuzz.ratio(token, other)
    # Sounding alike counts where two or more letters differ; one changed vowel in a short word is more
    # often another place (Zhanjiang / Zhenjiang).
    close = (
        min(len(token), len(other)) >= 6
        and Levenshtein.distance(token, other) >= 2
        and _phonetic(token) == _phonetic(other)
    )
    if sim < _TOKEN_MATCH and (
        (sim >= 70 and close) or _spelling_variant(token, other) or _transliterated(token, other)
    ):
        return 90.0  # Mohammed / Muhammad, Thowra / Thawra, Fadjr / Fajr
    return sim


def _token_score(a: Sequence[str], b: Sequence[str]) -> tuple[float, str | None]:
    """The score of the watched words ``a`` against the listed words ``b``, and the one word ``b`` has more
    when every word of ``a`` (legal forms aside) has its partner in ``b`` and one distinctive word of ``b`` is
    left, ``a`` having two distinctive words or two words equal to their partners ("Bank Refah" / "Bank Refah
    Kargaran"): ``_ONE_WORD_MORE`` (None otherwise). The reverse, a listed name inside a longer watched one, is
    not that: a charity or trading house named after a listed organisation; neither is a watched name with one
    common word more ("Taatta Bank" / "Taatta"): as often a sister firm as the same one (docs/matching.md).
    Only a longer listed name of three distinctive words or more, every one equal to its partner, is taken the
    other way ("Kish South Kaveh Steel" / "South Kaveh Steel"). The word comes back marked "+" (the listed name
    has it) or "-" (the watched name has it); articles and prepositions are no word more either way."""
    if not a or not b:
        return 0.0, None
    # Each word's weight and legal-form flag, worked out once per name (lists' names meet many watches): the
    # sums below add the same floats in the same order as when each was looked up where it is used.
    weights_a, legal_a = _profile(tuple(a))
    weights_b, legal_b = _profile(tuple(b))
    matched = 0.0
    distinctive = False
    unpartnered = False
    exact = True
    used: set[int] = set()
    matched_a: set[str] = set()
    left_a: list[int] = []  # watched words without a partner, legal forms and fillers aside
    for i, token in enumerate(a):
        best, best_j = 0.0, -1
        for j, other in enumerate(b):
            if j in used:
                continue
            sim = _token_sim(token, other)
            if sim > best:
                best, best_j = sim, j
        if best >= _TOKEN_MATCH:
            used.add(best_j)
            matched_a.add(token)
            exact = exact and best == 100.0
            weight = (weights_a[i] + weights_b[best_j]) / 2
            matched += 2 * weight * best / 100
            distinctive = distinctive or weights_a[i] == 1.0
        elif not legal_a[i] and token not in _FILLERS:
            unpartnered = True
            left_a.append(i)
    # A legal-form word left in a name (misspelt, or mid-name) counts only where both sides have it.
    # sums of floats start at 0.0 here: compiled (streams/native.py), a sum started at int 0 wants ints
    total = sum(
        (w for t, w, legal in zip(a, weights_a, legal_a, strict=True) if not (legal and t not in matched_a)), 0.0
    ) + sum(
        (w for j, (w, legal) in enumerate(zip(weights_b, legal_b, strict=True)) if not (legal and j not in used)), 0.0
    )
    if total == 0:
        return 0.0, None
    score = matched / total
    # A distinctive word on one side only ("Tangshan" in one branch's name) says "another entity".
    unmatched = (
        sum(1 for w in weights_a if w == 1.0)
        - sum(1 for j in used if weights_b[j] == 1.0)
        + sum(1 for j, w in enumerate(weights_b) if j not in used and w == 1.0)
    )
    score *= _UNMATCHED_PENALTY ** max(0, unmatched)
    # Without any distinctive word in common, a name is not identified, unless neither side has one
    # ("International Industrial Development Bank").
    has_distinctive = 1.0 in weights_a or 1.0 in weights_b
    score = score if distinctive or not has_distinctive else min(score, 0.5)
    if score >= _ONE_WORD_MORE:
        return score, None
    listed_left = [j for j in range(len(b)) if j not in used and not legal_b[j] and b[j] not in _FILLERS]
    if not unpartnered and len(listed_left) == 1 and weights_b[listed_left[0]] == 1.0:
        words = [i for i in range(len(a)) if not legal_a[i]]
        if sum(1 for i in words if weights_a[i] == 1.0) >= 2 or (exact and len(words) >= 2):
            return score, "+" + b[listed_left[0]]
    if (
        exact
        and not listed_left
        and len(left_a) == 1
        and weights_a[left_a[0]] == 1.0
        and sum(1 for w, legal in zip(weights_b, legal_b, strict=True) if w == 1.0 and not legal) >= _MIRROR_WORDS
    ):
        return score, "-" + a[left_a[0]]
    return score, None


@functools.lru_cache(maxsize=1 << 17)
def _profile(tokens: tuple[str, ...]) -> tuple[tuple[float, ...], tuple[bool, ...]]:
    return tuple(token_weight(t) for t in tokens), tuple(is_legal_word(t) for t in tokens)


def _cjk_score(a: str, b: str) -> float:
    a, b = a.replace(" ", ""), b.replace(" ", "")
    if a == b:
        return 1.0
    score = fuzz.ratio(a, b) / 100
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 4 and shorter in longer:
        # "大疆创新科技" inside "深圳市大疆创新科技": a region prefix or a branch suffix.
        score = max(score, 0.92)
    return score


# Generic company words in Chinese and the English words lists print for them: pinyin cannot spell these
# ("Weihai Construction Group ... Branch" / 威海建设集团 ... 分公司), nor the function words Chinese does not
# write. Credited only when the Chinese name is accounted for almost whole (_ZH_ACCOUNTED) by the Latin
# name's pinyin-spelled words and these generic words: "Jing Branch of Weihai Construction Group" must not
# match 威海建设集团经济技术开发区混凝土分公司, whose "jing" is only the first syllable of 经济 (economic).
_ZH_GENERIC = {
    "建设": ("construction",), "建筑": ("construction", "building"), "集团": ("group",),
    "分公司": ("branch",), "工程": ("engineering", "project", "projects"), "国际": ("international",),
    "科技": ("technology", "technologies", "science", "tech"), "技术": ("technology", "technologies", "tech"),
    "贸易": ("trading", "trade"), "实业": ("industrial", "industry", "industries"),
    "工业": ("industrial", "industry", "industries"), "投资": ("investment", "investments"),
    "发展": ("development",), "控股": ("holding", "holdings"), "物流": ("logistics",), "服务": ("services", "service"),
    "管理": ("management",), "咨询": ("consulting",), "航运": ("shipping",), "船务": ("shipping",),
    "进出口": ("import", "export"), "设备": ("equipment",), "制造": ("manufacturing",), "能源": ("energy",),
    "资源": ("resources", "resource"), "网络": ("network", "networks"), "系统": ("systems",),
    "研究院": ("institute",), "研究所": ("institute",), "中心": ("center", "centre"), "商业": ("commercial",),
    "银行": ("bank",),
    # 2026-11-30 (ninth session): more of the generic words Chinese company names are made of, with the
    # English words lists print for them (directions, ordinals, trades, the parts of research bodies)
    "北方": ("north", "northern"), "南方": ("south", "southern"), "东方": ("east", "eastern", "oriental"),
    "西部": ("west", "western"), "新区": ("new", "area", "district", "zone"), "开发区": ("development", "zone"),
    "高新": ("high", "tech", "technology", "new"), "第一": ("1", "first"), "第二": ("2", "second"),
    "第三": ("3", "third"), "第四": ("4", "fourth"), "第五": ("5", "fifth"),
    "置业": ("real", "estate", "property", "properties"), "房地产": ("real", "estate", "property"),
    "地产": ("real", "estate", "property", "properties"), "家具": ("furniture",),
    "研发": ("research", "development"), "研究": ("research",), "基地": ("base",),
    "实验室": ("laboratory", "laboratories", "lab"), "电子": ("electronic", "electronics"),
    "电气": ("electric", "electrical"), "电力": ("electric", "power"), "机械": ("machinery", "mechanical"),
    "化工": ("chemical", "chemicals", "industry"), "化学": ("chemical", "chemistry"),
    "汽车": ("automobile", "automotive", "auto"), "材料": ("material", "materials"),
    "医药": ("pharmaceutical", "pharmaceuticals", "medicine"), "航空": ("aviation", "aerospace", "aeronautical"),
    "航天": ("aerospace", "space"), "船舶": ("shipbuilding", "ship", "marine"),
    "重工": ("heavy", "industry", "industries"), "精密": ("precision",), "仪器": ("instrument", "instruments"),
    "光电": ("optoelectronic", "optoelectronics", "photoelectric"), "半导体": ("semiconductor", "semiconductors"),
    "通信": ("communication", "communications", "telecom"), "信息": ("information",), "软件": ("software",),
    "智能": ("intelligent", "smart"), "数据": ("data",), "环保": ("environmental", "protection"),
    "食品": ("food", "foods"), "农业": ("agriculture", "agricultural"), "矿业": ("mining",),
    "钢铁": ("steel", "iron"), "金属": ("metal", "metals"), "石油": ("petroleum", "oil"),
    "大学": ("university",), "学院": ("college", "institute", "academy"), "科学院": ("academy", "sciences"),
    "医院": ("hospital",), "防务": ("defense", "defence"), "装备": ("equipment",), "海洋": ("ocean", "marine"),
    "运输": ("transport", "transportation"), "商贸": ("trading", "trade", "commerce"),
    "商务": ("business", "commerce", "commercial"), "企业": ("enterprise", "enterprises"),
    "产业": ("industry", "industrial"), "金融": ("finance", "financial"), "资本": ("capital",),
    "资产": ("asset", "assets"), "联合": ("united", "joint"), "自动化": ("automation",), "设计": ("design",),
    "检测": ("testing", "inspection"), "传媒": ("media",), "文化": ("culture", "cultural"),
    "教育": ("education",), "新能源": ("new", "energy"),
}
_FUNCTION_WORDS = frozenset({"of", "the", "for", "in", "at"})  # "and" is gone from the core already
_ZH_ACCOUNTED = 0.8
_UNITS = re.compile(r"[a-z0-9]+|\S")  # what becomes one syllable of the ASCII form: a Latin word, a character


def _cross_script(cjk: NameForm, latin: NameForm) -> float:
    spans, generic, size = _reading(cjk)
    tokens = latin.tokens
    weights = [token_weight(t) for t in tokens]
    if not tokens or sum(weights, 0.0) == 0:
        return 0.0
    covered = sum((w for t, w in zip(tokens, weights, strict=True) if t in spans), 0.0)
    helped = [(t, w) for t, w in zip(tokens, weights, strict=True) if t not in spans and t in generic]
    if helped:
        used = {i for t in tokens if t in spans for i in spans[t]}
        for t, _ in helped:
            used |= generic[t]
        if len(used) >= _ZH_ACCOUNTED * size:
            covered += sum((w for _, w in helped), 0.0)
    return _CROSS_SCRIPT_CAP * covered / sum(weights, 0.0)


@functools.lru_cache(maxsize=4096)
def _reading(cjk: NameForm) -> tuple[dict[str, range], dict[str, set[int]], int]:
    """What a Chinese name offers a Latin one, worked out once per name: every run of its syllables joined
    (-> the syllables it spans), its generic words (below), and how many syllables it has."""
    syllables = cjk.ascii.split()
    spans: dict[str, range] = {}
    for i in range(len(syllables)):
        for j in range(i + 1, len(syllables) + 1):
            spans.setdefault("".join(syllables[i:j]), range(i, j))
    return spans, _generic_words(cjk, len(syllables)), len(syllables)


def _generic_words(cjk: NameForm, syllables: int) -> dict[str, set[int]]:
    """English word -> the syllables of the Chinese core it stands for (none for a function word, or a legal
    form the core left out). Empty when the core's characters do not line up one to one with its ``syllables``
    (then nothing is credited)."""
    units = _UNITS.findall(cjk.core)
    if len(units) != syllables:
        return {}
    text = "".join(u if len(u) == 1 else "\0" for u in units)  # one character per syllable
    out: dict[str, set[int]] = {w: set() for w in _FUNCTION_WORDS}
    for zh, words in _ZH_GENERIC.items():
        if zh not in cjk.normalised:
            continue
        spans: set[int] = set()  # none when it is a legal form the core left out (集团, 分公司)
        at = text.find(zh)
        while at >= 0:
            spans.update(range(at, at + len(zh)))
            at = text.find(zh, at + 1)
        for word in words:
            out.setdefault(word, set()).update(spans)
    return out


def name_score(a: NameForm, b: NameForm) -> tuple[float, str]:
    value, how = _name_value(a, b)
    return value, _name_reason(a, b, how)


def _name_value(a: NameForm, b: NameForm) -> tuple[float, str]:
    """``name_score``'s value, and how it was reached (the reason is written only for the best pair of a
    candidate's names: writing it for every pair was a third of scoring's time)."""
    if a.core == b.core:
        return 1.0, "="
    if a.script == "cjk" and b.script == "cjk":
        return _cjk_score(a.core, b.core), "cjk"
    if a.script == "cjk" or b.script == "cjk":
        cjk, latin = (a, b) if a.script == "cjk" else (b, a)
        return _cross_script(cjk, latin), "transliterated"
    tokens_a = a.ascii.split() if a.script == "other" or b.script == "other" else a.tokens
    tokens_b = b.ascii.split() if a.script == "other" or b.script == "other" else b.tokens
    tokens_a, tokens_b = _rejoin(tokens_a, tokens_b), _rejoin(tokens_b, tokens_a)
    value, more = _token_score(tokens_a, tokens_b)
    if more is not None:
        return _ONE_WORD_MORE, more
    return value, "~"


def _name_reason(a: NameForm, b: NameForm, how: str) -> str:
    if how == "=":
        return f"name: {a.original!r} = {b.original!r}"
    if how == "cjk":
        return f"name (Chinese): {a.original!r} ~ {b.original!r}"
    if how == "transliterated":
        return f"name (transliterated): {a.original!r} ~ {b.original!r}"
    if how.startswith("+"):
        return f"name: every word of {a.original!r} is in {b.original!r}, which has one more ({how[1:]})"
    if how.startswith("-"):
        return f"name: every word of {b.original!r} is in {a.original!r}, which has one more ({how[1:]})"
    return f"name: {a.original!r} ~ {b.original!r}"


def _may_match(token: str, other: str) -> bool:
    """False only where ``_token_sim`` is surely below _TOKEN_MATCH: every way up to it (equal, a swap or a
    one-letter vowel change, sounding alike) needs an Indel ratio of 70 or more, except a shared stem of seven
    letters (Metallurgical / Metallurgy), two transliterations that fold to one spelling, and two words of one
    country (Lebanon / Lebanese). (A plural needs no test of its own: a word of four letters or more and its
    plural have an Indel ratio of 88 or more.)"""
    return (
        token == other
        or (len(token) >= 7 and len(other) >= 7 and token[:7] == other[:7])
        or fuzz.ratio(token, other, score_cutoff=70) >= 70
        or fold(token) == fold(other)
        or (country_of(token) is not None and country_of(token) == country_of(other))
    )


def _token_bound(a: Sequence[str], b: Sequence[str]) -> float:
    """At least ``_token_score(a, b)``: every word of ``a`` that may match counts in full with its heaviest
    possible partner, over the weights no unmatched legal-form word can take away."""
    total = sum((token_weight(t) for t in a if not is_legal_word(t)), 0.0) + sum(
        (token_weight(t) for t in b if not is_legal_word(t)), 0.0
    )
    if total == 0:
        return 1.0
    matched = 0.0
    unpartnered = False
    for token in a:
        partners = [token_weight(o) for o in b if _may_match(token, o)]
        if partners:
            matched += token_weight(token) + max(partners)
        elif not is_legal_word(token) and token not in _FILLERS:
            unpartnered = True
    named = sum(1 for t in a if not is_legal_word(t))
    return _with_one_word_more(min(1.0, matched / total), named, unpartnered, b, a)


def _with_one_word_more(
    bound: float, named: int, unpartnered: bool, listed: Sequence[str], watched: Collection[str]
) -> float:
    """The bound raised to what ``_token_score`` gives a name with one word more: the listed one (every word
    of the watched name but legal forms and fillers may match, ``named`` of them being no legal form, two at
    least; whether they equal their partners is not known here) or the watched one (``_inside``: ``watched``
    holds the watched name's words)."""
    if bound >= _ONE_WORD_MORE:
        return bound
    if not unpartnered and named >= 2:
        return _ONE_WORD_MORE
    return _ONE_WORD_MORE if _inside(listed, watched) else bound


def _inside(listed: Iterable[str], watched: Collection[str]) -> bool:
    """Whether ``_token_score`` may take a watched name with one word more than ``listed``: every listed word
    but legal forms and fillers is a watched word, and enough of them are distinctive (counted as there).
    Most pairs fail at their first listed word, before any word is weighed."""
    distinctive = 0
    for t in listed:
        if t not in watched and t not in _FILLERS and not is_legal_word(t):
            return False
        distinctive += token_weight(t) == 1.0 and not is_legal_word(t)
    return distinctive >= _MIRROR_WORDS


def name_bound(a: NameForm, b: NameForm) -> float:
    """At least ``name_score(a, b)``, for a fraction of its cost (Chinese names: no bound, 1.0)."""
    if _unbounded(a, b):
        return 1.0
    split = _split(a, b)
    tokens_a = a.ascii.split() if split else a.tokens
    tokens_b = b.ascii.split() if split else b.tokens
    if not tokens_a or not tokens_b:
        return 0.0
    return _token_bound(_rejoin(tokens_a, tokens_b), _rejoin(tokens_b, tokens_a))


def score_bound(
    watch_names: Iterable[NameForm],
    entry_names: Sequence[NameForm],
    watch_ids: Iterable[tuple[str, str]],
    entry_ids: Iterable[tuple[str, str]],
) -> float:
    """At least what ``score`` gives (its penalties only lower it): a candidate whose bound is under the
    threshold cannot alert and is not scored (tests/streams/test_matching_quality.py checks the bound against
    the score on every pair the matching evaluation scores). The definition; ``EntryBound`` is how
    match_change computes it for a change's many candidates."""
    if set(watch_ids) & set(entry_ids):
        return 1.0
    return max((name_bound(w, e) for w in watch_names for e in entry_names), default=0.0)


@dataclass(frozen=True, slots=True)
class _Words:
    """A name's words as ``name_bound`` weighs them: the words, their set, each adjacent pair joined (what
    ``_rejoin`` may make of them), and their weights past legal-form words; per word its weight and whether
    it may go unpartnered (a legal-form word or a filler), how many words are no legal form, and per word
    its folded spelling and country (``_may_match``'s ways past the Indel ratio): worked out once per name,
    the bounds ask for them for every candidate."""

    tokens: list[str]
    whole: frozenset[str]
    concats: frozenset[str]
    total: float
    weighed: list[tuple[str, float, bool]]
    named: int
    keys: list[tuple[str, str | None]]


@functools.lru_cache(maxsize=1 << 17)
def _words(text: str) -> _Words:
    tokens = text.split()
    return _Words(
        tokens, frozenset(tokens), frozenset(x + y for x, y in itertools.pairwise(tokens)),
        sum((token_weight(t) for t in tokens if not is_legal_word(t)), 0.0),
        [(t, token_weight(t), is_legal_word(t) or t in _FILLERS) for t in tokens],
        sum(1 for t in tokens if not is_legal_word(t)), [(fold(t), country_of(t)) for t in tokens],
    )  # fmt: skip


def _pair_words(a: NameForm, b: NameForm) -> tuple[_Words, _Words, bool] | float:
    """A watched and a listed name's words as ``name_bound`` weighs them (and whether their ASCII forms were
    split), or the bound itself where no partner search is needed: 1.0 for equal cores, a Chinese name or no
    weight at all, 0.0 for a name without words, ``_token_bound`` where a pair of words is written as one on
    the other side (``_rejoin`` changes the words; rare)."""
    if _unbounded(a, b):
        return 1.0
    split = _split(a, b)
    watch, entry = _words(a.ascii if split else a.core), _words(b.ascii if split else b.core)
    paired = _paired(watch, entry)
    return (watch, entry, split) if paired is None else paired


def _unbounded(a: NameForm, b: NameForm) -> bool:
    """Equal cores or a Chinese name: a bound of 1.0, no words weighed."""
    return a.core == b.core or a.script == "cjk" or b.script == "cjk"


def _split(a: NameForm, b: NameForm) -> bool:
    """Whether two names are compared by their ASCII forms' words (a name in another script)."""
    return a.script == "other" or b.script == "other"


def _paired(watch: _Words, entry: _Words) -> float | None:
    """``_pair_words`` past the names' cores and scripts: the bound where no partner search is needed, None
    where it is."""
    if not watch.tokens or not entry.tokens:
        return 0.0
    if not (watch.whole.isdisjoint(entry.concats) and entry.whole.isdisjoint(watch.concats)):
        return _token_bound(_rejoin(watch.tokens, entry.tokens), _rejoin(entry.tokens, watch.tokens))
    if watch.total + entry.total == 0:
        return 1.0
    return None


class _MayMatch:
    """``_may_match`` against a fixed list of words, for one word at a time: the Indel ratio per word, and its
    ways past the ratio (a shared seven-letter stem, one folded spelling, one country) as lookups built once,
    so a word is folded and looked up once rather than once per pair."""

    __slots__ = ("by_country", "by_fold", "by_stem", "words")

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(words)
        self.by_stem: dict[str, list[int]] = {}
        self.by_fold: dict[str, list[int]] = {}
        self.by_country: dict[str, list[int]] = {}
        for i, t in enumerate(self.words):
            if len(t) >= 7:
                self.by_stem.setdefault(t[:7], []).append(i)
            self.by_fold.setdefault(fold(t), []).append(i)
            if (country := country_of(t)) is not None:
                self.by_country.setdefault(country, []).append(i)

    def positions(self, token: str) -> set[int]:
        """Where the words ``_may_match`` pairs with ``token`` stand."""
        close = {i for i, t in enumerate(self.words) if fuzz.ratio(t, token, score_cutoff=70)}
        close.update(self.past_ratio(token, fold(token), country_of(token)))
        return close

    def past_ratio(self, token: str, folded: str, country: str | None) -> list[int]:
        """Where the words ``_may_match`` pairs with ``token`` whatever their Indel ratio stand (``folded``
        and ``country``: the token's, worked out by the caller; a position may come twice)."""
        out: list[int] = []
        if len(token) >= 7 and (stem := self.by_stem.get(token[:7])):
            out += stem
        if same := self.by_fold.get(folded):
            out += same
        if country is not None and (same := self.by_country.get(country)):
            out += same
        return out


class _EntryWords:
    """One entry name's words, with each watched word's heaviest possible partner among them, worked out
    once per change however many candidates carry that word."""

    __slots__ = ("may", "partners", "pending", "weights", "words")

    def __init__(self, words: _Words) -> None:
        self.words = words
        self.weights = [w for _, w, _ in words.weighed]
        self.may = _MayMatch(words.tokens)
        self.partners: dict[str, float] = {}  # watched word -> heaviest partner's weight, -1.0 for none
        self.pending: dict[str, tuple[str, str | None]] = {}  # watched words to find partners for (``fill``)

    def fill(self) -> None:
        """Find the partners of the ``pending`` watched words (each with its folded spelling and country) at
        once: one rapidfuzz call per entry word over all of them, in place of one call per pair."""
        choices = list(self.pending)
        best = dict.fromkeys(choices, -1.0)
        weights = self.weights
        for i, word in enumerate(self.words.tokens):
            weight = weights[i]
            for token, _, _ in process.extract(
                word, choices, scorer=fuzz.ratio, processor=None, score_cutoff=70, limit=None
            ):
                if best[token] < weight:
                    best[token] = weight
        for token, (folded, country) in self.pending.items():
            for i in self.may.past_ratio(token, folded, country):
                if best[token] < weights[i]:
                    best[token] = weights[i]
        self.partners.update(best)
        self.pending.clear()


class EntryBound:
    """``score_bound`` of one list entry against many candidates, equal to it for every one (tests/streams/
    test_matching_quality.py checks it on every pair of the evaluation), at a fraction of its cost: a
    change's candidates share words, whose partners among the entry's words are looked for once per change
    (``bounds``: for all candidates at once), and a watched name's words are split and weighed once (cached),
    not once per change."""

    def __init__(self, entry_names: Sequence[NameForm], entry_ids: Iterable[tuple[str, str]]) -> None:
        self._names = list(entry_names)
        self._ids = set(entry_ids)
        self._words: dict[int, _EntryWords] = {}  # by the entry name's position, twice, plus one if split

    def bound(self, watch_names: Iterable[NameForm], watch_ids: Iterable[tuple[str, str]]) -> float:
        return self.bounds([(list(watch_names), watch_ids)])[0]

    def bounds(self, watches: Iterable[tuple[Sequence[NameForm], Iterable[tuple[str, str]]]]) -> list[float]:
        """``bound`` of each watch (its names and identifiers); the words no earlier call met are looked for
        together, before any bound is taken. (``_pair_words`` written out: the entry's words are looked up
        once per change, not once per candidate.)"""
        pairs: list[list[float | tuple[_Words, _EntryWords]]] = []
        for names, ids in watches:
            if self._ids and not self._ids.isdisjoint(ids):
                pairs.append([1.0])
                continue
            found: list[float | tuple[_Words, _EntryWords]] = []
            for a in names:
                for i, b in enumerate(self._names):
                    if _unbounded(a, b):
                        found.append(1.0)
                        continue
                    split = _split(a, b)
                    entry = self._words.get(2 * i + split)
                    if entry is None:
                        entry = self._words[2 * i + split] = _EntryWords(_words(b.ascii if split else b.core))
                    watch = _words(a.ascii if split else a.core)
                    paired = _paired(watch, entry.words)
                    if paired is not None:
                        found.append(paired)
                        continue
                    tokens, partners = watch.tokens, entry.partners
                    for j in range(len(tokens)):
                        if tokens[j] not in partners:
                            entry.pending[tokens[j]] = watch.keys[j]
                    found.append((watch, entry))
            pairs.append(found)
        for entry in self._words.values():
            if entry.pending:
                entry.fill()
        out: list[float] = []
        for found in pairs:
            best = 0.0
            for p in found:
                value = p if isinstance(p, float) else _bound(p[0], p[1])
                if value > best:
                    best = value
            out.append(best)
        return out


def _bound(watch: _Words, entry: _EntryWords) -> float:
    """``_token_bound(watch.tokens, entry.words.tokens)``, summed in the same order (the same float), every
    watched word's partner found already."""
    words = entry.words
    total = watch.total + words.total
    matched = 0.0
    unpartnered = False
    for token, weight, loose in watch.weighed:
        partner = entry.partners[token]
        if partner >= 0.0:
            matched += weight + partner
        elif not loose:
            unpartnered = True
    return _with_one_word_more(min(1.0, matched / total), watch.named, unpartnered, words.tokens, watch.whole)


class WatchBound:
    """``score_bound`` of one watched company against many list entries (a screen's candidates), equal to it
    for every one (tests/streams/test_matching_quality.py), at a fraction of its cost: whether a watched word
    may match a listed word is worked out once per screen however many candidates carry that listed word."""

    def __init__(self, watch_names: Sequence[NameForm], watch_ids: Iterable[tuple[str, str]]) -> None:
        self._names = list(watch_names)
        self._ids = set(watch_ids)
        # every word the watched names may be split into, either way (core or ASCII form); a Chinese name's
        # bound is 1.0 without its words
        self._may_match = _MayMatch(list(dict.fromkeys([
            t for a in self._names if a.script != "cjk" for text in (a.core, a.ascii) for t in _words(text).tokens
        ])))  # fmt: skip
        self._may: dict[str, frozenset[str]] = {}  # listed word -> the watched words that may match it

    def bound(self, entry_names: Iterable[NameForm], entry_ids: Iterable[tuple[str, str]]) -> float:
        if self._ids and not self._ids.isdisjoint(entry_ids):
            return 1.0
        best = 0.0
        entry_list = list(entry_names)
        for a in self._names:
            for b in entry_list:
                best = max(best, self._name_bound(a, b))
        return best

    def _name_bound(self, a: NameForm, b: NameForm) -> float:
        pair = _pair_words(a, b)
        if isinstance(pair, float):
            return pair
        watch, entry, _ = pair
        # ``_token_bound(watch.tokens, entry.tokens)``, summed in the same order (the same float)
        total = watch.total + entry.total
        partner: dict[str, float] = {}  # watched word -> its heaviest possible partner's weight
        for other, weight, _ in entry.weighed:
            may = self._may.get(other)
            if may is None:
                found = self._may_match.positions(other)
                may = self._may[other] = frozenset(map(self._may_match.words.__getitem__, found))
            for token in may:
                if partner.get(token, -1.0) < weight:
                    partner[token] = weight
        matched = 0.0
        unpartnered = False
        for token, weight, loose in watch.weighed:
            best = partner.get(token)
            if best is not None:
                matched += weight + best
            elif not loose:
                unpartnered = True
        return _with_one_word_more(min(1.0, matched / total), watch.named, unpartnered, entry.tokens, watch.whole)


def score(
    watch_names: Iterable[NameForm],
    entry_names: Iterable[NameForm],
    watch_ids: Iterable[tuple[str, str]],
    entry_ids: Iterable[tuple[str, str]],
    watch_country: str | None,
    entry_countries: Sequence[str],
    entry_type: str = "unknown",
) -> Score:
    watch_ids, entry_ids = set(watch_ids), set(entry_ids)
    shared_ids = watch_ids & entry_ids
    if shared_ids:
        scheme, number = sorted(shared_ids)[0]
        return Score(1.0, (f"identifier: {scheme} {number} equal",))
    entry_schemes = {scheme for scheme, _ in entry_ids}
    conflicts = sorted((scheme, number) for scheme, number in watch_ids if scheme in entry_schemes)
    best: float = 0.0
    best_pair: tuple[NameForm, NameForm, str] | None = None
    entry_list = list(entry_names)
    for w in watch_names:
        for e in entry_list:
            value, how = _name_value(w, e)
            if value > best:
                best, best_pair = value, (w, e, how)
    reasons = [f"{_name_reason(*best_pair)} ({best:.2f})"] if best_pair else []
    # Watched parties are companies: a ship, an aircraft or a person of that name is less likely them.
    if best and entry_type in _TYPE_PENALTY:
        best *= _TYPE_PENALTY[entry_type]
        reasons.append(f"listed as {entry_type}")
    if best and conflicts:
        scheme, number = conflicts[0]
        listed = "/".join(sorted(v for s, v in entry_ids if s == scheme))
        best *= _ID_CONFLICT
        reasons.append(f"identifier conflict: watched {scheme} {number}, listed {listed}")
    if best and watch_country and entry_countries and watch_country.upper() not in entry_countries:
        best *= _COUNTRY_PENALTY
        reasons.append(f"country conflict: watched {watch_country.upper()}, listed {'/'.join(entry_countries)}")
    return Score(round(best, 4), tuple(reasons))
