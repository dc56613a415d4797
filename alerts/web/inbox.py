"""The alerts inbox: newest first, unreviewed first; one alert with its change, score and reasons; the
review actions (acknowledge, confirm, false positive, suppress until a date) and what each did, kept."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from markupsafe import Markup
from pydantic import ValidationError

from alerts.api import models as m
from alerts.api import reviews
from alerts.api.base import ApiError
from alerts.web.charts import bars
from alerts.web.render import SESSION, Pages, see_other, sub_of
from contracts.models import Alert

_SCAN = 500  # alerts read for one inbox page (newest first)
ACTIONS = {
    "acknowledge": "Acknowledge (seen, nothing to do)",
    "confirm": "Confirm (it is our company: a true match)",
    "false_positive": "False positive (not our company)",
    "suppress": "Suppress until a date",
}


async def recent(pages: Pages, sub: str, limit: int = _SCAN) -> list[Alert]:
    store = pages.deps.store
    return [a for _, a in await store.alerts_page(sub, None, None, None, limit)]


def weekly(alerts: list[Alert], weeks: int = 12) -> list[tuple[str, int]]:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    counts = Counter((a.created_at.date() - start).days // 7 for a in alerts if a.created_at.date() >= start)
    return [((start + timedelta(weeks=i)).strftime("%d %b"), counts.get(i, 0)) for i in range(weeks)]


def change_rows(alert: Alert) -> list[dict[str, Any]]:
    """The change as before -> after rows: the changed fields of a modification, the entry otherwise."""
    if alert.fields:
        return [{"field": f.field, "before": f.before, "after": f.after} for f in alert.fields]
    entry = alert.after or alert.before
    if entry is None:
        return []
    shown = ("name", "aliases", "entity_type", "identifiers", "countries", "programs", "listed_on", "end_date")
    data = entry.content()
    side = "after" if alert.after is not None else "before"
    return [{"field": k, "before": None if side == "after" else data.get(k), "after": data.get(k) if side == "after"
             else None} for k in shown if data.get(k)]  # fmt: skip


def routes(app: web.Application, pages: Pages) -> None:
    store = pages.deps.store

    async def inbox(request: web.Request) -> web.StreamResponse:
        sub = sub_of(request)
        view = request.query.get("view", "unreviewed")
        alerts = await recent(pages, sub)
        acked = await store.acknowledged(sub, [a.alert_id for a in alerts])
        rows = [a for a in alerts if view == "all" or a.alert_id not in acked]
        rows.sort(key=lambda a: (a.alert_id in acked, -a.created_at.timestamp()))
        return pages.render(request, "inbox.html", title="Alerts", view=view, alerts=rows[:200], acked=acked,
                            unreviewed=sum(a.alert_id not in acked for a in alerts),
                            chart=Markup(bars("Alerts per week", weekly(alerts))),  # noqa: S704 - our own SVG, escaped
                            latest=alerts[0].alert_id if alerts else "")  # fmt: skip

    async def latest(request: web.Request) -> web.StreamResponse:
        """For the page's small script: has anything arrived since it was drawn?"""
        alerts = await recent(pages, sub_of(request), 1)
        return web.json_response({"latest": alerts[0].alert_id if alerts else ""},
                                 headers={"Cache-Control": "no-store"})  # fmt: skip

    async def one(request: web.Request, error: str = "", status: int = 200) -> web.Response:
        sub = sub_of(request)
        alert = await store.alert(sub, request.match_info["alert_id"])
        if alert is None:
            raise web.HTTPNotFound(text="no such alert")
        acked = alert.alert_id in await store.acknowledged(sub, [alert.alert_id])
        return pages.render(request, "alert.html", status=status, title=alert.entry_name, alert=alert,
                            rows=change_rows(alert), acked=acked, actions=ACTIONS,
                            history=await store.actions(sub, alert.alert_id), error=error)  # fmt: skip

    async def show(request: web.Request) -> web.StreamResponse:
        return await one(request)

    async def review(request: web.Request) -> web.StreamResponse:
        sub = sub_of(request)
        alert = await store.alert(sub, request.match_info["alert_id"])
        if alert is None:
            raise web.HTTPNotFound(text="no such alert")
        form = await request.post()
        action, comment = str(form.get("action", "")), str(form.get("comment", "")).strip()
        until_text = str(form.get("until", "")).strip()
        if action not in ACTIONS:
            return await one(request, "Choose what to do with the alert.", 422)
        if not comment:
            return await one(request, "Say why, in a few words: the comment is kept with the alert.", 422)
        until = None
        if action == "suppress":
            try:
                until = datetime.fromisoformat(until_text).replace(tzinfo=UTC) if until_text else None
            except ValueError:
                until = None
            if until is None or until <= datetime.now(UTC):
                return await one(request, "A suppression needs a date in the future.", 422)
        if action in {"false_positive", "suppress"}:
            kind: Literal["false_positive", "suppress"] = "suppress" if action == "suppress" else "false_positive"
            try:
                body = m.ReviewIn(watch_id=alert.watch_id, source=alert.source, entry_key=alert.entry_key,
                                  action=kind, reason=comment, expires_at=until)  # fmt: skip
                await reviews.create_review(pages.ctx(request), body)
            except ApiError as exc:
                return await one(request, f"Could not record it: {exc.message}.", exc.status)
            except ValidationError as exc:
                return await one(request, f"Could not record it: {exc.errors()[0]['msg']}.", 422)
        await store.acknowledge(sub, alert.alert_id)
        who = f"API key {request[SESSION]['key_id']}"
        await store.log_action(sub, alert.alert_id, action, who, comment, until.timestamp() if until else None)
        raise see_other(f"/app/alerts/{alert.alert_id}")

    app.router.add_get("/app/alerts", inbox)
    app.router.add_get("/app/alerts/latest", latest)
    app.router.add_get("/app/alerts/{alert_id}", show)
    app.router.add_post("/app/alerts/{alert_id}/review", review)
