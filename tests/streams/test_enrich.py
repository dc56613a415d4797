from __future__ import annotations

import random
import re
import unicodedata

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from contracts.models import Identifier
from streams.enrich.change import enrich
from streams.enrich.countries import enrich_countries
from streams.enrich.identifiers import _VALIDATORS, check, compact_uscc
from streams.enrich.names import _DOTTED, _join_letters, name_form, normalise, strip_legal_forms, to_simplified
from streams.match.keys import name_keys
from tests.factories import change, entry


def test_uscc_validated_and_region_decoded() -> None:
    good = check(Identifier(scheme="uscc", value="9144 0300 1922 0382 16"))
    assert (good.value, good.valid, good.detail) == ("914403001922038216", True, "广东省 深圳市")
    bad = check(Identifier(scheme="uscc", value="91440300192203821X"))
    assert bad.valid is False
    assert bad.detail


def test_the_compact_uscc_check_agrees_with_python_stdnum() -> None:
    # python-stdnum is the reference: random numbers (1 in 31 has the right check character by chance), the same
    # with the check character python-stdnum computes, and each of those with one character changed.
    rng = random.Random(31)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    drawn = ["".join(rng.choices("0123456789", k=8) + rng.choices(alphabet, k=10)) for _ in range(20_000)]
    right = [n[:17] + uscc.calc_check_digit(n[:17]) for n in drawn[:5_000]]
    changed = [n[:i] + rng.choice(alphabet.replace(n[i], "")) + n[i + 1 :] for n in right for i in [rng.randrange(18)]]
    letters = ["".join(rng.choices("0123456789", k=8) + rng.choices(alphabet + "IOSVZ", k=10)) for _ in range(2_000)]
    odd = ["91440300192203821I", "9144030019220I8216", "9144030019220382", "91440300 192203 8216"]
    odd += ["9144030019220382160", "A14403001922038216", "914403001922038216"]
    numbers = drawn + right + changed + letters + odd
    verdicts = [compact_uscc(n) for n in numbers]
    assert [v is True for v in verdicts] == [uscc.is_valid(n) and uscc.compact(n) == n for n in numbers]
    assert sum(v is True for v in verdicts[: len(drawn)]) > 400
    assert all(v is True for v in verdicts[len(drawn) : len(drawn) + len(right)])
    assert sum(v is None for v in verdicts) > 1_000
    # what ``check`` says of each equals python-stdnum's verdict, form and message
    for n in rng.sample(numbers, 3_000) + odd:
        checked = check(Identifier(scheme="uscc", value=n))
        try:
            expected = (True, uscc.validate(n), None)
        except ValidationError as exc:
            expected = (False, uscc.compact(n), str(exc))
        assert (checked.valid, checked.value, None if checked.valid else checked.detail) == expected
    assert _VALIDATORS["uscc"] is uscc.validate


def test_lei_and_unknown_schemes() -> None:
    assert check(Identifier(scheme="lei", value="5493001kjtiigc8y1r12")).valid is True
    assert check(Identifier(scheme="lei", value="5493001KJTIIGC8Y1R13")).valid is False
    assert check(Identifier(scheme="registration", value="123 456")).value == "123456"


def test_names_fold_width_script_and_legal_forms() -> None:
    assert name_form("ＡＣＭＥ　Ｔｒａｄｉｎｇ　ＧｍｂＨ").core == "acme trading"
    assert name_form("華為技術股份有限公司").core == "华为技术"
    assert name_form("Huawei Technologies Company Limited").core == "huawei technologies"
    assert name_form("ООО САМПЛ СТАНКИ").ascii == "sampl stanki"
    assert name_form("华为").ascii == "hua wei"


def test_traditional_chinese_folds_by_phrase_not_by_character() -> None:
    # OpenCC converts by phrase: 乾 stays in the name 乾隆 and is 干 in 乾燥 (dry); 髮 (hair) and 發 (issue)
    # both become 发. A character table alone gets some of these wrong.
    assert to_simplified("乾隆貿易有限公司") == "乾隆贸易有限公司"
    assert to_simplified("乾燥設備廠") == "干燥设备厂"
    assert to_simplified("頭髮護理 發展集團") == "头发护理 发展集团"
    assert to_simplified("臺灣積體電路製造") == "台湾积体电路制造"


def test_latin_diacritics_fold_to_ascii_and_other_scripts_stay() -> None:
    plain, marked = name_form("Societe Tunisie Travaux"), name_form("Société Tunisie Travaux")
    assert marked.core == plain.core == "societe tunisie travaux"
    assert name_keys(marked) == name_keys(plain)  # one name, one set of index keys
    assert name_form("Genç İnşaat Limited Şirketi").core == "genc insaat"
    assert name_form("ООО Ромашка").script == "other"  # Cyrillic keeps its letters; its ASCII form is apart


def test_private_joint_stock_company_is_a_legal_form_and_private_elsewhere_a_word() -> None:
    assert name_form("PRIVATE JOINT-STOCK COMPANY MAKO HOLDING").core == "mako holding"
    assert name_form("Private Bank of Omegavolt").core == "private bank of omegavolt"
    assert name_form("Lobaye Invest SARLU").core == name_form("LOBAYE INVEST LDA").core == "lobaye investment"


def test_countries_to_iso() -> None:
    assert enrich_countries(["People's Republic of China", "Russia", "中国", "Atlantis"]) == (
        ["CN", "RU"],
        ["Atlantis"],
    )


def test_list_metadata_travels_from_the_source() -> None:
    from contracts.models import ChangeKind
    from monitor.sources import registry
    from streams.enrich.change import enrich
    from tests.factories import change

    for source in registry().values():  # every built-in list says whose it is
        assert source.info.jurisdiction, source.info.id
    listed = change(ChangeKind.ADDED)
    listed.list_kind, listed.publisher, listed.jurisdiction = "sanction", "US Treasury OFAC", "US"
    e = enrich(listed).enrichment
    assert (e.jurisdiction, e.list_colour, e.authority) == ("US", "black", "US Treasury OFAC")
    red = change(ChangeKind.ADDED)
    red.list_kind, red.publisher = "red list", "GACC"
    assert (enrich(red).enrichment.list_colour, enrich(red).enrichment.authority) == ("red", "GACC")


def test_enrichment_keeps_going_and_records_problems() -> None:
    enriched = enrich(change(after=entry(name="X CO", countries=["Atlantis", "China"])))
    assert enriched.enrichment.countries == ["CN"]
    assert enriched.enrichment.errors == ["country not recognised: 'Atlantis'"]


def _normalised_by_patterns(text: str) -> str:
    """``normalise`` as it was before its ASCII shortcut (patterns only): what the shortcut must give."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), folded)
    words = re.sub(r"[^\w]+", " ", re.sub("['`]", "", folded)).replace("_", " ").split()
    return " ".join(_join_letters(words))  # shared by both ways


def test_an_ascii_name_normalises_as_the_patterns_do() -> None:
    rng = random.Random(25)
    pieces = [*"abcXYZ019 .'`_-&/,()\t\x1f", "and", "A.B.C.", "s.a.", " de ", "Co.", "Ltd", "private", "E", "y "]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(5000)]
    for text in texts:
        assert normalise(text) == _normalised_by_patterns(text), text


def test_legal_forms_go_whether_or_not_their_patterns_are_searched() -> None:
    assert strip_legal_forms("acme sa de cv", "latin") == "acme"
    assert strip_legal_forms("acme s de rl de cv", "latin") == "acme"
    assert strip_legal_forms("acme sc de rl", "latin") == "acme"  # the chain rigour leaves
    assert strip_legal_forms("acme spr de ri", "latin") == "acme"
    assert strip_legal_forms("delta private joint stock company", "latin") == "delta"
    assert strip_legal_forms("private bank of delta", "latin") == "private bank of delta"
    assert strip_legal_forms("de beers", "latin") == "de beers"
