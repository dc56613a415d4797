"""The watchlist: upload a CSV and see what became of each row, add / edit / remove one company, download
it back in the same format."""

from __future__ import annotations

import csv
import io

from aiohttp import web
from pydantic import ValidationError

from alerts.api import models as m
from alerts.api import watchlist as api
from alerts.api.base import ApiError
from alerts.web.render import Pages, see_other, sub_of
from streams.watchlists import WATCHLIST_COLUMNS

_SHOWN = 300


def routes(app: web.Application, pages: Pages) -> None:
    deps = pages.deps

    async def page(request: web.Request, report: m.ImportReport | None = None, error: str = "",
                   status: int = 200) -> web.Response:  # fmt: skip
        watches = sorted(await deps.watches.entries(sub_of(request)), key=lambda w: w.id)
        edit = next((w for w in watches if w.id == request.query.get("edit")), None)
        return pages.render(request, "watchlist.html", status=status, title="Watchlist", watches=watches[:_SHOWN],
                            total=len(watches), report=report, error=error, edit=edit)  # fmt: skip

    async def show(request: web.Request) -> web.StreamResponse:
        return await page(request)

    async def upload(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        file = form.get("file")
        data = file.file.read() if isinstance(file, web.FileField) else b""
        if not data:
            return await page(request, error="Choose a CSV file to upload.", status=422)
        try:
            report = await api.import_csv(pages.ctx(request), data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            return await page(request, error="The file must be UTF-8 text (CSV).", status=422)
        except ApiError as exc:
            return await page(request, error=exc.message, status=exc.status)
        return await page(request, report=report)

    async def save(request: web.Request) -> web.StreamResponse:
        form = await request.post()

        def field(name: str) -> str | None:
            return str(form.get(name, "")).strip() or None

        def split(name: str) -> list[str]:
            return [p.strip() for p in (field(name) or "").split(";") if p.strip()]

        watch_id = field("id") or ""
        if not watch_id:
            return await page(request, error="Give the company an id (your own reference).", status=422)
        try:
            body = m.WatchIn(
                id=watch_id, name=field("name") or "", alt_names=split("alt_names"), country=field("country"),
                uscc=field("uscc"), lei=field("lei"), tags=split("tags"),
            )  # fmt: skip
            await api.put_watch(pages.ctx(request), watch_id, body)
        except ApiError as exc:
            return await page(request, error=exc.message, status=exc.status)
        except ValidationError as exc:
            first = exc.errors()[0]
            return await page(request, error=f"{'.'.join(map(str, first['loc']))}: {first['msg']}", status=422)
        raise see_other("/app/watchlist")

    async def remove(request: web.Request) -> web.StreamResponse:
        try:
            await api.delete_watch(pages.ctx(request), request.match_info["watch_id"])
        except ApiError as exc:
            return await page(request, error=exc.message, status=exc.status)
        raise see_other("/app/watchlist")

    async def download(request: web.Request) -> web.StreamResponse:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(WATCHLIST_COLUMNS)
        for w in sorted(await deps.watches.entries(sub_of(request)), key=lambda w: w.id):
            writer.writerow([w.id, w.name, ";".join(w.alt_names), w.country or "", w.uscc or "", w.lei or "",
                             ";".join(w.tags)])  # fmt: skip
        return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="watchlist.csv"'})  # fmt: skip

    app.router.add_get("/app/watchlist", show)
    app.router.add_get("/app/watchlist.csv", download)
    app.router.add_post("/app/watchlist/upload", upload)
    app.router.add_post("/app/watchlist/save", save)
    app.router.add_post("/app/watchlist/{watch_id}/delete", remove)
