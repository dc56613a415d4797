"""Name forms for matching, across scripts.

``name_form(text)`` gives: the normalised name (NFKC, so full-width folds; case-folded; traditional
Chinese folded to simplified with OpenCC; punctuation to spaces), the *core* name (legal forms removed:
rigour's org-type data for Latin and Cyrillic forms such as Co., Ltd. / Company Limited / GmbH / OOO /
S.A.S., plus the Chinese forms below, which rigour's data does not cover), its script, and an ASCII
transliteration (rigour / ICU: pinyin for Chinese, Latin for Cyrillic) for cross-script candidates.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from typing import NamedTuple

from opencc import OpenCC
from rigour.names import remove_org_types
from rigour.text import ascii_text

# Chinese legal forms, longest first (有限责任公司 before 有限公司 before 公司). rigour's org-type data
# (v2.6) leaves them in place, so they are listed here.
_ZH_LEGAL_FORMS = (
    "股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团有限公司", "总公司", "分公司", "公司",
    "株式会社", "有限合伙", "合伙企业", "集团", "厂",
)  # fmt: skip
_ZH_FORMS_RE = re.compile("|".join(sorted(map(re.escape, _ZH_LEGAL_FORMS), key=len, reverse=True)))
# rigour removes one legal-form phrase; chains such as "Company Limited" or "Corp." leave a generic word
# at the end, which is dropped here, repeatedly.
_TRAILING_FORMS = frozenset(
    """company co corp corporation limited ltd inc incorporated llc plc sa ag gmbh kg pte pvt private sl srl spa
    bv nv oy oyj ab as jsc ojsc pjsc cjsc ooo zao oao pt tbk bhd sdn doo dd eood ood sal sarl sas sab ca ltda
    eireli eirl cv rl ssa ssk sirketi anonim
    sarlu lda ead ad zrt sro kft""".split()  # noqa: SIM905
)
# rigour knows public, open and closed joint-stock companies, not private ones (Ukraine's PrJSC), whose
# "private" would be left as a word of the name.
_PRIVATE_JSC = re.compile(r"\bprivate (?=joint stock company\b)")
# Latin American chains written without dots ("sa de cv", "s de rl de cv"), which rigour removes only in part.
_DE_CHAIN = re.compile(r"(?:\s+(?:sa|sab|sapi|s|sc|spr))?(?:\s+de\s+(?:rl|ri|cv))+$")
# Dotted initials and legal forms ("a.b.c.", "s.a.", "b.v", "d.o.o."): the dots go, the letters join, so
# "S.A. de C.V." and "SA de CV", "A.B.C. Trading" and "ABC Trading" give the same words.
_DOTTED = re.compile(r"(?<!\w)(?:\w\.){1,}\w(?:\.|(?!\w))")
# Abbreviations customers and lists write for the same word: the word in its long form.
_ABBREVIATIONS = {
    "intl": "international", "int'l": "international", "corp": "corporation", "cia": "compania",
    "companhia": "compania", "cie": "compagnie", "mfg": "manufacturing", "bros": "brothers",
    "natl": "national", "assn": "association", "assoc": "association", "eng": "engineering", "engg": "engineering",
    "tech": "technology", "techs": "technologies", "svcs": "services", "svc": "service", "inds": "industries",
    "ind": "industrial", "dev": "development", "devt": "development", "constr": "construction",
    "mgmt": "management", "mgt": "management", "trdg": "trading", "est": "establishment", "dept": "department",
    "centre": "center", "co": "company", "ltd": "limited", "inc": "incorporated", "grp": "group",
    "hldgs": "holdings", "hldg": "holding", "invest": "investment", "invt": "investment", "univ": "university",
    "trd": "trading", "jv": "joint venture", "jvc": "joint venture company",
    # "I/E" (its letters joined): Chinese trading companies' short form of "Import and Export".
    "ie": "import export",
    # Ordinals as lists write them either way ("First Branch" / "Branch 1", "2nd Directorate").
    "first": "1", "1st": "1", "second": "2", "2nd": "2", "third": "3", "3rd": "3", "fourth": "4", "4th": "4",
    "fifth": "5", "5th": "5", "sixth": "6", "6th": "6", "seventh": "7", "7th": "7", "eighth": "8", "8th": "8",
    "ninth": "9", "9th": "9", "tenth": "10", "10th": "10",
}  # fmt: skip
# Conjunctions carry nothing for identity and are written as "&", "and", "y", "e", "et", "und".
_CONJUNCTIONS = frozenset({"and", "y", "et", "und", "e"})
_WORD_CONJUNCTIONS = frozenset(c for c in _CONJUNCTIONS if len(c) > 1)
# Articles and legal forms written before the name ("The …", Indonesian "PT …", Russian "OOO …").
_LEADING_FORMS = frozenset(
    "the pt ooo oao zao pao ao tov llc jsc compania compagnie companhia cia cie".split()  # noqa: SIM905
)
# Apostrophes join what they split ("Jema'ah", "Baha'i", "Jama`at").
_APOSTROPHES = re.compile("['`\u2018\u2019\u02bc\u02bb]")
_HAN = r"\u3400-\u9fff\uf900-\ufaff"
_CJK = re.compile(rf"[{_HAN}]")
_SCRIPT_EDGE = re.compile(rf"(?<=[{_HAN}])(?=[a-z0-9])|(?<=[a-z0-9])(?=[{_HAN}])")
_NON_WORD = re.compile(r"[^\w]+")


class NameForm(NamedTuple):
    """A name in the forms the matcher compares. A named tuple, not a frozen dataclass: a screen builds one
    per candidate name (about 170 a query), and a frozen dataclass's constructor cost 1.6 µs against 0.6."""

    original: str
    normalised: str
    core: str
    script: str  # "cjk", "latin" or "other"
    ascii: str

    @property
    def tokens(self) -> list[str]:
        return self.core.split()


@functools.cache
def _t2s() -> OpenCC:
    # OpenCC's own C++ library (the `opencc` binding): about 20x faster per name than the pure-Python
    # reimplementation used before, with the same output on every Chinese name of the real lists.
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def script_of(text: str) -> str:
    if text.isascii():  # most names, at once
        return "latin"
    if _CJK.search(text):
        return "cjk"
    letters = [ch for ch in text if ch.isalpha()]
    if letters and all(unicodedata.name(ch, "").startswith("LATIN") for ch in letters):
        return "latin"
    return "other" if letters else "latin"


def normalise(text: str) -> str:
    """NFKC (full-width and compatibility forms fold), case-fold, simplified Chinese, no punctuation."""
    if text.isascii():
        # Most names: NFKC leaves ASCII as it is, case-folding is lowering, and one table does what the
        # apostrophe and non-word patterns below do (compiled, 6.3 -> 2.5-3.1 µs a name; tests/streams/test_enrich.py).
        folded = text.lower()
        if "." in folded:
            folded = _DOTTED.sub(_undot, folded)
        return " ".join(_join_letters(folded.translate(_ASCII_WORDS).split()))
    folded = unicodedata.normalize("NFKC", text).casefold()
    if _CJK.search(folded):
        folded = to_simplified(folded)
    elif not folded.isascii():
        folded = _fold_marked(folded)
    folded = _DOTTED.sub(_undot, folded)
    words = _NON_WORD.sub(" ", _APOSTROPHES.sub("", folded)).replace("_", " ").split()
    return " ".join(_join_letters(words))


def _undot(m: re.Match[str]) -> str:
    return m.group(0).replace(".", "")


# ASCII after lowering: apostrophes go, every character but a letter or digit is a space (``_NON_WORD`` and
# the underscore, as ``normalise`` treats other text).
_KEPT = frozenset(string.ascii_lowercase + string.digits)
_ASCII_WORDS = {c: (None if chr(c) in "'`" else " ") for c in range(128) if chr(c) not in _KEPT}


# Latin letters with diacritics and the other non-ASCII Latin letters (Latin-1 Supplement without × and ÷,
# Latin Extended-A and -B, IPA extensions: Azerbaijani ə; Latin Extended Additional), and combining marks.
_LATIN_MARKED = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u1e00-\u1eff\u0300-\u036f]+")


def _fold_marked(text: str) -> str:
    """Latin letters to ASCII ("Société Générale" -> "societe generale", "Müller" -> "muller", "İnşaat" ->
    "insaat"): ERP exports and lists write one name with and without its accents. Other scripts stay (their
    ASCII form is made apart)."""
    return _LATIN_MARKED.sub(lambda m: ascii_text(m.group(0)), text)


def _join_letters(words: list[str]) -> list[str]:
    """Runs of single letters are one word ("a b c trading" -> "abc trading", "h & h" and "h and h" -> "hh");
    a lone letter stays a word."""
    out: list[str] = []
    run = ""
    for word in words:
        if word in _WORD_CONJUNCTIONS:
            continue
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        out.append(word)
    if run:
        out.append(run)
    return out


def _repeated_short_form(text: str) -> str:
    """A bracketed short form that repeats the name's own words ("Arladi General Trading (“Arladi”)") or says
    what kind of office it is ("(Branch)") is dropped; other brackets are kept (they may hold another name)."""
    def keep(m: re.Match[str]) -> str:
        inner = set(_NON_WORD.sub(" ", m.group(1).casefold()).split())
        rest = set(_NON_WORD.sub(" ", (text[: m.start()] + text[m.end() :]).casefold()).split())
        return " " if inner and (inner <= rest or inner <= _OFFICE_WORDS) else m.group(0)

    kept = _BRACKETS.sub(keep, text)
    # Another name in brackets ("… (doing business as MUE Group)", "(“EY Kenya”)") is a second name of the
    # party, which lists give as an alias; the name outside the brackets is the one to compare.
    outside = _BRACKETS.sub(" ", kept)
    return outside if len(outside.split()) >= 2 else kept


_BRACKETS = re.compile(r"\(([^()]*)\)")
_OFFICE_WORDS = frozenset({"branch", "subsidiary", "offshore", "office", "representative", "head", "the", "its"})


def strip_legal_forms(normalised: str, script: str) -> str:
    if script == "cjk":
        core = _ZH_FORMS_RE.sub(" ", normalised)
        # Latin words inside a Chinese name (e.g. "brinc无人机公司") go through rigour as well.
        core = remove_org_types(core)
    else:
        core = remove_org_types(_PRIVATE_JSC.sub("", normalised) if "private" in normalised else normalised)
    if "de" in core:  # every match has it: most names skip the search from every position (3.7 µs)
        core = _DE_CHAIN.sub("", core) or core
    words = [_ABBREVIATIONS.get(w, w) for w in core.split() if w not in _CONJUNCTIONS]
    # Lebanese "S.A.L. (Offshore)": the legal form of an offshore company, not part of its name.
    if len(words) > 2 and words[-1] == "offshore" and words[-2] in _TRAILING_FORMS:
        words.pop()
    while len(words) > 1 and words[-1] in _TRAILING_FORMS:
        words.pop()
    while len(words) > 1 and words[0] in _LEADING_FORMS:
        words.pop(0)
    return " ".join(words) or normalised


def latin_words(cjk_core: str) -> list[str]:
    """The Latin words of a Chinese name ("tdk", "imsar" in "美国imsar"): often the party's own name."""
    return [w for w in _SCRIPT_EDGE.sub(" ", cjk_core).split() if w.isascii() and w.isalnum()]


@functools.lru_cache(maxsize=65536)
def name_form(text: str) -> NameForm:
    normalised = normalise(_repeated_short_form(text) if "(" in text else text)
    script = script_of(normalised)
    core = strip_legal_forms(normalised, script)
    # A Latin word inside a Chinese name is a word of its own ("美国imsar" -> "mei guo imsar", not "guoimsar").
    spaced = _SCRIPT_EDGE.sub(" ", core) if script == "cjk" else core
    ascii_form = " ".join(_NON_WORD.sub(" ", ascii_text(spaced).casefold()).split()) if script != "latin" else core
    return NameForm(original=text, normalised=normalised, core=core, script=script, ascii=ascii_form)
