"""Lists: every source with its kind, publisher, last successful check, last change, entries, and what the
guard said last (e.g. "snapshot rejected (empty) ... previous state kept"), from the monitor's state."""

from __future__ import annotations

from aiohttp import web

from alerts.web.render import Pages
from monitor.sources import registry
from monitor.state import SnapshotStore


def routes(app: web.Application, pages: Pages) -> None:
    deps = pages.deps
    # Read-only: the monitor owns these keys (monitor/state.py); the page never writes them.
    state = SnapshotStore(deps.store.redis, deps.settings.common, owner="web-page")

    async def show(request: web.Request) -> web.StreamResponse:
        rows = [(source.info, await state.meta(source.info.id)) for source in registry().values()]
        rows.sort(key=lambda r: (r[1].checked_at is None, r[0].id))
        return pages.render(request, "lists.html", title="Lists", rows=rows)

    app.router.add_get("/app/lists", show)
