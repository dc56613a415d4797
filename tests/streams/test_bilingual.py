"""Chinese-only watched names against English-only entries, through the names that bilingual lists print
side by side: the real MOFCOM / MFA notices teach the pairs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from contracts.models import Alert, ChangeKind, Entry, WatchEvent
from contracts.settings import CommonSettings
from monitor.diff import decode_entry, read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from streams.bilingual import is_chinese_only, pairs
from streams.enrich.change import enrich
from streams.watchlists import WatchEntry
from tests.factories import change
from tests.snapshots import materialise
from tests.streams.stack import stages


def notices(tmp_path: Path) -> list[Entry]:
    source = registry()["cn_mofcom"]
    files = from_path(source.info, materialise("cn_mofcom", "notices", tmp_path), linked=True)
    parsed = read_snapshot(source, files, files.snapshot_id())
    return [decode_entry(parsed.entries[k]) for k in parsed.entries]


def test_pairs_and_scripts() -> None:
    assert pairs(["Lockheed Martin Corporation", "洛克希德·马丁公司"]) == [("Lockheed Martin Corporation", "洛克希德·马丁公司")]
    assert pairs(["Lockheed Martin Corporation"]) == []
    assert is_chinese_only(["洛克希德·马丁公司"])
    assert not is_chinese_only(["洛克希德·马丁公司", "Lockheed Martin"])


async def test_a_chinese_only_watch_hears_of_an_english_only_entry_and_finds_it_when_screened(
    redis: Redis, settings: CommonSettings, tmp_path: Path
) -> None:
    s = stages(redis, settings)
    sent: list[Alert] = []

    async def send(alert: Alert) -> None:
        sent.append(alert)

    # The MOFCOM / MFA notices as the streams would see their baseline: the pairs are learnt.
    learnt = [e for e in notices(tmp_path) if pairs([e.name, *e.aliases])]
    assert len(learnt) > 100
    for entry in learnt:
        await s.match(enrich(change(ChangeKind.ADDED, after=entry, source="cn_mofcom", baseline=True)), send)
    assert sent == []  # nobody watches anything yet
    party = next(e for e in learnt if e.name.startswith("Lockheed Martin"))
    chinese = next(a for a in party.aliases if is_chinese_only([a]))

    # A company watched under its Chinese name only; another list adds the party in English only.
    await s.watches.put(WatchEntry(subscriber_id="s1", id="w1", name=chinese))
    english_only = Entry(key="9999", name=party.name.upper(), entity_type="entity")
    [alert] = await s.match(enrich(change(ChangeKind.ADDED, after=english_only, source="us_csl")), send)
    assert (alert.kind, alert.watch_id, alert.entry_key) == ("added", "w1", "9999")
    assert any("printed beside this one by cn_mofcom entry" in r for r in alert.reasons), alert.reasons

    # Screening a new Chinese-only watch finds the English-only entry already listed.
    await s.watches.put(WatchEntry(subscriber_id="s2", id="w2", name=chinese))
    event = WatchEvent(subscriber_id="s2", watch_id="w2", action="put", at=datetime.now(UTC))
    screened = await s.screen(event, send)
    assert [(a.kind, a.source, a.entry_key) for a in screened if a.source == "us_csl"] == [
        ("already_listed", "us_csl", "9999")
    ]
    # A Chinese name that no bilingual list carries finds nothing in English.
    await s.watches.put(WatchEntry(subscriber_id="s3", id="w3", name="某某示例科技有限公司"))
    other = WatchEvent(subscriber_id="s3", watch_id="w3", action="put", at=datetime.now(UTC))
    assert await s.screen(other, send) == []
