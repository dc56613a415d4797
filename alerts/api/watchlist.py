"""The watchlist (one entry at a time, or a CSV import) and where every watched company stands."""

from __future__ import annotations

from aiohttp import web

from alerts.api import models as m
from alerts.api.base import ApiError, Router, not_found, read_body
from alerts.api.deps import Ctx, at
from streams.watch_events import watch_event
from streams.watchlists import InvalidWatch, RowError, WatchEntry, iter_watchlist_rows, watch_from_fields

router = Router("watchlist")
_BATCH = 500  # entries per Redis transaction and per batch of screening events during an import
MAX_REPORTED = 1000  # rejected rows listed in an import report (all are counted)


def watch_out(entry: WatchEntry) -> m.Watch:
    return m.Watch(id=entry.id, name=entry.name, alt_names=list(entry.alt_names), country=entry.country,
                   uscc=entry.uscc, lei=entry.lei, tags=list(entry.tags))  # fmt: skip


def _entry(ctx: Ctx, body: m.WatchIn, watch_id: str) -> WatchEntry:
    fields = body.model_dump(exclude_none=True)
    fields["id"] = watch_id
    try:
        return watch_from_fields(fields, ctx.sub)
    except InvalidWatch as exc:
        raise ApiError(422, "invalid_watch", str(exc)) from None


async def _room(ctx: Ctx, new: int) -> None:
    limit = ctx.deps.settings.watchlist_max
    if await ctx.deps.watches.count(ctx.sub) + new > limit:
        raise ApiError(409, "watchlist_full", f"a watchlist holds at most {limit} companies (LISTWATCH_WATCHLIST_MAX)")


async def _save(ctx: Ctx, entry: WatchEntry) -> None:
    await ctx.deps.watches.put(entry)
    await ctx.deps.store.forget_standing(ctx.sub, entry.id)  # screened again at once: the standing follows
    await ctx.deps.publish_watch_events([watch_event(ctx.sub, entry.id)])


@router.route("GET", "/v1/watchlist", summary="Watched companies, in id order, a page at a time", query=m.Page,
              response=m.WatchPage)  # fmt: skip
async def list_watches(ctx: Ctx, query: m.Page) -> m.WatchPage:
    entries, cursor = await ctx.deps.watches.page(ctx.sub, query.cursor, query.limit)
    total = await ctx.deps.watches.count(ctx.sub)
    return m.WatchPage(items=[watch_out(e) for e in entries], next_cursor=cursor, total=total)


@router.route("POST", "/v1/watchlist", summary="Watch a company; it is screened against the current lists at once",
              status=201, body=m.WatchIn, response=m.Watch)  # fmt: skip
async def create_watch(ctx: Ctx, body: m.WatchIn) -> m.Watch:
    if body.id is None:
        raise ApiError(422, "missing_field", "field 'id' is required")
    if await ctx.deps.watches.get(ctx.sub, body.id) is not None:
        raise ApiError(409, "conflict", f"watch entry {body.id!r} exists; PUT /v1/watchlist/{{id}} replaces it")
    entry = _entry(ctx, body, body.id)
    await _room(ctx, 1)
    await _save(ctx, entry)
    return watch_out(entry)


@router.route("GET", "/v1/watchlist/{watch_id}", summary="One watched company", response=m.Watch)
async def get_watch(ctx: Ctx, watch_id: str) -> m.Watch:
    entry = await ctx.deps.watches.get(ctx.sub, watch_id)
    if entry is None:
        raise not_found("watch entry")
    return watch_out(entry)


@router.route("PUT", "/v1/watchlist/{watch_id}", summary="Create or replace a watched company", body=m.WatchIn,
              response=m.Watch)  # fmt: skip
async def put_watch(ctx: Ctx, watch_id: str, body: m.WatchIn) -> m.Watch:
    if body.id is not None and body.id != watch_id:
        raise ApiError(422, "invalid_field", "id in the body differs from the one in the path")
    entry = _entry(ctx, body, watch_id)
    if await ctx.deps.watches.get(ctx.sub, watch_id) is None:
        await _room(ctx, 1)
    await _save(ctx, entry)
    return watch_out(entry)


@router.route("DELETE", "/v1/watchlist/{watch_id}", summary="Stop watching a company", status=204)
async def delete_watch(ctx: Ctx, watch_id: str) -> None:
    if not await ctx.deps.watches.remove(ctx.sub, watch_id):
        raise not_found("watch entry")
    await ctx.deps.store.forget_standing(ctx.sub, watch_id)
    await ctx.deps.publish_watch_events([watch_event(ctx.sub, watch_id, "remove")])


@router.route("POST", "/v1/watchlist/import", summary="Import a watchlist CSV (UTF-8); answers with a per-row report",
              raw_body="text/csv", response=m.ImportReport)  # fmt: skip
async def import_watchlist(ctx: Ctx, request: web.Request) -> m.ImportReport:
    try:
        text = (await read_body(request)).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_csv", "the CSV must be UTF-8") from None
    return await import_csv(ctx, text)


async def import_csv(ctx: Ctx, text: str) -> m.ImportReport:
    """Import a watchlist CSV for the caller (the API and the web page): every good row, a report of the rest."""
    limit = ctx.deps.settings.watchlist_max
    # Room for new ids only: replacing an entry that exists takes none.
    room = limit - await ctx.deps.watches.count(ctx.sub)
    rejected: list[m.RowError] = []
    rejected_count = accepted = updated = 0

    def reject(row: int, reason: str) -> None:
        nonlocal rejected_count
        rejected_count += 1
        if len(rejected) < MAX_REPORTED:
            rejected.append(m.RowError(row=row, reason=reason))

    async def write(batch: list[tuple[int, WatchEntry]]) -> int:
        nonlocal room, updated
        known = await ctx.deps.watches.exists(ctx.sub, [e.id for _, e in batch])
        fits = []
        for line, entry in batch:
            if entry.id not in known:
                if room <= 0:
                    reject(line, f"id {entry.id!r}: the watchlist is full ({limit} companies, LISTWATCH_WATCHLIST_MAX)")
                    continue
                room -= 1
            fits.append(entry)
        await ctx.deps.watches.put_many(fits)
        for entry in fits:
            if entry.id in known:
                updated += 1
                await ctx.deps.store.forget_standing(ctx.sub, entry.id)
        await ctx.deps.publish_watch_events([watch_event(ctx.sub, e.id) for e in fits])
        return len(fits)

    batch: list[tuple[int, WatchEntry]] = []
    for item in iter_watchlist_rows(text, ctx.sub):
        if isinstance(item, RowError):
            if item.row == 1:  # the header: alone and first, nothing was written
                raise ApiError(422, "invalid_csv", item.reason)
            reject(item.row, item.reason)
            continue
        batch.append(item)
        if len(batch) >= _BATCH:
            accepted += await write(batch)
            batch = []
    if batch:
        accepted += await write(batch)
    rejected.sort(key=lambda r: r.row)
    return m.ImportReport(imported=accepted, updated=updated, rejected=rejected, rejected_count=rejected_count)


@router.route("GET", "/v1/status", summary="Where each watched company stands now, per list, a page at a time",
              query=m.Page, response=m.StatusPage)  # fmt: skip
async def status(ctx: Ctx, query: m.Page) -> m.StatusPage:
    threshold = await ctx.deps.watches.threshold(ctx.sub, ctx.deps.settings.common.match_threshold)
    entries, cursor = await ctx.deps.watches.page(ctx.sub, query.cursor, query.limit)
    standings = await ctx.deps.store.standings(ctx.sub, [e.id for e in entries])
    items = []
    for entry in entries:
        matches = [
            m.Standing(**{**s, "since": at(s["since"])}) for s in standings.get(entry.id, []) if s["score"] >= threshold
        ]
        items.append(m.StatusItem(watch=watch_out(entry), listed=bool(matches), matches=matches))
    return m.StatusPage(threshold=threshold, items=items, next_cursor=cursor)
