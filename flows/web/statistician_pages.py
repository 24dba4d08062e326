"""The statistician's pages, behind a login: the day, a file, the header review, the publishing gate, the
bulletin's files and the Data Docs."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flows.web.guard import RateLimit, log
from flows.web.site import COOKIE, LOGIN_COOKIE, STATISTICIAN_SESSION, Site
from flows.web.statistician import (accept_header, campaign_today, day_files, day_page, file_detail,
                                    headers_to_review, report_of)
from flows.web.store import Session
from transforms import warehouse
from transforms.validate.data_docs import SITE


def routes(site: Site) -> list:
    layout, store, settings = site.layout, site.store, site.settings
    page, refused, ref, to_login = site.page, site.refused, site.ref, site.to_login

    logins = RateLimit(settings.logins_per_minute)

    def statistician(request: Request) -> Session | None:
        return site.session(request, "statistician")

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
        site.set_session_cookie(response, cookie, STATISTICIAN_SESSION)
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
        site.forget_reference()  # the alias is in the reference data now
        log.info("header accepted: %s", "done" if ok else "refused")
        message = {"kind": "loaded" if ok else "rejected", "zh": "已采纳，相关文件已重新读取。" if ok else "未能采纳。",
                   "en": "Accepted; the files that have it were read again." if ok else "Not accepted.",
                   "output": said}
        return await headers_view(request, message, 200 if ok else 400)

    async def file_view(request: Request) -> Response:
        session = statistician(request)
        if session is None:
            return to_login()
        found = await run_in_threadpool(file_detail, layout, request.path_params["submission_id"])
        if found is None:
            return refused(404, "没有这个文件。", "No such file.", session)
        detail, validations = found
        uploaded_as = await run_in_threadpool(store.display_name_of, detail.submission["file_name"])
        return page("file.html", session=session, result=detail, validations=validations, uploaded_as=uploaded_as)

    async def rejection_report(request: Request) -> Response:
        """A rejected file's report, as `warmline run` wrote it for the clerk (data/raw/rejected/)."""
        if statistician(request) is None:
            return to_login()
        recorded = await run_in_threadpool(report_of, layout, request.path_params["submission_id"])
        report = (layout.home / recorded).resolve() if recorded else None
        # only a report inside the rejected folder is served, whatever the warehouse says
        if report is None or not report.is_relative_to(layout.rejected.resolve()) or not report.is_file():
            return refused(404, "这个文件没有退回报告。", "This file has no rejection report.", statistician(request))
        return FileResponse(report, media_type="text/plain; charset=utf-8", filename=report.name,
                            content_disposition_type="inline")

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

    return [
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
        Route("/files/{submission_id:str}/report.txt", rejection_report),
        Route("/status.css", status_css),
        Mount("/docs", docs),
    ]
