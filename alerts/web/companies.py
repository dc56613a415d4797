"""My companies: each watched company with where it stands on every list, when that last changed, and its
timeline; filtered by status, tag and country, searched by name or identifier."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from alerts.web.inbox import recent
from alerts.web.render import STANDING, STATUSES, Pages, sub_of
from streams.watchlists import WatchEntry

_SHOWN = 300


def status_of(standings: list[dict[str, Any]]) -> list[str]:
    found = sorted({STANDING.get(s.get("list_kind") or "", "black list") for s in standings},
                   key=STATUSES.index)  # fmt: skip
    return found or ["clear"]


def matches(watch: WatchEntry, q: str) -> bool:
    q = q.casefold()
    return any(q in n.casefold() for n in watch.names()) or q in {(watch.uscc or "").casefold(),
                                                                 (watch.lei or "").casefold(), watch.id.casefold()}


def routes(app: web.Application, pages: Pages) -> None:
    deps = pages.deps

    async def companies(request: web.Request) -> web.StreamResponse:
        sub = sub_of(request)
        q, status = request.query.get("q", "").strip(), request.query.get("status", "")
        tag, country = request.query.get("tag", ""), request.query.get("country", "").upper()
        watches = await deps.watches.entries(sub)
        standings = await deps.store.standings(sub, [w.id for w in watches])
        rows: list[dict[str, Any]] = []
        tags: set[str] = set()
        countries: set[str] = set()
        for watch in sorted(watches, key=lambda w: w.name.casefold()):
            tags.update(watch.tags)
            if watch.country:
                countries.add(watch.country)
            where = standings.get(watch.id, [])
            statuses = status_of(where)
            if (q and not matches(watch, q)) or (status and status not in statuses) or (tag and tag not in watch.tags) \
                    or (country and watch.country != country):  # fmt: skip
                continue
            rows.append({"watch": watch, "statuses": statuses, "standings": where,
                         "since": max((s["since"] for s in where), default=None)})  # fmt: skip
        return pages.render(request, "companies.html", title="My companies", rows=rows[:_SHOWN], total=len(rows),
                            q=q, status_filter=status, tag=tag, country=country, statuses=STATUSES,
                            tags=sorted(tags), countries=sorted(countries))  # fmt: skip

    async def company(request: web.Request) -> web.StreamResponse:
        sub = sub_of(request)
        watch = await deps.watches.get(sub, request.match_info["watch_id"])
        if watch is None:
            raise web.HTTPNotFound(text="no such company in your watchlist")
        where = (await deps.store.standings(sub, [watch.id]))[watch.id]
        timeline = [a for a in await recent(pages, sub, 2000) if a.watch_id == watch.id]
        return pages.render(request, "company.html", title=watch.name, watch=watch, standings=where,
                            statuses=status_of(where), timeline=timeline, standing_of=STANDING)  # fmt: skip

    app.router.add_get("/app/companies", companies)
    app.router.add_get("/app/companies/{watch_id}", company)
