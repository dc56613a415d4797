"""The web pages as a person uses them, in Debian's chromium driven by Playwright, on the whole product: the
list server publishes a real OFAC change, the monitor, a stream worker process and the alerts service
bring it to the inbox, which shows it without a reload; the reviewer opens it and suppresses it; a dead
letter is replayed. With LISTWATCH_SCREENSHOTS=<dir> every page is saved at desktop and phone widths
(`make screenshots` writes docs/screenshots/)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, async_playwright, expect
from redis.asyncio import Redis

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.store import AlertStore, Endpoint, now
from contracts.topics import Topics, ensure_topics
from monitor.fetch import Fetcher, RetryPolicy
from monitor.listserver import ListServer
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService, Outcome
from monitor.settings import MonitorSettings
from monitor.sources.ofac_sdn import OfacSdn
from monitor.state import SnapshotStore
from tests.conftest import Receiver, wait_for
from tests.integration.conftest import Worker
from tests.servers import free_port, require_binary
from tests.snapshots import materialise

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


async def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("LISTWATCH_SCREENSHOTS")
    if not folder:
        return
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(Path(folder) / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_sign_in_upload_see_the_alert_arrive_suppress_it_and_replay_a_dead_letter(
    worker: Worker, redis: Redis, env: dict[str, str], tmp_path: Path, receiver: tuple[Receiver, str],
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:  # fmt: skip
    chromium = require_binary("chromium")
    hook, hook_url = receiver
    sequence = ["gitscrape_2021-11-10", "gitscrape_2021-11-12"]
    for snapshot in sequence:
        materialise("ofac_sdn", snapshot, tmp_path / "lists")
    lists = ListServer(tmp_path / "lists", {"ofac_sdn": sequence})
    http = await aiohttp_server(lists.app())
    port = free_port()
    alerts_settings = AlertsSettings.from_env({
        **env, "LISTWATCH_API_PORT": str(port), "LISTWATCH_METRICS_PORT": "0", "LISTWATCH_ALERTS_CONSOLE": "false",
        "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8", "LISTWATCH_RETRY_SCHEDULE_S": "0,0.2",
    })  # fmt: skip
    monitor_settings = MonitorSettings.from_env({
        **env, "LISTWATCH_MONITOR_SOURCES": "ofac_sdn", "LISTWATCH_SOURCE_OFAC_SDN_URL": str(http.make_url("/ofac_sdn/")),
        "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
    })  # fmt: skip
    common = alerts_settings.common
    topics = Topics.for_settings(common)
    await ensure_topics(common, topics)
    store = AlertStore(redis, common)
    sub, api_key = await store.create_subscriber("Acme Importers")
    # The receiver is down for the alert's two attempts: a dead letter, replayed once it is back.
    await store.put_endpoint(sub, Endpoint(id="ep_hook", type="webhook", target=hook_url, created_at=now(),
                                           secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))  # fmt: skip
    hook.statuses.extend([500, 500])
    service = AlertsService(alerts_settings)
    await service.start()
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    fetcher = Fetcher(timeout_s=30, max_bytes=50_000_000, user_agent="test", policy=RetryPolicy(1, 0.05), concurrency=2)
    publisher = ChangePublisher(common, topics)
    await fetcher.start()
    await publisher.start()
    monitor = MonitorService(monitor_settings, [OfacSdn()], fetcher, SnapshotStore(redis, common, "m1"), publisher,
                             MonitorMetrics())  # fmt: skip
    assert await monitor._store.acquire("ofac_sdn", 60)
    assert await monitor.check("ofac_sdn") is Outcome.CHANGED  # the baseline: the company is not listed yet
    base = f"http://127.0.0.1:{port}"
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text("id,name,country,tags\nsup-1,Red Sea Trading Corp,,shipping\nsup-2,Bosphorus Pumps A.S.,TR,\nsup-3,,,\n")
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})

            # Sign in; a wrong key first.
            await page.goto(f"{base}/app/alerts")
            await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            await shoot(page, "signin")
            await page.get_by_label("API key").fill("lw_not_a_key")
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("alert")).to_contain_text("not valid")
            await page.get_by_label("API key").fill(api_key)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
            cookies = {c["name"]: c for c in await page.context.cookies()}
            assert cookies["lw_session"]["httpOnly"]
            assert cookies["lw_session"]["sameSite"] == "Strict"

            # Upload the watchlist: a per-row report.
            await page.get_by_role("link", name="Watchlist", exact=True).click()
            await page.get_by_label("CSV file").set_input_files(str(watchlist))
            await page.get_by_role("button", name="Upload").click()
            report = page.locator("#report")
            await expect(report).to_contain_text("2 imported, 0 updated, 1 rejected")
            await expect(report).to_contain_text("missing name")
            await shoot(page, "watchlist")

            # The inbox is open when the list moves: the alert appears without a reload by hand.
            await page.get_by_role("link", name="Alerts", exact=True).click()
            await expect(page.locator("#unreviewed-count")).to_have_text("0")
            lists.advance("ofac_sdn")
            assert await monitor.check("ofac_sdn") is Outcome.CHANGED  # 2021-11-12 adds RED SEA TRADING CORPORATION
            await expect(page.get_by_role("link", name="RED SEA TRADING CORPORATION")).to_be_visible(timeout=90_000)
            await expect(page.locator("#unreviewed-count")).to_have_text("1")
            await shoot(page, "inbox")

            # Open it and suppress it for a month, with a reason.
            await page.get_by_role("link", name="RED SEA TRADING CORPORATION").click()
            await expect(page.get_by_role("heading", name="RED SEA TRADING CORPORATION")).to_be_visible()
            await expect(page.get_by_text("Red Sea Trading Corp", exact=True)).to_be_visible()
            await shoot(page, "alert")
            await page.get_by_label("Suppress until a date").check()
            until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
            await page.get_by_label("Suppress until (for a suppression)").fill(until)
            await page.get_by_label("Comment (kept with the alert)").fill("Same name, different company: checked the registry")
            await page.get_by_role("button", name="Record the review").click()
            await expect(page.locator("ol.history")).to_contain_text("suppress by API key")
            await expect(page.locator("ol.history")).to_contain_text("checked the registry")
            await page.get_by_role("link", name="← Alerts", exact=True).click()
            await expect(page.get_by_role("link", name="RED SEA TRADING CORPORATION")).to_have_count(0)
            await expect(page.locator("#unreviewed-count")).to_have_text("0")

            # Companies and lists pages.
            await page.get_by_role("link", name="My companies", exact=True).click()
            await expect(page.get_by_role("link", name="Red Sea Trading Corp")).to_be_visible()
            await shoot(page, "companies")
            await page.get_by_role("link", name="Red Sea Trading Corp").click()
            await expect(page.get_by_text("sanctioned").first).to_be_visible()
            await shoot(page, "company")
            await page.get_by_role("link", name="Lists", exact=True).click()
            ofac = page.get_by_role("row").filter(has_text="ofac_sdn")
            await expect(ofac).to_contain_text("9102")  # entries of the 2021-11-12 snapshot
            await expect(ofac).to_contain_text("changed")  # the last verdict
            await shoot(page, "lists")

            # The receiver refused both attempts: a dead letter, replayed now that it answers.
            await wait_for(lambda: store.dead(sub), within=60)
            await page.get_by_role("link", name="Deliveries", exact=True).click()
            await shoot(page, "deliveries")
            delivered_before = len(hook.requests)
            await page.get_by_role("button", name="Replay").first.click()
            await expect(page.get_by_text("None: every delivery got through")).to_be_visible()
            await wait_for(lambda: len(hook.requests) > delivered_before, within=30)
            await browser.close()
    finally:
        stop.set()
        await running
        await service.stop()
        await publisher.stop()
        await fetcher.stop()
