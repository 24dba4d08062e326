"""What every answer of the web pages carries and what every request is counted against: the security headers,
the request log (which never writes a clerk's token), and the rate limits."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque

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
