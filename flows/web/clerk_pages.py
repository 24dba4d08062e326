"""A clerk's pages, reached with the unit's link: the upload form, the unit's uploads, what became of each, and the
unit's blank template."""

from __future__ import annotations

import datetime as dt
import hmac
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from flows.web import uploads
from flows.web.guard import RateLimit, log
from flows.web.site import CLERK_SESSION, Site
from flows.web.store import Session, Upload


def routes(site: Site) -> list[Route]:
    layout, store, settings = site.layout, site.store, site.settings
    page, refused, ref, unit_name = site.page, site.refused, site.ref, site.unit_name
    limiter = RateLimit(settings.uploads_per_minute)

    def clerk(request: Request) -> Session | None:
        return site.session(request, "clerk")

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
        site.set_session_cookie(response, cookie, CLERK_SESSION)
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

    return [
        Route("/u/{token}", open_link),
        Route("/unit", unit_page),
        Route("/unit/upload", upload, methods=["POST"]),
        Route("/unit/uploads/{upload_id:str}", upload_page),
        Route("/unit/template.xlsx", template),
    ]


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{quote(filename)}"


def _seconds_since(stamp: str) -> float:
    return (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(stamp)).total_seconds()
