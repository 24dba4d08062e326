"""A clerk's upload: the request body read under a size limit, the workbook taken out of the form, landed in the
inbox exactly as a dropped file is (written under a temporary name, then renamed), and later what became of it,
read from the analysts' copy of the warehouse (the warehouse itself is the writer's alone)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from python_multipart.multipart import MultipartParser, parse_options_header

from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.problems import catalogue
from transforms.core.safe_text import printable
from transforms.read.workbook import SUPPORTED_SUFFIXES

MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 2**20  # the workbook; the form around it may add a little
_FORM_OVERHEAD = 64 * 1024
UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))


class UploadRefused(ValueError):
    """An upload not taken: `status` is the HTTP answer, the message says why in the clerk's words."""

    def __init__(self, status: int, zh: str, en: str):
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


def too_large_declared(content_length: str | None) -> bool:
    """Whether the request says, before its body, that it is larger than any upload may be."""
    return content_length is not None and content_length.isdigit() and \
        int(content_length) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD


def too_large() -> UploadRefused:
    return UploadRefused(413, f"文件超过 {MAX_UPLOAD_MB} MB 上限，未保存。请只提交统计表（删除图片和多余的工作表）",
                         f"the file is over the {MAX_UPLOAD_MB} MB limit and was not kept; send the table alone, "
                         "without pictures or extra sheets")


async def read_body(chunks) -> bytes:
    """The request body, read in memory and abandoned as soon as it passes the limit (nothing is written)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
            raise too_large()
    return bytes(body)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


def form_parts(content_type: str, body: bytes) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """A multipart/form-data body as its text fields and its files (client's file name, bytes)."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, "请用网页上的表单上传文件", "send the file with the page's form")
    parts: list[_Part] = []
    header = {"field": b"", "value": b""}

    def on_header_end():
        parts[-1].headers[header["field"].lower()] = header["value"]
        header["field"] = header["value"] = b""

    callbacks = {
        "on_part_begin": lambda: parts.append(_Part()),
        "on_header_field": lambda data, start, end: header.__setitem__("field", header["field"] + data[start:end]),
        "on_header_value": lambda data, start, end: header.__setitem__("value", header["value"] + data[start:end]),
        "on_header_end": on_header_end,
        "on_part_data": lambda data, start, end: parts[-1].data.extend(data[start:end]),
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # python-multipart's errors for a malformed body
        raise UploadRefused(400, "上传的内容不完整，请重新上传", f"the upload was incomplete ({exc}); upload again") \
            from exc
    fields, files = {}, []
    for part in parts:
        _, disposition = parse_options_header(part.headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            files.append((disposition[b"filename"].decode("utf-8", "replace"), bytes(part.data)))
        else:
            fields[name] = part.data.decode("utf-8", "replace")
    return fields, files


def display_name(client_name: str) -> str:
    """The clerk's file name for showing only: its last part (a browser may send a path), control and
    direction-override characters made visible, at most 120 characters. Never used as a path."""
    last = PureWindowsPath(PurePosixPath(client_name).name).name.strip() or "（无名文件）"
    return printable(last)[:120]


def suffix_of(client_name: str) -> str:
    suffix = PurePosixPath(client_name.lower()).suffix
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadRefused(
            415, f"只接受电子表格文件（{'、'.join(UPLOAD_SUFFIXES)}），这个文件是 {suffix or '无扩展名'}",
            f"only spreadsheets are taken ({', '.join(UPLOAD_SUFFIXES)}); this file is {suffix or 'without a suffix'}")
    return suffix


@dataclass(frozen=True)
class Landed:
    upload_id: str
    inbox_name: str
    size: int
    sha256: str
    uploaded_at: str


def land(layout: Layout, unit_code: str, suffix: str, content: bytes) -> Landed:
    """Put an uploaded workbook in the inbox as a dropped file arrives: written under a temporary name the watcher
    ignores, flushed to disk, then renamed to its own name (the unit's code and a random id: the clerk's name is
    never a path) in one step, so the service never reads half a file."""
    if not content:
        raise UploadRefused(400, "文件是空的，请选择填好的统计表", "the file is empty; choose the filled-in table")
    upload_id = secrets.token_hex(8)
    inbox_name = f"{unit_code}_upload_{upload_id}{suffix}"
    layout.inbox.mkdir(parents=True, exist_ok=True)
    temporary = layout.inbox / f".{inbox_name}.part"
    with open(temporary, "xb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.rename(temporary, layout.inbox / inbox_name)
    return Landed(upload_id, inbox_name, len(content), hashlib.sha256(content).hexdigest(),
                  dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class Outcome:
    """What became of an upload, as far as the analysts' copy knows: no submission yet while it waits."""

    submission: dict | None
    figures: list[dict] = field(default_factory=list)
    issues: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    unmapped: list[dict] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.submission["status"] if self.submission else "waiting"


def outcome(layout: Layout, inbox_name: str) -> Outcome:
    """What the service made of the file landed as `inbox_name`, from data/warehouse/analytics.duckdb."""
    if not layout.analytics.exists():
        return Outcome(None)
    con = warehouse.connect(layout.analytics, read_only=True, wait_seconds=5)
    try:
        return read_outcome(con, file_name=inbox_name)
    finally:
        con.close()


def receipt(con, submission_id: str | None = None, file_name: str | None = None) -> dict | None:
    """A file's receipt, by its submission id or its name in the inbox; None when it is not on record."""
    found = warehouse.rows(con, "file_receipt", {"submission_id": submission_id, "file_name": file_name})
    return found[0] if found else None


def read_outcome(con, submission_id: str | None = None, file_name: str | None = None) -> Outcome:
    """A file's receipt with its figures, problems (each with its fix), headers to check and unread cells, from
    the warehouse or the analysts' copy `con` is open on."""
    submission = receipt(con, submission_id, file_name)
    if submission is None:
        return Outcome(None)
    key = {"submission_id": submission["submission_id"]}
    return Outcome(submission, warehouse.rows(con, "upload_figures", key),
                   with_fixes(warehouse.rows(con, "upload_issues", key)), warehouse.rows(con, "upload_headers", key),
                   warehouse.rows(con, "upload_unmapped_cells", key))


def states(layout: Layout, inbox_names: list[str]) -> dict[str, str]:
    """The state of each of these landed files that the analysts' copy knows (the others still wait)."""
    if not inbox_names or not layout.analytics.exists():
        return {}
    con = warehouse.connect(layout.analytics, read_only=True, wait_seconds=5)
    try:
        return {row["file_name"]: row["status"] for row in warehouse.rows(con, "upload_states", {"names": inbox_names})}
    finally:
        con.close()


def with_fixes(issues: list[dict]) -> list[dict]:
    """Each problem with what to write instead, from the problem catalogue (the clerk's fix)."""
    known = catalogue()
    return [{**issue, "fix_zh": known.get(issue["rule"], {}).get("fix_zh", ""),
             "fix_en": known.get(issue["rule"], {}).get("fix_en", "")} for issue in issues]
