"""The web application: a clerk's pages (reached with the unit's link) and the routes around them.

Every page is rendered by Jinja2 with autoescaping, so a file name or a cell's text shows as text, never as
markup; every form carries its session's CSRF value; no token or password is ever written to a page or a log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
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
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flows.web import uploads
from flows.web.statistician import (accept_header, campaign_today, day_files, day_page, file_detail,
                                    headers_to_review)
from flows.web.store import Session, Upload, WebStore
from transforms.core.display import plain_number
from transforms.core.figures import APPROX, AT_LEAST, EXACT, UNSPECIFIED
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import Reference, load_reference
from transforms.validate.data_docs import SITE

HERE = Path(__file__).parent
COOKIE = "warmline_session"
LOGIN_COOKIE = "warmline_login"  # the login form's CSRF value, before there is a session
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
# Great Expectations' Data Docs draw their tables with inline scripts and styles; they still load nothing from
# outside (their CDN files are shipped in the site: transforms/validate/offline_assets.py).
DOCS_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self' 'unsafe-inline' 'unsafe-eval'; font-src 'self' data:; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'self'")

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


class RateLimit:
    """At most `limit` events per key in any 60 seconds (in memory: a restart forgets, which only lets more in)."""

    def __init__(self, limit: int):
        self.limit, self._seen, self._lock = limit, defaultdict(deque), threading.Lock()

    def allow(self, key: str) -> int:
        """0 when allowed (and counted), else the seconds to wait."""
        wait = self.wait(key)
        if not wait:
            self.count(key)
        return wait

    def wait(self, key: str) -> int:
        """The seconds to wait before `key` may do it again; 0 now. Nothing is counted."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[key]
            while seen and now - seen[0] >= 60:
                seen.popleft()
            return int(60 - (now - seen[0])) + 1 if len(seen) >= self.limit else 0

    def count(self, key: str) -> None:
        with self._lock:
            self._seen[key].append(time.monotonic())


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

    # -- the statistician ---------------------------------------------------------------------------------------

    logins = RateLimit(settings.logins_per_minute)

    def statistician(request: Request) -> Session | None:
        session = store.session(request.cookies.get(COOKIE))
        return session if session and session.kind == "statistician" else None

    def to_login() -> Response:
        return RedirectResponse("/login", status_code=303)

    def checked(session: Session, form: dict) -> bool:
        return hmac.compare_digest(str(form.get("csrf", "")), session.csrf)

    async def posted(request: Request):
        """The statistician's session and the form posted, or the 403 answer when either is not right."""
        session = statistician(request)
        if session is None:
            return None, None, refused(403, "请先登录。", "Log in first.")
        form = await request.form()
        if not checked(session, form):
            return None, None, refused(403, "表单已过期，请刷新页面后重试。",
                                       "The form has expired; reload the page and try again.")
        return session, form, None

    def day_of(text: str | None) -> dt.date:
        try:
            return dt.date.fromisoformat(text) if text else campaign_today(ref())
        except ValueError:
            return campaign_today(ref())

    async def login_page(request: Request) -> Response:
        if not store.has_password():
            return refused(503, "尚未设置统计员密码。请在服务器上运行 warmline web password。",
                           "No statistician's password is set yet: run `warmline web password` on the server.")
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = page("login.html", csrf=nonce, failed=request.query_params.get("failed") == "1")
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict",
                            secure=settings.secure_cookies)
        return response

    async def login(request: Request) -> Response:
        form = await request.form()
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not hmac.compare_digest(str(form.get("csrf", "")), nonce):
            return refused(403, "表单已过期，请重新打开登录页。", "The form has expired; open the login page again.")
        address = request.client.host if request.client else ""
        wait = logins.wait(address)  # only failed attempts count: a guesser is slowed, the statistician is not
        if wait:
            return refused(429, f"登录失败次数过多，请 {wait} 秒后再试。", f"Too many failed attempts; try again in "
                           f"{wait} s.")
        if not await run_in_threadpool(store.check_password, str(form.get("password", ""))):
            logins.count(address)
            log.info("statistician login refused")
            return RedirectResponse("/login?failed=1", status_code=303)
        cookie, _ = await run_in_threadpool(store.open_session, "statistician", STATISTICIAN_SESSION)
        response = RedirectResponse("/day", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=int(STATISTICIAN_SESSION.total_seconds()), httponly=True,
                            samesite="strict", secure=settings.secure_cookies)
        response.delete_cookie(LOGIN_COOKIE)
        log.info("statistician logged in")
        return response

    async def logout(request: Request) -> Response:
        session = statistician(request)
        if session is not None and checked(session, await request.form()):
            await run_in_threadpool(store.end_session, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def home_page(request: Request) -> Response:
        return RedirectResponse("/day" if statistician(request) else "/login", status_code=303)

    async def day_view(request: Request, message: dict | None = None, status: int = 200) -> Response:
        session = statistician(request)
        if session is None:
            return to_login()
        day = day_of(request.query_params.get("date") or (message or {}).get("date"))
        try:
            shown = await run_in_threadpool(day_page, layout, ref(), day)
        except warehouse.WarehouseOutdated as exc:
            return page("day.html", status, session=session, day=day, shown=None, problem=str(exc), message=message,
                        prefect_ui=settings.prefect_ui)
        return page("day.html", status, session=session, day=day, shown=shown, problem=None, message=message,
                    prefect_ui=settings.prefect_ui)

    async def day_status_fragment(request: Request) -> Response:
        if statistician(request) is None:
            return Response(status_code=403)
        shown = await run_in_threadpool(day_page, layout, ref(), day_of(request.query_params.get("date")))
        return HTMLResponse(shown.status_html, headers={"cache-control": "no-store"})

    async def publish(request: Request) -> Response:
        session, form, refusal = await posted(request)
        if refusal is not None:
            return refusal
        day = day_of(str(form.get("date", "")))
        force, reason = form.get("force") == "1", str(form.get("reason", "")).strip()
        if force and not reason:
            return await day_view(request, {"date": day.isoformat(), "kind": "rejected",
                                            "zh": "越过阻止发布的核查发布时，必须填写理由（将被记录）。",
                                            "en": "Publishing past blocking checks needs a reason, which is recorded."},
                                  400)
        from flows.publish_day import gate_and_publish

        try:
            done = await run_in_threadpool(gate_and_publish, str(layout.home), day, force, reason or None)
        except (warehouse.WarehouseOutdated, warehouse.WarehouseBusy) as exc:
            return await day_view(request, {"date": day.isoformat(), "kind": "rejected", "zh": "未能发布。",
                                            "en": str(exc)}, 409)
        log.info("day %s: %s%s", day, "draft (held back)" if done.draft else "published",
                 " past blocking checks" if done.decision.forced else "")
        if done.draft:
            message = {"kind": "blocked", "zh": f"{day} 未发布：{len(done.decision.blocking)} 项核查阻止发布，已生成草稿。",
                       "en": f"{day} is not published: {len(done.decision.blocking)} blocking check(s); a draft was "
                             "written."}
        else:
            message = {"kind": "loaded", "zh": f"{day} 已发布" + ("（越过阻止发布的核查，理由已记录）" if done.decision.forced
                                                             else "") + "。",
                       "en": f"{day} is published" + (" past its blocking checks; the reason is recorded"
                                                      if done.decision.forced else "") + "."}
        message["date"] = day.isoformat()
        return await day_view(request, message)

    async def build_docs(request: Request) -> Response:
        """`warmline docs` from the day page: the Data Docs pages still missing built (loads Great Expectations)."""
        _, form, refusal = await posted(request)
        if refusal is not None:
            return refusal
        from transforms.validate.data_docs import DocsNotBuilt, build_pending_pages

        day = day_of(str(form.get("date", "")))
        try:
            built = await run_in_threadpool(build_pending_pages, layout.quality)
        except DocsNotBuilt as exc:
            return await day_view(request, {"date": day.isoformat(), "kind": "rejected", "zh": "校验报告页面未能生成。",
                                            "en": str(exc)}, 500)
        return await day_view(request, {"date": day.isoformat(), "kind": "loaded",
                                        "zh": f"已生成 {built.built} 个校验报告页面。",
                                        "en": f"{built.built} Data Docs page(s) built."})

    async def bulletin_file(request: Request) -> Response:
        if statistician(request) is None:
            return to_login()
        day = day_of(request.path_params["date"])
        folder = layout.bulletins / day.isoformat()
        wanted = request.path_params["name"]
        # served only by exact name from the day's listing: no path from the address is ever opened
        found = next((p for p in [*day_files(folder), *day_files(folder / "draft")]
                      if f"{'draft/' if p.parent.name == 'draft' else ''}{p.name}" == wanted), None)
        if found is None:
            return refused(404, "没有这个文件。", "No such file.", statistician(request))
        return FileResponse(found, filename=found.name)

    async def headers_view(request: Request, message: dict | None = None, status: int = 200) -> Response:
        session = statistician(request)
        if session is None:
            return to_login()
        try:
            unread, inferred = await run_in_threadpool(headers_to_review, layout)
        except warehouse.WarehouseOutdated as exc:
            unread, inferred, message = [], [], {"kind": "rejected", "zh": "还没有数据仓库。", "en": str(exc)}
        indicators = [(i.code, i.name_zh) for i in ref().indicators]
        return page("headers.html", status, session=session, unread=unread, inferred=inferred, message=message,
                    indicators=indicators)

    async def accept(request: Request) -> Response:
        session, form, refusal = await posted(request)
        if refusal is not None:
            return refusal
        header = str(form.get("header", ""))
        ok, said = await run_in_threadpool(accept_header, layout, header, str(form.get("indicator", "")) or None,
                                           str(form.get("item_type", "")) or None)
        reference.clear()  # the alias is in the reference data now
        log.info("header accepted: %s", "done" if ok else "refused")
        message = {"kind": "loaded" if ok else "rejected", "zh": "已采纳，相关文件已重新读取。" if ok else "未能采纳。",
                   "en": "Accepted; the files that have it were read again." if ok else "Not accepted.",
                   "output": said}
        return await headers_view(request, message, 200 if ok else 400)

    async def file_view(request: Request) -> Response:
        session = statistician(request)
        if session is None:
            return to_login()
        detail = await run_in_threadpool(file_detail, layout, request.path_params["submission_id"])
        if detail is None:
            return refused(404, "没有这个文件。", "No such file.", session)
        uploaded_as = await run_in_threadpool(store.display_name_of, detail["submission"]["file_name"])
        return page("file.html", session=session, result=detail, uploaded_as=uploaded_as)

    async def status_css(request: Request) -> Response:
        from transforms.day.status_page import _CSS

        return Response(_CSS, media_type="text/css")

    docs_site = StaticFiles(directory=layout.quality / SITE, check_dir=False)

    async def docs(scope, receive, send):
        """The Data Docs site (offline copies of its scripts and styles inside it), for the statistician only."""
        request = Request(scope)
        if statistician(request) is None:
            return await to_login()(scope, receive, send)
        return await docs_site(scope, receive, send)

    routes = [
        Route("/", home_page),
        Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/day", day_view),
        Route("/day/status", day_status_fragment),
        Route("/day/publish", publish, methods=["POST"]),
        Route("/day/docs", build_docs, methods=["POST"]),
        Route("/day/{date}/bulletin/{name:path}", bulletin_file),
        Route("/headers", headers_view),
        Route("/headers/accept", accept, methods=["POST"]),
        Route("/files/{submission_id:str}", file_view),
        Route("/status.css", status_css),
        Mount("/docs", docs),
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
                wanted = {**SECURITY_HEADERS, "content-security-policy": DOCS_POLICY} \
                    if scope["path"].startswith("/docs/") else SECURITY_HEADERS
                message["headers"] = list(message.get("headers", [])) + [
                    (name.encode(), value.encode()) for name, value in wanted.items() if name.encode() not in present]
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
