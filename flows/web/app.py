"""The web application of `warmline web`: the clerk's pages and the statistician's, with the security headers and
the request log around every answer.

Every page is rendered by Jinja2 with autoescaping, so a file name or a cell's text shows as text, never as
markup; every form carries its session's CSRF value; no token or password is ever written to a page or a log.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from flows.web import clerk_pages, statistician_pages
from flows.web.guard import SecurityHeadersAndLog
from flows.web.site import HERE, Site, WebSettings

__all__ = ["WebSettings", "create_app"]


def create_app(home: Path, settings: WebSettings = WebSettings()) -> Starlette:
    """The application for one warmline home."""
    site = Site(home, settings)
    routes = [*statistician_pages.routes(site), *clerk_pages.routes(site),
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeadersAndLog)])
    app.state.store = site.store
    return app
