"""What every page of `warmline web` shares: the home, its web store, the templates, the settings, and how a
request's session is found and a page or a refusal is answered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from flows.web.store import Session, WebStore
from transforms.core.display import plain_number
from transforms.core.figures import APPROX, AT_LEAST, EXACT, UNSPECIFIED
from transforms.core.layout import Layout
from transforms.core.reference import Reference, load_reference
from transforms.warehouse.unread import REASONS

HERE = Path(__file__).parent
COOKIE = "warmline_session"
LOGIN_COOKIE = "warmline_login"  # the login form's CSRF value, before there is a session
CLERK_SESSION = dt.timedelta(hours=12)
STATISTICIAN_SESSION = dt.timedelta(hours=8)

STATES = {  # a submission's state in the clerk's words, Chinese first
    "waiting": ("处理中", "being read"),
    "loaded": ("已入库", "loaded"),
    "rejected": ("退回", "rejected"),
    "duplicate": ("重复文件", "duplicate"),
    "superseded": ("已被更新的报送替代", "superseded"),
}
QUALIFIERS = {APPROX: "约 about", AT_LEAST: "以上 at least", UNSPECIFIED: "若干 some"}


@dataclass(frozen=True)
class WebSettings:
    """What `warmline web` was started with."""

    uploads_per_minute: int = 10  # per token: a clerk re-sending corrections, not a script
    logins_per_minute: int = 10  # failed logins per address: a person mistyping, not a password guesser
    secure_cookies: bool = False  # True behind a TLS proxy (README): cookies then travel over HTTPS only
    prefect_ui: str | None = None


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(STATES=STATES)
    env.filters["figure"] = _figure
    # why a header or a cell was not read, in words (as the status page and `warmline status` say it)
    env.filters["reason_words"] = lambda code: REASONS.get(code, (code or "", ""))
    return env


def _figure(row: dict) -> str:
    """A figure as warmline read it, the qualifier in words: '480,000 以上 at least', '若干 some'."""
    if row.get("value") is None:
        return QUALIFIERS[UNSPECIFIED]
    words = QUALIFIERS.get(row.get("qualifier") or EXACT)
    return f"{plain_number(row['value'])} {words}" if words else plain_number(row["value"])


class Site:
    """One home's web pages: its layout, store, templates and settings, and the helpers every route uses."""

    def __init__(self, home: Path, settings: WebSettings):
        self.layout = Layout(home)
        self.settings = settings
        self.store = WebStore(self.layout.home / "data" / "web" / "web.sqlite")
        self.env = _templates()
        self.env.filters["local"] = lambda stamp: dt.datetime.fromisoformat(stamp).astimezone(
            self.ref().campaign.timezone).strftime("%Y-%m-%d %H:%M")  # campaign time, as the reports give it
        self._reference: Reference | None = None

    def ref(self) -> Reference:
        """The reference data, read once; forget_reference() after a change (a header accepted)."""
        if self._reference is None:
            self._reference = load_reference(self.layout.reference)
        return self._reference

    def forget_reference(self) -> None:
        self._reference = None

    def unit_name(self, code: str) -> str:
        found = self.ref().find_unit(code)
        return found.name if found else code

    def page(self, template: str, status: int = 200, **context) -> HTMLResponse:
        response = HTMLResponse(self.env.get_template(template).render(**context), status_code=status)
        response.headers["cache-control"] = "no-store"
        return response

    def refused(self, status: int, zh: str, en: str, session: Session | None = None) -> HTMLResponse:
        return self.page("refused.html", status, zh=zh, en=en, session=session)

    def session(self, request: Request, kind: str) -> Session | None:
        """The request's live session of this kind (clerk or statistician), else None."""
        session = self.store.session(request.cookies.get(COOKIE))
        return session if session and session.kind == kind else None

    def set_session_cookie(self, response: Response, cookie: str, lifetime: dt.timedelta) -> None:
        response.set_cookie(COOKIE, cookie, max_age=int(lifetime.total_seconds()), httponly=True, samesite="strict",
                            secure=self.settings.secure_cookies)

    @staticmethod
    def to_login() -> Response:
        return RedirectResponse("/login", status_code=303)
