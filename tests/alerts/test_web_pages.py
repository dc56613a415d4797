"""The web pages over HTTP (no browser): sign-in and its cookie, CSRF, the same isolation as the API, and
each page's actions on the real Redis. tests/integration/test_web_browser.py drives them in Debian's chromium."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from alerts.store import Endpoint, now
from contracts.models import ChangeKind
from streams.enrich.change import enrich
from streams.match.logic import match_change
from streams.watchlists import WatchEntry
from tests.alerts.conftest import Stack
from tests.alerts.test_delivery import alerts_for
from tests.factories import change, entry

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(client: TestClient, api_key: str) -> str:
    """Sign in through the form; the session's CSRF token, read from the next page."""
    page = await (await client.get("/app/signin")).text()
    token = CSRF.search(page)
    assert token is not None
    resp = await client.post("/app/signin", data={"csrf": token[1], "api_key": api_key, "next": ""},
                             allow_redirects=False)  # fmt: skip
    assert resp.status == 303, await resp.text()
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Max-Age=" in cookie
    inbox = await (await client.get("/app/alerts")).text()
    found = CSRF.search(inbox)
    assert found is not None
    return found[1]


async def test_pages_need_a_session_and_a_wrong_key_is_refused_then_limited(stack: Stack) -> None:
    client = stack.client
    resp = await client.get("/app/alerts", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] in {"/app/signin?next=%2Fapp%2Falerts", "/app/signin?next=/app/alerts"}
    page = await (await client.get("/app/signin")).text()
    token = CSRF.search(page)
    assert token is not None
    forged = await client.post("/app/signin", data={"csrf": "forged", "api_key": "lw_x"}, allow_redirects=False)
    assert forged.status == 403
    # The limit counts in fixed minutes: a burst that crosses into the next minute starts counting again there,
    # so the refusal comes after `limit` wrong keys, and at the latest after twice that.
    limit, statuses = stack.settings.auth_failures_per_min, []
    while 429 not in statuses and len(statuses) <= 2 * limit:
        page = await (await client.get("/app/signin")).text()
        token = CSRF.search(page)
        assert token is not None
        r = await client.post("/app/signin", data={"csrf": token[1], "api_key": "lw_wrong"}, allow_redirects=False)
        statuses.append(r.status)
    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {401}


async def test_a_form_without_the_session_token_is_refused_and_sign_out_ends_the_session(stack: Stack) -> None:
    sub, key = await stack.store.create_subscriber("Acme")
    csrf = await sign_in(stack.client, key)
    refused = await stack.client.post("/app/watchlist/save", data={"id": "w1", "name": "X Co"}, allow_redirects=False)
    assert refused.status == 403
    assert await stack.watches.get(sub, "w1") is None
    out = await stack.client.post("/app/signout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    again = await stack.client.get("/app/alerts", allow_redirects=False)
    assert again.status == 303  # back to the sign-in page


async def test_another_subscribers_alerts_companies_and_dead_letters_are_out_of_reach(stack: Stack) -> None:
    a_sub, _ = await stack.store.create_subscriber("A")
    _, b_key = await stack.store.create_subscriber("B")
    [a_alert] = alerts_for(a_sub, 1)
    await stack.deliverer.accept(a_alert)
    await stack.watches.put(WatchEntry(subscriber_id=a_sub, id="secret-supplier", name="Secret Supplier Ltd"))
    await sign_in(stack.client, b_key)
    inbox = await (await stack.client.get("/app/alerts?view=all")).text()
    assert a_alert.entry_name not in inbox
    assert (await stack.client.get(f"/app/alerts/{a_alert.alert_id}")).status == 404
    assert (await stack.client.get("/app/companies/secret-supplier")).status == 404
    companies = await (await stack.client.get("/app/companies")).text()
    assert "Secret Supplier" not in companies
    page = await (await stack.client.get("/app/alerts")).text()
    csrf = CSRF.search(page)
    assert csrf is not None
    review = await stack.client.post(f"/app/alerts/{a_alert.alert_id}/review",
                                     data={"csrf": csrf[1], "action": "acknowledge", "comment": "x"})  # fmt: skip
    assert review.status == 404
    assert not await stack.store.acknowledged(a_sub, [a_alert.alert_id])
    # A's endpoint and dead letter: B can neither rotate, test nor replay them.
    await stack.store.put_endpoint(a_sub, Endpoint(id="ep_a", type="webhook", target="http://127.0.0.1:9/a",
                                                   created_at=now(), secret="whsec_" + "A" * 32))  # fmt: skip
    await stack.store.redis.zadd(stack.store.k("dead", a_sub), {f"{a_alert.alert_id}.ep_a": now()})
    for action in ("endpoints/ep_a/rotate", "endpoints/ep_a/test", f"dead/{a_alert.alert_id}.ep_a/replay"):
        resp = await stack.client.post(f"/app/deliveries/{action}", data={"csrf": csrf[1]})
        assert resp.status == 404, action
    stored = await stack.store.endpoint(a_sub, "ep_a")
    assert stored is not None
    assert stored.secret == "whsec_" + "A" * 32
    assert await stack.store.dead(a_sub)
    deliveries = await (await stack.client.get("/app/deliveries")).text()
    assert "ep_a" not in deliveries


async def test_inbox_review_suppress_and_the_alerts_history(stack: Stack) -> None:
    sub, key = await stack.store.create_subscriber("Acme")
    watch = WatchEntry(subscriber_id=sub, id="w1", name="Omegavolt Industries")
    await stack.watches.put(watch)
    listed = entry(key="5000", name="OMEGAVOLT INDUSTRIES", programs=["SDGT"])
    c = change(ChangeKind.ADDED, after=listed)
    await stack.lists.apply(enrich(c))
    [alert] = match_change(enrich(c), [watch], {sub: 0.88}, datetime.now(UTC))
    await stack.deliverer.accept(alert)
    csrf = await sign_in(stack.client, key)
    inbox = await (await stack.client.get("/app/alerts")).text()
    assert "OMEGAVOLT INDUSTRIES" in inbox
    assert "1</strong> unreviewed" in inbox
    detail = await (await stack.client.get(f"/app/alerts/{alert.alert_id}")).text()
    assert "SDGT" in detail  # the change shown field by field
    no_date = await stack.client.post(f"/app/alerts/{alert.alert_id}/review",
                                      data={"csrf": csrf, "action": "suppress", "comment": "known, under review"})  # fmt: skip
    assert no_date.status == 422
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    done = await stack.client.post(f"/app/alerts/{alert.alert_id}/review", allow_redirects=False,
                                   data={"csrf": csrf, "action": "suppress", "comment": "known, under review", "until": until})  # fmt: skip
    assert done.status == 303
    [review] = await stack.store.reviews(sub)
    assert (review.action, review.reason) == ("suppress", "known, under review")
    [logged] = await stack.store.actions(sub, alert.alert_id)
    assert (logged["action"], logged["comment"]) == ("suppress", "known, under review")
    assert logged["by"].startswith("API key ")
    assert "0</strong> unreviewed" in await (await stack.client.get("/app/alerts")).text()
    assert "known, under review" in await (await stack.client.get(f"/app/alerts/{alert.alert_id}")).text()


async def test_watchlist_upload_report_edit_remove_and_download(stack: Stack) -> None:
    sub, key = await stack.store.create_subscriber("Acme")
    csrf = await sign_in(stack.client, key)
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", b"id,name,uscc\nw1,Alpha Trading Co,\nw2,,\nw3,Gamma Ltd,91350211M0000XUN9X\n",
                   filename="watchlist.csv", content_type="text/csv")  # fmt: skip
    page = await (await stack.client.post("/app/watchlist/upload", data=form)).text()
    assert "<strong>1</strong> imported, <strong>0</strong> updated, <strong>2</strong> rejected" in page
    assert "missing name" in page
    saved = await stack.client.post("/app/watchlist/save", allow_redirects=False,
                                    data={"csrf": csrf, "id": "w1", "name": "Alpha Trading Company", "tags": "steel; asia"})  # fmt: skip
    assert saved.status == 303
    w1 = await stack.watches.get(sub, "w1")
    assert w1 is not None
    assert (w1.name, w1.tags) == ("Alpha Trading Company", ("steel", "asia"))
    csv_text = await (await stack.client.get("/app/watchlist.csv")).text()
    assert csv_text.splitlines() == ["id,name,alt_names,country,uscc,lei,tags", "w1,Alpha Trading Company,,,,,steel;asia"]
    removed = await stack.client.post("/app/watchlist/w1/delete", data={"csrf": csrf}, allow_redirects=False)
    assert removed.status == 303
    assert await stack.watches.get(sub, "w1") is None


async def test_deliveries_secret_shown_once_rotated_and_a_dead_letter_replayed(stack: Stack) -> None:
    sub, key = await stack.store.create_subscriber("Acme")
    csrf = await sign_in(stack.client, key)
    created = await (await stack.client.post("/app/deliveries/endpoints",
                                             data={"csrf": csrf, "type": "webhook", "target": "http://127.0.0.1:9/in"})).text()  # fmt: skip
    secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', created)
    assert secret is not None
    again = await (await stack.client.get("/app/deliveries")).text()
    assert secret[1] not in again
    [endpoint] = await stack.store.endpoints(sub)
    rotated = await (await stack.client.post(f"/app/deliveries/endpoints/{endpoint.id}/rotate", data={"csrf": csrf})).text()
    new = re.search(r'<code id="secret">(whsec_[^<]+)</code>', rotated)
    assert new is not None
    assert new[1] != secret[1]
    stored = await stack.store.endpoint(sub, endpoint.id)
    assert stored is not None
    assert stored.secret == new[1]
    # A dead letter (a delivery given up) gets its replay button, and the replay queues it again.
    await stack.store.put_endpoint(sub, Endpoint(id="ep_dead", type="webhook", target="http://127.0.0.1:9/x",
                                                 created_at=now(), secret="whsec_" + "A" * 32))  # fmt: skip
    [alert] = alerts_for(sub, 1)
    await stack.deliverer.accept(alert)
    delivery = await stack.store.delivery(f"{alert.alert_id}.ep_dead")
    assert delivery is not None
    await stack.store.redis.zadd(stack.store.k("dead", sub), {delivery.id: now()})
    page = await (await stack.client.get("/app/deliveries")).text()
    assert f"/app/deliveries/dead/{delivery.id}/replay" in page
    replayed = await stack.client.post(f"/app/deliveries/dead/{delivery.id}/replay", data={"csrf": csrf},
                                       allow_redirects=False)  # fmt: skip
    assert replayed.status == 303
    assert delivery.id not in await stack.store.dead(sub)


async def test_lists_page_shows_each_source_and_the_guards_last_verdict(stack: Stack) -> None:
    from monitor.state import SnapshotStore

    _, key = await stack.store.create_subscriber("Acme")
    await SnapshotStore(stack.store.redis, stack.settings.common, "m").record_verdict(
        "ofac_sdn", "rejected", "snapshot rejected (empty): ofac_sdn: sdn.csv is empty; previous state kept")
    await sign_in(stack.client, key)
    page = await (await stack.client.get("/app/lists")).text()
    assert "ofac_sdn" in page
    assert "aiib" in page
    assert "sdn.csv is empty; previous state kept" in page
