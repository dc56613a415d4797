"""Sources with no real snapshot in the shared data, tested on small hand-made files that follow each
publisher's documented format (tests/fixtures/PROVENANCE.md): ADB, EU FSF, UK FCDO, generic feeds."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from contracts.cli import main
from contracts.models import CONFIRMING_SOURCES, Entry, Identifier
from contracts.settings import SettingsError
from monitor.diff import diff, read_snapshot
from monitor.settings import feeds_from_env
from monitor.snapshot import from_path
from monitor.sources import registry
from monitor.sources.adb import Adb
from monitor.sources.base import POLL_S, PROBE_S, FileSpec, ListKind, RecordError, SnapshotError, SourceInfo
from monitor.sources.feed import Feed
from tests.snapshots import FIXTURES


def parse(source_id: str, path: Path, *, linked: bool = False) -> list[Entry]:
    source = registry()[source_id]
    items = list(source.parse(from_path(source.info, path, linked=linked)))
    assert not [i for i in items if isinstance(i, RecordError)]
    return [i for i in items if isinstance(i, Entry)]


def test_adb_pages_and_next_link_rewrite() -> None:
    found = parse("adb", FIXTURES / "adb" / "handmade", linked=True)
    assert [e.name for e in found] == [
        "China Railway Tunnel Group Co., Ltd.", "Sample Engineering Consultants Pvt. Ltd.", "ZHANG Wei"]  # fmt: skip
    tunnel = found[0]
    assert tunnel.aliases == ["中铁隧道局集团有限公司"]
    assert (tunnel.listed_on, tunnel.end_date) == ("2024-01-17", "2026-01-16")
    assert found[2].entity_type == "individual"
    page = (FIXTURES / "adb" / "handmade" / "page-0001.json").read_bytes()
    [nxt] = Adb().linked_files("page-0001.json", page, "https://apim.adb.org/sanctions/lists/v1/published-list?x=1")
    assert nxt.name == "page-0002.json"
    assert nxt.url.startswith("https://apim.adb.org/sanctions/lists/v1/published-list?")
    assert "page%5Bnumber%5D=2" in nxt.url
    last = (FIXTURES / "adb" / "handmade" / "page-0002.json").read_bytes()
    assert Adb().linked_files("page-0002.json", last, nxt.url) == []


def test_eu_fsf_entities_and_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v1 = parse("eu_fsf", FIXTURES / "eu_fsf" / "handmade_v1")
    company = v1[0]
    assert (company.key, company.entity_type, company.programs) == ("5001", "entity", ["RUS"])
    assert company.aliases == ["样例电子贸易（深圳）有限公司"]
    assert Identifier(scheme="registration", value="91440300MA5EXAMPLE") in company.identifiers
    assert v1[1].countries == ["RU"]
    code = main(["diff", "eu_fsf", str(FIXTURES / "eu_fsf" / "handmade_v1"), str(FIXTURES / "eu_fsf" / "handmade_v2")])
    out = capsys.readouterr().out
    assert code == 0
    assert Counter(line.split('"change":"')[1].split('"')[0] for line in out.splitlines()) == {
        "added": 1, "removed": 1, "modified": 1}  # fmt: skip


@pytest.mark.parametrize("variant", ["handmade_xml", "handmade_csv"])
def test_uk_fcdo_xml_and_csv_agree(variant: str) -> None:
    found = {e.key: e for e in parse("uk_fcdo", FIXTURES / "uk_fcdo" / variant)}
    smt = found["RUS9001"]
    assert smt.name == "SAMPLE MACHINE TOOLS LLC"
    assert set(smt.aliases) == {"SMT LLC", "ООО САМПЛ СТАНКИ"}
    assert (smt.entity_type, smt.listed_on, smt.countries) == ("entity", "2022-03-15", ["Russia"])
    assert found["RUS9002"].name == "Pyotr EXAMPLOV"
    assert found["RUS9002"].entity_type == "individual"


FEED_ENV = {
    "LISTWATCH_FEEDS": "creditchina_black",
    "LISTWATCH_FEED_CREDITCHINA_BLACK_FORMAT": "csv",
    "LISTWATCH_FEED_CREDITCHINA_BLACK_KIND": "black list",
    "LISTWATCH_FEED_CREDITCHINA_BLACK_MAPPING": "key=统一社会信用代码;name=企业名称;id.uscc=统一社会信用代码;"
    "listed_on=列入日期;programs=列入原因+认定部门",
}


def test_generic_csv_feed_with_chinese_columns(tmp_path: Path) -> None:
    [config] = feeds_from_env(FEED_ENV)
    feed = Feed(config)
    assert feed.info.id == "feed_creditchina_black"
    shutil.copy(FIXTURES / "feed" / "creditchina_black.csv", tmp_path / "feed.csv")
    found = [e for e in feed.parse(from_path(feed.info, tmp_path / "feed.csv")) if isinstance(e, Entry)]
    first = found[0]
    assert (first.key, first.name, first.listed_on) == ("91110108MA01EXAMPLE", "北京示例科技有限公司", "2025-03-12")
    assert first.identifiers == [Identifier(scheme="uscc", value="91110108MA01EXAMPLE")]
    assert first.programs == ["重大税收违法失信主体", "国家税务总局北京市税务局"]


def test_generic_xlsx_and_json_feeds(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Exported 2026-01-01"])
    sheet.append(["Company", "Code", "Since"])
    sheet.append(["Example Customs AEO Co., Ltd.", "AEO-1", "2024-01-02"])
    book.save(tmp_path / "feed.xlsx")
    env = {"LISTWATCH_FEEDS": "aeo", "LISTWATCH_FEED_AEO_FORMAT": "xlsx", "LISTWATCH_FEED_AEO_KIND": "red list",
           "LISTWATCH_FEED_AEO_MAPPING": "key=Code;name=Company;listed_on=Since"}  # fmt: skip
    [entry] = [e for e in Feed(feeds_from_env(env)[0]).parse(from_path(Feed(feeds_from_env(env)[0]).info,
               tmp_path / "feed.xlsx")) if isinstance(e, Entry)]  # fmt: skip
    assert (entry.key, entry.name, entry.listed_on) == ("AEO-1", "Example Customs AEO Co., Ltd.", "2024-01-02")

    (tmp_path / "feed.json").write_text('{"rows": [{"n": "A Co", "id": "1", "alias": ["A Company"]}]}')
    env = {
        "LISTWATCH_FEEDS": "vendor",
        "LISTWATCH_FEED_VENDOR_FORMAT": "json",
        "LISTWATCH_FEED_VENDOR_JSON_PATH": "rows.item",
        "LISTWATCH_FEED_VENDOR_MAPPING": "key=id;name=n;aliases=alias",
    }
    feed = Feed(feeds_from_env(env)[0])
    [entry] = [e for e in feed.parse(from_path(feed.info, tmp_path / "feed.json")) if isinstance(e, Entry)]
    assert (entry.key, entry.aliases) == ("1", ["A Company"])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LISTWATCH_FEEDS": "x"}, "MAPPING is required"),
        ({"LISTWATCH_FEEDS": "x", "LISTWATCH_FEED_X_MAPPING": "key=a"}, "needs name="),
        ({"LISTWATCH_FEEDS": "x", "LISTWATCH_FEED_X_MAPPING": "name=a;colour=b"}, "unknown field"),
        ({"LISTWATCH_FEEDS": "x", "LISTWATCH_FEED_X_MAPPING": "name=a", "LISTWATCH_FEED_X_FORMAT": "pdf"}, "FORMAT"),
        ({"LISTWATCH_FEEDS": "Bad Name", "LISTWATCH_FEED_X_MAPPING": "name=a"}, "feed name"),
    ],
)
def test_feed_configuration_errors_are_clear(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        feeds_from_env(env)


PROBED = {"ofac_sdn", "ofac_cons", "us_csl", "un_sc", "eu_fsf", "uk_fcdo", "cn_mofcom", "cn_export_control"}


def test_every_source_has_metadata() -> None:
    sources = registry()
    assert set(sources) >= {"ofac_sdn", "ofac_cons", "us_csl", "un_sc", "eu_fsf", "uk_fcdo", "worldbank", "adb",
                            "ebrd", "afdb", "idb", "cn_sanctions", "cn_mofcom"}  # fmt: skip
    for source_id, source in sources.items():
        info = source.info
        assert info.id == source_id
        assert all((info.publisher, info.title, info.key))
        assert info.primary.url.startswith("https://")
        # Probed every 90 s, the rest every 10 minutes: within 2 and 15 minutes of a change.
        assert info.schedule_s == (PROBE_S if source_id in PROBED else POLL_S), source_id


def test_a_provisional_source_names_a_confirming_list() -> None:
    # The stream worker looks for provisional alerts to confirm only on additions to CONFIRMING_SOURCES.
    provisional = [s.info for s in registry().values() if s.info.provisional_for]
    assert [(i.id, i.provisional_for) for i in provisional] == [("eu_journal", "eu_fsf")]
    assert all(i.provisional_for in CONFIRMING_SOURCES for i in provisional)
    info = {"id": "acts", "publisher": "p", "title": "t", "kind": ListKind.SANCTION,
            "files": (FileSpec("a.json", "https://example.org/a.json"),), "key": "k"}  # fmt: skip
    assert SourceInfo(**info, provisional_for="eu_fsf").provisional_for == "eu_fsf"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="provisional_for 'ofac_sdn' is not one of the confirming lists"):
        SourceInfo(**info, provisional_for="ofac_sdn")  # type: ignore[arg-type]


def test_diff_on_diff_snapshots_of_a_feed_gives_changes(tmp_path: Path) -> None:
    [config] = feeds_from_env(FEED_ENV)
    feed = Feed(config)
    old = tmp_path / "old.csv"
    shutil.copy(FIXTURES / "feed" / "creditchina_black.csv", old)
    new = tmp_path / "new.csv"
    new.write_text("\n".join(old.read_text(encoding="utf-8").splitlines()[:2]) + "\n", encoding="utf-8")
    p_old = read_snapshot(feed, from_path(feed.info, old), "a")
    p_new = read_snapshot(feed, from_path(feed.info, new), "b")
    changes = list(diff(feed.info.id, p_old.entries, "a", p_new, datetime(2026, 1, 1, tzinfo=UTC)))
    assert [(c.change, c.entry_key) for c in changes] == [("removed", "91310115MA1HEXAMPL")]


def test_a_credit_china_preset_reads_the_export_and_explicit_settings_win(tmp_path: Path) -> None:
    env = {"LISTWATCH_FEEDS": "cc", "LISTWATCH_FEED_CC_PRESET": "creditchina_dishonest",
           "LISTWATCH_FEED_CC_TITLE": "Our Credit China export"}  # fmt: skip
    [config] = feeds_from_env(env)
    assert (config.kind.value, config.jurisdiction, config.title) == ("black list", "CN", "Our Credit China export")
    feed = Feed(config)
    shutil.copy(FIXTURES / "feed" / "creditchina_black.csv", tmp_path / "feed.csv")
    [first, *_] = [i for i in feed.parse(from_path(feed.info, tmp_path)) if isinstance(i, Entry)]
    assert first.name == "北京示例科技有限公司"
    assert first.identifiers == [Identifier(scheme="uscc", value="91110108MA01EXAMPLE")]
    assert (first.listed_on, first.programs) == ("2025-03-12", ["重大税收违法失信主体"])


def test_a_preset_refuses_a_file_in_another_layout_naming_the_missing_columns(tmp_path: Path) -> None:
    [config] = feeds_from_env({"LISTWATCH_FEEDS": "aeo", "LISTWATCH_FEED_AEO_PRESET": "customs_aeo"})
    assert config.kind.value == "red list"
    (tmp_path / "feed.csv").write_text("企业名称,统一社会信用代码\n示例进出口有限公司,91110000000000000X\n", encoding="utf-8")
    feed = Feed(config)
    with pytest.raises(SnapshotError, match="认证日期"):
        list(feed.parse(from_path(feed.info, tmp_path)))
    with pytest.raises(SettingsError, match="unknown preset 'credit'"):
        feeds_from_env({"LISTWATCH_FEEDS": "x", "LISTWATCH_FEED_X_PRESET": "credit"})
