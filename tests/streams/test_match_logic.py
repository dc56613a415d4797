from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts import codec
from contracts.models import Alert, ChangeKind, Identifier, alert_id
from streams.enrich.change import enrich
from streams.enrich.names import name_form
from streams.match.keys import name_keys
from streams.match.logic import KeysetCache, enrichment_keysets, match_change, score_watch
from streams.match.score import DEFAULT_THRESHOLD, EntryBound, WatchBound, name_score, score_bound
from streams.watchlists import WatchEntry
from tests.factories import change, entry
from tests.snapshots import real_changes

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WATCH = WatchEntry(subscriber_id="s1", id="w1", name="Aerocaribbean Airlines")


def test_the_batch_keyset_cache_gives_each_enrichment_its_own_keysets_once() -> None:
    one = enrich(change(after=entry(name="Huawei Technologies Co., Ltd."))).enrichment
    two = enrich(change(after=entry(key="37", name="Zhongxing Telecom Equipment Corp."))).enrichment
    cache = KeysetCache()
    first = cache(one)
    assert first == enrichment_keysets(one)
    assert cache(two) == enrichment_keysets(two) != first
    assert cache(one) is first  # worked out once


def test_one_alert_per_watch_at_or_above_threshold_with_deterministic_id() -> None:
    c = change(ChangeKind.ADDED)
    other = WatchEntry(subscriber_id="s2", id="w2", name="Unrelated Shipping")
    [alert] = match_change(enrich(c), [WATCH, other], {"s1": 0.88, "s2": 0.88}, NOW)
    assert alert.alert_id == alert_id("s1", "w1", c.event_id)
    assert (alert.kind, alert.entry_name, alert.score) == ("added", "AEROCARIBBEAN AIRLINES", 1.0)
    assert alert.reasons
    # built past faust's descriptors: the record its constructor makes from the same fields, in JSON too
    rebuilt = Alert(**{name: getattr(alert, name) for name in Alert._options.fields})
    assert rebuilt == alert
    assert codec.dumps(rebuilt) == codec.dumps(alert)
    assert rebuilt.dumps() == alert.dumps()


def test_baseline_entries_alert_as_already_listed_never_added() -> None:
    [alert] = match_change(enrich(change(ChangeKind.ADDED, baseline=True)), [WATCH], {"s1": 0.88}, NOW)
    assert alert.kind == "already_listed"


def test_subscriber_threshold_applies() -> None:
    c = change(ChangeKind.ADDED, after=entry(name="AEROCARIBBEAN AIRLINES GROUP HOLDINGS"))
    assert match_change(enrich(c), [WATCH], {"s1": 0.99}, NOW) == []


def test_identifier_equality_wins_whatever_the_names() -> None:
    watch = WatchEntry(subscriber_id="s", id="w", name="Totally Different Name", uscc="914403001922038216")
    listed = entry(name="HUAWEI TECHNOLOGIES", identifiers=[Identifier(scheme="uscc", value="914403001922038216")])
    s = score_watch(watch, enrich(change(after=listed)).enrichment)
    assert s.value == 1.0
    assert s.reasons == ("identifier: uscc 914403001922038216 equal",)


def test_country_conflict_penalises() -> None:
    listed = entry(name="ALPHA OMEGA TRADING", countries=["Russia"])
    same = score_watch(WatchEntry(subscriber_id="s", id="w", name="Alpha Omega Trading", country="RU"),
                       enrich(change(after=listed)).enrichment)  # fmt: skip
    other = score_watch(WatchEntry(subscriber_id="s", id="w", name="Alpha Omega Trading", country="DE"),
                        enrich(change(after=listed)).enrichment)  # fmt: skip
    assert same.value == 1.0
    assert other.value < DEFAULT_THRESHOLD
    assert "country conflict" in other.reasons[-1]


@pytest.mark.parametrize(
    ("a", "b", "matches"),
    [
        ("Huawei Technologies Co., Ltd.", "HUAWEI TECHNOLOGIES COMPANY LIMITED", True),
        ("華為技術有限公司", "华为技术有限公司", True),
        ("ＡＣＭＥ　Ｔｒａｄｉｎｇ　ＧｍｂＨ", "ACME Trading GmbH", True),
        ("大疆创新科技有限公司", "深圳市大疆创新科技有限公司", True),
        ("Mohammed Al Rashid Trading", "Muhammad Al-Rashid Trading", True),
        ("Joint Stock Company Nobility", "Nobility JSC", True),
        ("China Telecom Corporation Limited", "China Mobile Limited", False),
        ("Siemens AG", "Siemens Energy AG", False),
        ("Bank Melli Iran", "Bank Mellat", False),
        ("China Railway Tunnel Group", "China Railway Construction Group", False),
        ("Zetaquorp Number1 Logistics", "Zetaquorp Number2 Logistics", False),
        ("1st Construction Branch of Weihai", "2nd Construction Branch of Weihai", False),
        # Dotted and undotted legal forms and initials fold to the same words.
        ("Grupo Rivas, S.A. de C.V.", "Grupo Rivas SA de CV", True),
        ("Constructora Lomas S. de R.L.", "Constructora Lomas S de RL", True),
        ("Cedar Holding S.A.L.", "Cedar Holding SAL", True),
        ("A.B.C. Trading", "ABC Trading", True),
        ("Zeltrion B.V", "Zeltrion BV", True),
        # Abbreviations and conjunctions.
        ("Petrosur Intl Corp", "Petrosur International Corporation", True),
        ("Cia Minera Andaluz", "Compañía Minera Andaluz S.A.", True),
        ("Norvik Science & Tech GmbH", "Norvik Science and Technology GmbH", True),
        # A bracketed short form or office that repeats the name; another name in brackets.
        ("Arladi General Trading Company Ltd. (“Arladi”)", "ARLADI GENERAL TRADING COMPANY LTD.", True),
        ("Marseille Engineering S.A.L. (doing business as MUE Group)", "MARSEILLE ENGINEERING S.A.L.", True),
        # A typing slip is one word; two real words that differ by a swap are two words.
        ("Zealadn Petroleum", "Zealand Petroleum", True),
        ("Sunrise Diary Products", "Sunrise Dairy Products", False),
        ("Untied Shipbuilding Corporation", "United Shipbuilding Corporation", False),
        # Transliteration: a vowel written otherwise, one stem, words written apart; not in pinyin.
        ("Liwa al Thowra", "LIWA AL-THAWRA", True),
        ("Yazd Metallurgical Industries", "YAZD METALLURGY INDUSTRIES", True),
        ("Zhu Hai Zhen Rong Company Limited", "ZHUHAI ZHENRONG COMPANY LIMITED", True),
        ("H and H Metalform GmbH", "H & H METALFORM GMBH", True),
        ("Zhanjiang Port Group", "Zhenjiang Port Group", False),
        # A slip in a common word ("Grop") is that word; another real word is not ("Grip", "Troup").
        ("Omegavolt Zentrix Grop", "OMEGAVOLT ZENTRIX GROUP", True),
        ("Omegavolt Zentrix Intenational", "OMEGAVOLT ZENTRIX INTERNATIONAL", True),
        ("Omegavolt Grip", "OMEGAVOLT GROUP", False),
        # Diacritics written or not (ERP exports are often ASCII only), Azerbaijani ə included.
        ("Karvellé Générale de Surveillance", "KARVELLE GENERALE DE SURVEILLANCE", True),
        ("Zentrix Müller Maschinenbau GmbH", "Zentrix Muller Maschinenbau GmbH", True),
        ("Omegavolt İnşaat Ticaret Anonim Şirketi", "OMEGAVOLT INSAAT TICARET", True),
        ("Interyer Məhdud Məsuliyyətli Cəmiyyəti", "INTERYER MAHDUD MASULIYYATLI CAMIYYATI", True),
        # Ordinals written as words or numbers are one number; two numbers are two entities.
        ("First Branch of the Karvell Court", "BRANCH 1 OF THE KARVELL COURT", True),
        ("2nd Karvell Directorate", "SECOND KARVELL DIRECTORATE", True),
        ("First Branch of the Karvell Court", "BRANCH 2 OF THE KARVELL COURT", False),
        ("Communist Party Relief", "Communication Party Relief", False),
        # The list's name has one distinctive word more than the watched one (two distinctive words on the
        # watched side, or two words equal to theirs); not the reverse, not two more, not a watched name of
        # one distinctive word alone or whose one distinctive word is only alike.
        ("Omegavolt Zentrix Trading", "OMEGAVOLT ZENTRIX KARVELL TRADING", True),
        ("Omegavolt Zentrix Karvell Trading", "OMEGAVOLT ZENTRIX TRADING", False),
        ("Omegavolt Zentrix", "OMEGAVOLT ZENTRIX KARVELL DUNMORE", False),
        ("Omegavolt Trading", "OMEGAVOLT KARVELL TRADING", True),
        ("Omegavolts Trading", "OMEGAVOLT KARVELL TRADING", False),
        ("Omegavolt", "OMEGAVOLT KARVELL", False),
        ("Omegavolt Trading", "OMEGAVOLT TRADING KARVELL DUNMORE", False),
        # Articles and prepositions are no word more ("Lajnat al Dawa" / "Lajnat al Daawa al Islamiyya").
        ("Omegavolt al Zentrix", "OMEGAVOLT AL ZENTRIX AL KARVELL", True),
        ("Omegavolt Zentrix Trading", "OMEGAVOLT ZENTRIX TRADING FOR KARVELL", True),
        # The watched name has one distinctive word more: only against a listed name of three distinctive words
        # or more, each equal to its partner (sister firms share two: "Emma Tel Plus" / "Emma Tel").
        ("Dunmore Omegavolt Zentrix Karvell Company", "OMEGAVOLT ZENTRIX KARVELL COMPANY", True),
        ("Omegavolt Dunmore Zentrix for Karvell", "OMEGAVOLT ZENTRIX KARVELL", True),
        ("Dunmore Omegavolt Zentrix Karvel", "OMEGAVOLT ZENTRIX KARVELL", False),
        ("Dunmore Tarvo Omegavolt Zentrix Karvell", "OMEGAVOLT ZENTRIX KARVELL", False),
        ("Dunmore Omegavolt Zentrix", "OMEGAVOLT ZENTRIX", False),
        # A country and its people's word are one word; a city or a look-alike that countrynames also maps
        # to the country is not.
        ("Iranian Aluminum Company", "IRAN ALUMINUM COMPANY", True),
        ("Lebanese Omegavolt Bank", "LEBANON OMEGAVOLT BANK", True),
        ("Tehran Aluminum Company", "IRAN ALUMINUM COMPANY", False),
        ("Iron Omegavolt Works", "IRAN OMEGAVOLT WORKS", False),
        # Legal forms: SARLU, LDA, Bulgarian AD / EAD, a private joint-stock company.
        ("Lobaye Invest SARLU", "LOBAYE INVEST", True),
        ("Eurogroup Engineering AD", "EUROGROUP ENGINEERING EAD", True),
        ("Private Joint-Stock Company Mako Holding", "MAKO HOLDING", True),
        # Across scripts, a generic company word in Chinese stands for its English word, when the rest of the
        # Chinese name is spelled by the Latin one; not when most of the Chinese name is left over.
        ("华为技术有限公司", "Huawei Technologies Co., Ltd.", True),
        ("威海建设集团股份有限公司城阳分公司", "Chengyang Branch of Weihai Construction Group Co. Ltd.", True),
        ("Jing Branch of Weihai Construction Group Co. Ltd.", "威海建设集团股份有限公司经济技术开发区混凝土分公司", False),
        ("华为技术有限公司", "Huawei Trading", False),
        # Directions, ordinals and trades (ninth session's table), and their wrong neighbours.
        ("龙岩北方精密仪器研究所", "Longyan North Precision Instrument Research Institute", True),
        ("天津第二电子研究所", "Tianjin 2nd Electronics Research Institute", True),
        ("天津第二电子研究所", "Tianjin Third Electronics Research Institute", False),
        ("龙岩北方精密仪器研究所", "Longyan South Precision Instrument Research Institute", False),
        ("漳州东润置业有限公司", "Zhangzhou Dongrun Real Estate Co., Ltd.", True),
    ],
)
def test_name_scores(a: str, b: str, matches: bool) -> None:
    assert (name_score(name_form(a), name_form(b))[0] >= DEFAULT_THRESHOLD) is matches


def test_a_listed_name_with_one_word_more_says_which() -> None:
    value, why = name_score(
        name_form("Omegavolt Zentrix Trading Co., Ltd."), name_form("OMEGAVOLT ZENTRIX KARVELL TRADING CO LTD")
    )
    assert DEFAULT_THRESHOLD <= value < 0.95  # over the default, under a stricter subscriber's threshold
    assert "which has one more (karvell)" in why


def test_a_watched_name_with_one_word_more_says_which() -> None:
    watched, listed = name_form("Dunmore Omegavolt Zentrix Karvell"), name_form("OMEGAVOLT ZENTRIX KARVELL LTD")
    value, why = name_score(watched, listed)
    assert DEFAULT_THRESHOLD <= value < 0.95
    assert why == (
        "name: every word of 'OMEGAVOLT ZENTRIX KARVELL LTD' is in 'Dunmore Omegavolt Zentrix Karvell', which has"
        " one more (dunmore)"
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Dunmore Omegavolt Zentrix Karvell", "OMEGAVOLT ZENTRIX KARVELL LTD"),
        ("Omegavolt Dunmore Zentrix for Karvell", "OMEGAVOLT ZENTRIX KARVELL"),
        ("Omegavolt al Zentrix", "OMEGAVOLT AL ZENTRIX AL KARVELL"),
        ("Omegavolt of Zentrix", "OMEGAVOLT ZENTRIX FOR KARVELL"),
    ],
)
def test_every_bound_rises_with_a_word_more_either_way(a: str, b: str) -> None:
    # A bound under the score would skip a candidate that alerts; the three are computed apart.
    watched, listed = [name_form(a)], [name_form(b)]
    value = name_score(watched[0], listed[0])[0]
    assert value >= DEFAULT_THRESHOLD
    bound = score_bound(watched, listed, [], [])
    assert bound >= value
    assert EntryBound(listed, []).bound(watched, []) == bound == WatchBound(watched, []).bound(listed, [])


@pytest.mark.parametrize(
    ("watched", "listed"),
    [
        ("Cedar Lebanon Trading", "CEDAR LEBANESE TRADING"),  # one country (an Indel ratio of 67)
        ("Phu Kham Mining", "FU KHAM MINING"),  # one folded spelling (ph / f: a ratio of 40)
        ("Zentrix Holdings", "ZENTRIX HOLDINGSGESELLSCHAFT"),  # a shared seven-letter stem (a ratio of 57)
    ],
)
def test_a_screens_bound_finds_partners_past_the_ratio_as_score_bound_does(watched: str, listed: str) -> None:
    # WatchBound looks a listed word's partners up by stem, folded spelling and country (built once per
    # screen); each pair here needs one of those ways, and without it the bound would fall under the score.
    watch, entry = [name_form(watched)], [name_form(listed)]
    assert WatchBound(watch, []).bound(entry, []) == score_bound(watch, entry, [], []) == 1.0


def test_renamed_entry_reaches_watchers_of_the_old_name() -> None:
    c = change(ChangeKind.MODIFIED, before=entry(name="OLDNAME SHIPPING CO"), after=entry(name="NEWNAME CO"))
    watch = WatchEntry(subscriber_id="s", id="w", name="Oldname Shipping")
    [alert] = match_change(enrich(c), [watch], {"s": 0.88}, NOW)
    assert alert.kind == "modified"


def test_the_service_default_threshold_is_the_evaluated_one() -> None:
    from contracts.settings import CommonSettings

    assert CommonSettings().match_threshold == DEFAULT_THRESHOLD
    assert CommonSettings.from_env({"LISTWATCH_MATCH_THRESHOLD": "0.9"}).match_threshold == 0.9


def test_a_conflicting_valid_identifier_is_a_strong_negative_and_says_so() -> None:
    listed = entry(name="HUAWEI TECHNOLOGIES", identifiers=[Identifier(scheme="uscc", value="914403001922038216")])
    enrichment = enrich(change(after=listed)).enrichment
    other = score_watch(WatchEntry(subscriber_id="s", id="w", name="Huawei Technologies", uscc="91110000802100433B"),
                        enrichment)  # fmt: skip
    assert other.value < DEFAULT_THRESHOLD
    assert other.reasons[-1] == "identifier conflict: watched uscc 91110000802100433B, listed 914403001922038216"
    # An invalid identifier on the watch side cannot conflict: the name decides.
    typo = score_watch(WatchEntry(subscriber_id="s", id="w", name="Huawei Technologies", uscc="914403001922038217"),
                       enrichment)  # fmt: skip
    assert typo.value == 1.0


def test_a_party_listed_twice_under_one_name_is_one_alert_naming_the_other() -> None:
    from streams.match.logic import screen_watch

    first, second = entry(key="101", name="STROYTRANSGAZ LLC"), entry(key="202", name="Stroytransgaz, L.L.C.")
    other = entry(key="303", name="STROYTRANSGAZ LLC")
    listed = [("ofac_sdn", e, enrich(change(after=e)).enrichment, f"ev{e.key}") for e in (second, first)]
    listed.append(("un_sc", other, enrich(change(after=other)).enrichment, "ev303"))
    watch = WatchEntry(subscriber_id="s", id="w", name="Stroytransgaz")
    alerts = screen_watch(watch, listed, DEFAULT_THRESHOLD, NOW)
    assert [(a.source, a.entry_key) for a in alerts] == [("ofac_sdn", "101"), ("un_sc", "303")]
    assert alerts[0].reasons[-1] == "also listed on ofac_sdn under the same name as 202 (Stroytransgaz, L.L.C.)"
    assert not any("also listed" in r for r in alerts[1].reasons)


def test_real_worldbank_expiry_alert_says_so_and_cosmetic_churn_alerts_nobody(tmp_path: Path) -> None:
    observed = datetime(2019, 5, 20, 9, tzinfo=UTC)
    removals = real_changes("worldbank", "2019-05-17_json", "2019-05-20_json", tmp_path, observed)
    akin = next(c for c in removals if c.current.name == "AKIN PROJECT LLC")
    watch = WatchEntry(subscriber_id="s", id="w", name="Akin Project LLC", country="AZ")
    [alert] = match_change(enrich(akin), [watch], {"s": DEFAULT_THRESHOLD}, NOW)
    assert (alert.kind, alert.removal) == ("removed", "expired")
    assert "removed because its term ended on 2019-05-18 (an expiry, not a delisting decision)" in alert.reasons
    churn = real_changes("worldbank", "2019-05-16_json", "2019-05-17_json", tmp_path, observed)
    watches = [WatchEntry(subscriber_id="s", id=c.entry_key, name=c.current.name) for c in churn]
    assert all(match_change(enrich(c), watches, {"s": DEFAULT_THRESHOLD}, NOW) == [] for c in churn)
    # The same names do alert on a change that says something about the firm.
    real = churn[0].derive(cosmetic=False)
    assert match_change(enrich(real), watches, {"s": DEFAULT_THRESHOLD}, NOW)


def test_a_change_of_a_party_listed_twice_names_the_other_entries() -> None:
    from streams.match.logic import same_name_reason

    first, second = entry(key="101", name="STROYTRANSGAZ LLC"), entry(key="202", name="Stroytransgaz, L.L.C.")
    unrelated = entry(key="303", name="STROYTRANSGAZ HOLDING")
    removed = change(ChangeKind.REMOVED, before=first)
    assert same_name_reason(removed, [second, unrelated]) == (
        "still listed on ofac_sdn under the same name as 202 (Stroytransgaz, L.L.C.): this removal alone does not "
        "take the party off the list"
    )
    added = change(ChangeKind.ADDED, after=second)
    assert (
        same_name_reason(added, [second, first])
        == "also listed on ofac_sdn under the same name as 101 (STROYTRANSGAZ LLC)"
    )
    assert same_name_reason(added, [second, unrelated]) is None


@pytest.mark.parametrize(
    ("chinese", "latin"),
    [("TDK株式会社", "TDK Corporation"), ("美国IMSAR公司", "IMSAR, LLC"), ("Ekspla公司", "Ekspla UAB")],
)
def test_a_latin_word_in_a_chinese_name_finds_and_matches_the_latin_name(chinese: str, latin: str) -> None:
    """The Chinese name shares an index key with the Latin one (else the pair is never scored) and scores
    across scripts; the Latin word is a word of its own, not glued to the pinyin before it."""
    zh, en = name_form(chinese), name_form(latin)
    assert name_keys(zh) & name_keys(en)
    assert name_score(zh, en)[0] >= DEFAULT_THRESHOLD
    assert name_score(name_form("美国IMSAR公司"), name_form("Meiguo Trading"))[0] < DEFAULT_THRESHOLD


def test_the_common_word_list_answers_as_wordfreq_does() -> None:
    # Every 20th word of each language's list (the band around the threshold included), made-up words and
    # words with capitals, digits or accents (those still go to wordfreq itself).
    import random

    from wordfreq import get_frequency_dict, zipf_frequency

    from streams.match import score

    rng = random.Random(5)
    words = {w for lang in score._LANGUAGES for w in list(get_frequency_dict(lang, "best"))[:200_000:20]}
    words |= {"".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(2000)}
    words |= {"sitysipava", "metallurgical", "unclear", "nuclear", "Trading", "b2b", "société", "grop"}

    def wordfreq_says(word: str) -> bool:
        return max(zipf_frequency(word, lang) for lang in score._LANGUAGES) >= score._REAL_WORD_ZIPF

    differ = [w for w in sorted(words) if score._real_word.__wrapped__(w) != wordfreq_says(w)]
    assert differ == []
    assert len(score.common_words()) > 100_000
