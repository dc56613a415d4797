"""The subscribers' web pages, served by the alerts service beside /v1 on the same data, keys and isolation.

Server-rendered HTML (Jinja2 templates in ``templates/``), a little progressive enhancement (``static/live.js``
refreshes the inbox when a new alert arrives; every page works without it). One module per page group, each
calling the same store and API functions as /v1, with the signed-in subscriber in the request as the API's
auth middleware sets it, so a page can never reach another subscriber's data.

- ``session``: sign in with an API key (a session cookie: HttpOnly, SameSite=Strict, expiring), CSRF tokens
  on every form, sign-out, failed keys rate-limited like the API's;
- ``inbox``: alerts newest first, unreviewed first; one alert with its change and reasons; review actions;
- ``companies``: each watched company's standing on every list and its timeline;
- ``watchlist``: CSV upload with its per-row report, add / edit / remove, download;
- ``deliveries``: endpoints, success rates, attempts, dead letters and replay, test events, secrets;
- ``lists``: every source, its freshness and the guard's last verdict.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from alerts.api.deps import Deps
from alerts.web import session
from alerts.web.companies import routes as companies
from alerts.web.deliveries import routes as deliveries
from alerts.web.inbox import routes as inbox
from alerts.web.lists import routes as lists
from alerts.web.render import Pages
from alerts.web.watchlist import routes as watchlist

STATIC = Path(__file__).parent / "static"


def mount_pages(app: web.Application, deps: Deps) -> None:
    pages = Pages(deps)
    app.middlewares.append(session.middleware(pages))
    app.router.add_get("/", session.home)
    app.router.add_static("/app/static/", STATIC, name="static")
    for add in (session.routes, inbox, companies, watchlist, deliveries, lists):
        add(app, pages)
