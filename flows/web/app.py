"""The web application: a clerk's pages (reached with the unit's link) and the routes around them.

Every page is rendered by Jinja2 with autoescaping, so a file name or a cell's text shows as text, never as
markup; every form carries its session's CSRF value; no token or password is ever written to a page or a log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import tempfile
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flows.web import uploads
from flows.web.store import Session, Upload, WebStore
from transforms.core.display import plain_number
from transforms.core.figures import APPROX, AT_LEAST, EXACT, UNSPECIFIED
from transforms.core.layout import Layout
from transforms.core.reference import Reference, load_reference

HERE = Path(__file__).parent
COOKIE = "warmline_session"
CLERK_SESSION = dt.timedelta(hours=12)
STATISTICIAN_SESSION = dt.timedelta(hours=8)

log = logging.getLogger("warmline.web")

# The browser may fetch only what this application serves; no page may be framed or post elsewhere.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # a clerk's link never travels in a Referer header
    "x-frame-options": "DENY",
}

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
    secure_cookies: bool = False  # True behind a TLS proxy (README): cookies then travel over HTTPS only
    prefect_ui: str | None = None


class RateLimit:
    """At most `limit` events per key in any 60 seconds (in memory: a restart forgets, which only lets more in)."""

    def __init__(self, limit: int):
        self.limit, self._seen, self._lock = limit, defaultdict(deque), threading.Lock()

    def allow(self, key: str) -> int:
        """0 when allowed (and counted), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[key]
            while seen and now - seen[0] >= 60:
                seen.popleft()
            if len(seen) >= self.limit:
                return int(60 - (now - seen[0])) + 1
            seen.append(now)
            return 0


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(STATES=STATES)
    env.filters["figure"] = _figure
    return env


def _figure(row: dict) -> str:
    """A figure as warmline read it, the qualifier in words: '480,000 以上 at least', '若干 some'."""
    if row.get("value") is None:
        return QUALIFIERS[UNSPECIFIED]
    words = QUALIFIERS.get(row.get("qualifier") or EXACT)
    return f"{plain_number(row['value'])} {words}" if words else plain_number(row["value"])


def create_app(home: Path, settings: WebSettings = WebSettings()) -> Starlette:
    """The application for one warmline home."""
    layout = Layout(home)
    store = WebStore(layout.home / "data" / "web" / "web.sqlite")
    env = _templates()
    limiter = RateLimit(settings.uploads_per_minute)
    reference: dict[str, Reference] = {}

    def ref() -> Reference:
        if "ref" not in reference:
            reference["ref"] = load_reference(layout.reference)
        return reference["ref"]

    def unit_name(code: str) -> str:
        found = ref().find_unit(code)
        return found.name if found else code

    env.filters["local"] = lambda stamp: dt.datetime.fromisoformat(stamp).astimezone(
        ref().campaign.timezone).strftime("%Y-%m-%d %H:%M")  # campaign time, as the reports give it

    def page(template: str, status: int = 200, **context) -> HTMLResponse:
        response = HTMLResponse(env.get_template(template).render(**context), status_code=status)
        response.headers["cache-control"] = "no-store"
        return response

    def refused(status: int, zh: str, en: str, session: Session | None = None) -> HTMLResponse:
        return page("refused.html", status, zh=zh, en=en, session=session)

    def clerk(request: Request) -> Session | None:
        session = store.session(request.cookies.get(COOKIE))
        return session if session and session.kind == "clerk" else None

    def forbidden() -> HTMLResponse:
        return refused(403, "链接无效或已停用。请使用统计员发给本单位的上传链接；如链接已停用，请向统计员索取新链接。",
                       "This link is not valid or has been revoked. Use the upload link the statistician sent your "
                       "unit; if it was revoked, ask the statistician for a new one.")

    async def open_link(request: Request) -> Response:
        token = await run_in_threadpool(store.token_for, request.path_params["token"])
        if token is None:
            return forbidden()
        cookie, _ = await run_in_threadpool(store.open_session, "clerk", CLERK_SESSION, token.token_id)
        response = RedirectResponse("/unit", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=int(CLERK_SESSION.total_seconds()), httponly=True,
                            samesite="strict", secure=settings.secure_cookies)
        return response

    async def unit_page(request: Request) -> Response:
        session = clerk(request)
        if session is None:
            return forbidden()
        earlier = await run_in_threadpool(store.uploads_of, session.unit_code)
        states = await run_in_threadpool(uploads.states, layout, [u.inbox_name for u in earlier])
        rows = [(upload, states.get(upload.inbox_name, "waiting")) for upload in earlier]
        return page("unit.html", session=session, unit=unit_name(session.unit_code), uploads=rows,
                    limit_mb=uploads.MAX_UPLOAD_MB, suffixes=", ".join(uploads.UPLOAD_SUFFIXES))

    async def upload(request: Request) -> Response:
        session = clerk(request)
        if session is None:
            return forbidden()
        if uploads.too_large_declared(request.headers.get("content-length")):
            problem = uploads.too_large()  # answered before the body is read: nothing of it is kept
            return refused(problem.status, problem.zh, problem.en, session)
        wait = limiter.allow(session.token_id)
        if wait:
            response = refused(429, f"上传过于频繁，请 {wait} 秒后再试。", f"Too many uploads; try again in {wait} s.",
                               session)
            response.headers["retry-after"] = str(wait)
            return response
        try:
            body = await uploads.read_body(request.stream())
            fields, files = uploads.form_parts(request.headers.get("content-type", ""), body)
            if not hmac.compare_digest(fields.get("csrf", ""), session.csrf):
                return refused(403, "表单已过期，请刷新页面后重新上传。", "The form has expired; reload the page and "
                               "upload again.", session)
            if len(files) != 1:
                raise uploads.UploadRefused(400, "请选择一个文件再上传", "choose one file, then upload")
            client_name, content = files[0]
            suffix = uploads.suffix_of(client_name)
            landed = await run_in_threadpool(uploads.land, layout, session.unit_code, suffix, content)
        except uploads.UploadRefused as problem:
            return refused(problem.status, problem.zh, problem.en, session)
        record = Upload(landed.upload_id, session.unit_code, uploads.display_name(client_name),
                                landed.inbox_name, landed.size, landed.sha256, landed.uploaded_at)
        await run_in_threadpool(store.record_upload, record, session.token_id)
        log.info("upload %s from unit %s (token %s): %d bytes, landed as %s", landed.upload_id, session.unit_code,
                 session.token_id, landed.size, landed.inbox_name)
        return RedirectResponse(f"/unit/uploads/{landed.upload_id}", status_code=303)

    async def upload_page(request: Request) -> Response:
        session = clerk(request)
        if session is None:
            return forbidden()
        found = await run_in_threadpool(store.upload, request.path_params["upload_id"], session.unit_code)
        if found is None:  # another unit's id reads exactly as one that does not exist
            return refused(404, "没有这份上传记录。", "No such upload.", session)
        result = await run_in_threadpool(uploads.outcome, layout, found.inbox_name)
        other_unit = result.submission and result.submission["unit_code"] not in (None, session.unit_code)
        return page("upload.html", session=session, unit=unit_name(session.unit_code), upload=found, result=result,
                    other_unit=other_unit, waited=_seconds_since(found.uploaded_at))

    async def template(request: Request) -> Response:
        session = clerk(request)
        if session is None:
            return forbidden()
        from transforms.read.template import write_submission

        name = unit_name(session.unit_code)
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "template.xlsx"
            await run_in_threadpool(write_submission, target, ref(), name)
            content = target.read_bytes()
        filename = f"{name}_{ref().campaign.short_name}统计表.xlsx"
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": _attachment(filename)})

    routes = [
        Route("/u/{token}", open_link),
        Route("/unit", unit_page),
        Route("/unit/upload", upload, methods=["POST"]),
        Route("/unit/uploads/{upload_id:str}", upload_page),
        Route("/unit/template.xlsx", template),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeadersAndLog)])
    app.state.store = store
    return app


class SecurityHeadersAndLog:
    """Every answer gets SECURITY_HEADERS; every request a line in the log, with a clerk's token left out."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.monotonic(), [0]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()
                    if name.encode() not in present]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("%s %s failed", scope["method"], _loggable(scope["path"]))
            raise
        finally:
            log.info("%s %s %d %.0f ms", scope["method"], _loggable(scope["path"]), status[0],
                     (time.monotonic() - started) * 1000)


def _loggable(path: str) -> str:
    """A request's path as logged: a clerk's link is a secret, so its token is never written."""
    return "/u/<token>" if path.startswith("/u/") else path


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{quote(filename)}"


def _seconds_since(stamp: str) -> float:
    return (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(stamp)).total_seconds()
