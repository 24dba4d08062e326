"""What the web pages keep between requests, in one SQLite file under the home (data/web/web.sqlite): the units'
upload tokens and the statistician's password (only their hashes), sessions, and each upload with its display
name. SQLite because requests run on several threads and a restart of `warmline web` must lose nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id    TEXT PRIMARY KEY,     -- shown to the statistician to name a token; not the secret
    unit_code   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE, -- sha256 of the secret: a 256-bit random token needs no slow KDF
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,    -- sha256 of the cookie's value
    kind         TEXT NOT NULL CHECK (kind IN ('clerk', 'statistician')),
    token_id     TEXT,                -- a clerk's session: the token it was opened with
    csrf         TEXT NOT NULL,       -- the value every form of this session carries
    expires_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id    TEXT PRIMARY KEY,
    unit_code    TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    display_name TEXT NOT NULL,       -- the clerk's file name, shown, never used as a path
    inbox_name   TEXT NOT NULL UNIQUE, -- the name it landed under in the inbox (raw.submissions.file_name)
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    salt        TEXT NOT NULL,
    password_hash TEXT NOT NULL,      -- scrypt (n=2**14, r=8, p=1)
    set_at      TEXT NOT NULL
);
"""

SCRYPT = dict(n=2**14, r=8, p=1, dklen=32)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Token:
    token_id: str
    unit_code: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class Session:
    kind: str
    token_id: str | None
    unit_code: str | None
    csrf: str


@dataclass(frozen=True)
class Upload:
    upload_id: str
    unit_code: str
    display_name: str
    inbox_name: str
    size: int
    sha256: str
    uploaded_at: str


class WebStore:
    """The web pages' own records for one home; safe to share between request threads."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connection() as con:
            con.executescript(SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            con = sqlite3.connect(self.path, timeout=30)
            try:
                with con:
                    yield con
            finally:
                con.close()

    # -- tokens ----------------------------------------------------------------------------------------------------

    def add_token(self, unit_code: str) -> tuple[Token, str]:
        """A new upload token for a unit: the record, and the secret (shown once; only its hash is kept)."""
        secret = secrets.token_urlsafe(32)
        token = Token(secrets.token_hex(4), unit_code, _now().isoformat(timespec="seconds"), None)
        with self._connection() as con:
            con.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, NULL)",
                        (token.token_id, unit_code, _sha256(secret), token.created_at))
        return token, secret

    def revoke(self, unit_code: str | None = None, token_id: str | None = None) -> list[Token]:
        """Revoke a unit's tokens (or one token); their sessions end at once. The tokens revoked."""
        now = _now().isoformat(timespec="seconds")
        with self._connection() as con:
            rows = con.execute("SELECT token_id, unit_code, created_at, ? FROM tokens WHERE revoked_at IS NULL AND "
                               "(? IS NULL OR unit_code = ?) AND (? IS NULL OR token_id = ?)",
                               (now, unit_code, unit_code, token_id, token_id)).fetchall()
            for row in rows:
                con.execute("UPDATE tokens SET revoked_at = ? WHERE token_id = ?", (now, row[0]))
                con.execute("DELETE FROM sessions WHERE token_id = ?", (row[0],))
        return [Token(*row) for row in rows]

    def tokens(self) -> list[Token]:
        with self._connection() as con:
            rows = con.execute("SELECT token_id, unit_code, created_at, revoked_at FROM tokens "
                               "ORDER BY unit_code, created_at").fetchall()
        return [Token(*row) for row in rows]

    def token_for(self, secret: str) -> Token | None:
        """The live token whose secret this is; None for a wrong or revoked one."""
        with self._connection() as con:
            row = con.execute("SELECT token_id, unit_code, created_at, revoked_at FROM tokens "
                              "WHERE token_hash = ? AND revoked_at IS NULL", (_sha256(secret),)).fetchone()
        return Token(*row) if row else None

    # -- the statistician's password -----------------------------------------------------------------------------

    def set_password(self, password: str) -> None:
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
        with self._connection() as con:
            con.execute("INSERT OR REPLACE INTO login VALUES (1, ?, ?, ?)",
                        (salt.hex(), digest.hex(), _now().isoformat(timespec="seconds")))
            con.execute("DELETE FROM sessions WHERE kind = 'statistician'")  # a new password ends old sessions

    def has_password(self) -> bool:
        with self._connection() as con:
            return con.execute("SELECT count(*) FROM login").fetchone()[0] == 1

    def check_password(self, password: str) -> bool:
        with self._connection() as con:
            row = con.execute("SELECT salt, password_hash FROM login").fetchone()
        if row is None:
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(row[0]), **SCRYPT)
        return hmac.compare_digest(digest.hex(), row[1])

    # -- sessions ----------------------------------------------------------------------------------------------------

    def open_session(self, kind: str, lifetime: dt.timedelta, token_id: str | None = None) -> tuple[str, Session]:
        """A new session: the cookie's value (random; only its hash is kept) and the session."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = (_now() + lifetime).isoformat(timespec="seconds")
        with self._connection() as con:
            con.execute("DELETE FROM sessions WHERE expires_at < ?", (_now().isoformat(timespec="seconds"),))
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (_sha256(cookie), kind, token_id, csrf, expires))
        return cookie, self.session(cookie)

    def session(self, cookie: str | None) -> Session | None:
        """The live session of this cookie; None when there is none, it expired, or its token was revoked."""
        if not cookie:
            return None
        with self._connection() as con:
            row = con.execute(
                "SELECT s.kind, s.token_id, t.unit_code, s.csrf FROM sessions s LEFT JOIN tokens t USING (token_id) "
                "WHERE s.session_hash = ? AND s.expires_at > ? AND (s.kind = 'statistician' OR t.revoked_at IS NULL)",
                (_sha256(cookie), _now().isoformat(timespec="seconds"))).fetchone()
        return Session(*row) if row else None

    def end_session(self, cookie: str) -> None:
        with self._connection() as con:
            con.execute("DELETE FROM sessions WHERE session_hash = ?", (_sha256(cookie),))

    # -- uploads -----------------------------------------------------------------------------------------------------

    def record_upload(self, upload: Upload, token_id: str) -> None:
        with self._connection() as con:
            con.execute("INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (upload.upload_id, upload.unit_code, token_id, upload.display_name, upload.inbox_name,
                         upload.size, upload.sha256, upload.uploaded_at))

    def uploads_of(self, unit_code: str) -> list[Upload]:
        """A unit's uploads, newest first."""
        with self._connection() as con:
            rows = con.execute("SELECT upload_id, unit_code, display_name, inbox_name, size, sha256, uploaded_at "
                               "FROM uploads WHERE unit_code = ? ORDER BY uploaded_at DESC, upload_id",
                               (unit_code,)).fetchall()
        return [Upload(*row) for row in rows]

    def upload(self, upload_id: str, unit_code: str) -> Upload | None:
        """One upload, only if it is this unit's: a clerk never reaches another unit's file by its id."""
        with self._connection() as con:
            row = con.execute("SELECT upload_id, unit_code, display_name, inbox_name, size, sha256, uploaded_at "
                              "FROM uploads WHERE upload_id = ? AND unit_code = ?", (upload_id, unit_code)).fetchone()
        return Upload(*row) if row else None

    def display_name_of(self, inbox_name: str) -> str | None:
        """The clerk's own name for a file that came in through the web pages; None for a file dropped otherwise."""
        with self._connection() as con:
            row = con.execute("SELECT display_name FROM uploads WHERE inbox_name = ?", (inbox_name,)).fetchone()
        return row[0] if row else None
