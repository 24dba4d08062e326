"""Ingest one received file: archive it, check it, read it in a guarded process, validate it, record its state."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.layout import Layout
from transforms.load import DUPLICATE, LOADED, REJECTED, Outcome, Receipt, find_receipt, find_same_content, record
from transforms.precheck import precheck
from transforms.reference import Reference
from transforms.report import one_line_reason, rejection_report
from transforms.safe_read import ReadResult, SafeReader
from transforms.safe_text import readable_name, safe_file_name
from transforms.submission import ERROR, Issue, SubmissionParser
from transforms.unit_facts import unit_facts
from transforms.validation import SubmissionValidator

# Not a final state, and not recorded: the file is still being written (it stays in the inbox for a later run),
# or it left the inbox before it was read (another run took it).
SKIPPED = "skipped"
STILL_WRITTEN = "still being written (its size or time changed while it was read); left in the inbox for the next run"
GONE = "no longer in the inbox: another run took it first"
SETTLE_SECONDS = 1.0  # a file changed this recently is watched this long before it is read
MAX_FILE_BYTES = 50 * 2**20  # larger files are archived and refused without being read into memory
_CHUNK = 1 << 20
_ARCHIVE_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


def receipt_for(path: Path, content: bytes, layout: Layout, stat: os.stat_result | None = None,
                sha: str | None = None) -> Receipt:
    """Identify one receipt: the same file found again (same bytes, name, landing time) is the same receipt."""
    sha = sha or hashlib.sha256(content).hexdigest()
    stat = stat or path.stat()
    received_at = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc)
    key = b"|".join((sha.encode(), os.fsencode(path.name), str(stat.st_mtime_ns).encode()))
    submission_id = hashlib.sha256(key).hexdigest()[:12]
    archive_path = layout.archive / f"{sha}{archive_suffix(path.name)}"
    return Receipt(submission_id, readable_name(path.name), sha, received_at,
                   str(archive_path.relative_to(layout.home)))


def archive_suffix(name: str) -> str:
    """The archived copy keeps the file's extension when it is a plain one ('.xlsx'), else none."""
    suffix = Path(readable_name(name)).suffix.lower()
    return suffix if _ARCHIVE_SUFFIX.fullmatch(suffix) else ""


def archive_copy(content: bytes, target: Path) -> None:
    """Write the archived copy once, atomically; an existing copy (same hash, same bytes) is never rewritten."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Arrival:
    """A file as read from the inbox: its receipt, its bytes (None when too large to read), how it stood."""

    receipt: Receipt
    content: bytes | None
    stat: os.stat_result
    changing: bool = False


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_size, b.st_mtime_ns)


def receive(path: Path, layout: Layout, settle_seconds: float = SETTLE_SECONDS) -> Arrival:
    """Read a file and archive its bytes, unless it is still being written (then `changing`, nothing archived).

    A file changed in the last `settle_seconds` is watched that long first; a file whose size or time moves
    while it is read is still being written. Files over MAX_FILE_BYTES are hashed and archived in chunks.
    """
    before = os.stat(path)
    age = time.time() - before.st_mtime
    if age < settle_seconds:
        time.sleep(min(settle_seconds - age, settle_seconds) if age >= 0 else settle_seconds)
        now = os.stat(path)
        if not _same(before, now):
            return Arrival(receipt_for(path, b"", layout, now), None, now, changing=True)
        before = now
    staged = None
    try:
        with open(path, "rb") as fh:
            if before.st_size <= MAX_FILE_BYTES:
                content = fh.read(MAX_FILE_BYTES + 1)
                sha = hashlib.sha256(content).hexdigest()
            else:
                content, (sha, staged) = None, _stage_in_chunks(fh, layout)
            after = os.fstat(fh.fileno())
        size = len(content) if content is not None else after.st_size
        if not _same(before, after) or size != after.st_size or not _same(after, os.stat(path)):
            return Arrival(receipt_for(path, b"", layout, after, sha), None, after, changing=True)
        receipt = receipt_for(path, b"", layout, before, sha)
        target = layout.home / receipt.archive_path
        if content is not None:
            archive_copy(content, target)
        elif not target.exists():
            os.replace(staged, target)
        return Arrival(receipt, content, before)
    finally:
        if staged:
            staged.unlink(missing_ok=True)


def _stage_in_chunks(fh, layout: Layout) -> tuple[str, Path]:
    """Copy a large file beside the archive while hashing it: its SHA-256 and the (read-only) copy."""
    layout.archive.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=layout.archive, prefix=".incoming-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o444)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), Path(tmp)


def too_large(size: int) -> Issue:
    """The file is far larger than any summary table."""
    mb, limit = size / 2**20, MAX_FILE_BYTES // 2**20
    return Issue("file-too-large", ERROR,
                 f"文件有 {mb:,.0f} MB，超过上限（{limit} MB），远大于一份统计表。请只提交统计表（删除图片和多余的工作表）",
                 f"the file is {mb:,.0f} MB (the limit is {limit} MB), far more than a summary table — send the "
                 "table alone, without pictures or extra sheets")


# When the parser explains why there is no sender or date (a name not in the list, sources that disagree,
# a date it cannot read), the suite's "no sender / no date found" says the same thing less well.
_EXPLAINED_BY = {
    "missing-unit": ("unknown-unit", "conflicting-unit"),
    "unknown-unit": ("unknown-unit", "conflicting-unit"),
    "missing-date": ("bad-date", "conflicting-date"),
}


def _without_echoes(issues: list[Issue]) -> list[Issue]:
    """Every problem once: drop the suite's file-level echo of a problem the parser located in a cell."""
    located = {i.rule for i in issues if i.cell}
    return [i for i in issues if i.cell or not set(_EXPLAINED_BY.get(i.rule, ())) & located]


class Ingestor:
    """Everything needed to ingest files into one home; build once per run, call `ingest` per file."""

    def __init__(self, layout: Layout, ref: Reference, validator: SubmissionValidator | None = None,
                 reader: SafeReader | None = None, settle_seconds: float = SETTLE_SECONDS):
        self.layout = layout
        self.ref = ref
        self.parser = SubmissionParser(ref)  # here only for the file name; sheets are parsed by the reader's worker
        self.validator = validator or SubmissionValidator(ref)
        self.reader = reader or SafeReader(ref)  # files are read in a limited worker process, never in this one
        self.settle_seconds = settle_seconds
        self.last_read: ReadResult | None = None  # what reading the last file cost (for tests and benchmarks)

    def ingest(self, path: Path, con: duckdb.DuckDBPyConnection) -> Outcome:
        """Ingest one file and return its outcome; the file leaves the inbox only once its state is recorded.

        A file still being written, or already taken by another run, is `skipped`: nothing is recorded.
        """
        self.last_read = None
        try:
            arrival = receive(path, self.layout, self.settle_seconds)
        except FileNotFoundError:
            now = dt.datetime.now(dt.timezone.utc)
            return Outcome(Receipt("", readable_name(path.name), "", now, ""), SKIPPED, GONE)
        receipt = arrival.receipt
        if arrival.changing:
            return Outcome(receipt, SKIPPED, STILL_WRITTEN)
        known = find_receipt(con, receipt.submission_id)
        if known:  # found again after a crash between recording and leaving the inbox
            outcome = Outcome(receipt, known[0], known[1], known[2], known[3], report_path=known[4])
        else:
            outcome = self._outcome(receipt, arrival.content, con)
            if outcome.status == REJECTED:
                outcome.report_path = self._write_report(outcome)
            record(con, outcome)
        self._leave_inbox(path, arrival.stat)
        return outcome

    def _outcome(self, receipt: Receipt, content: bytes | None, con: duckdb.DuckDBPyConnection) -> Outcome:
        same = find_same_content(con, receipt.sha256)
        if same:
            first_id, first_name, first_status = same
            return Outcome(receipt, DUPLICATE, f"same content as {first_name} ({first_id}, {first_status})")
        problems = [too_large(os.path.getsize(self.layout.home / receipt.archive_path))] if content is None \
            else precheck(content, receipt.file_name)
        if not problems:
            self.last_read = self.reader.read(content, receipt.file_name)
            problems = [self.last_read.problem] if self.last_read.problem else []
        if problems:  # the sender and date, when the file name gives them, tell whose file could not be read
            named = self.parser.parse([], receipt.file_name)
            return Outcome(receipt, REJECTED, one_line_reason(problems), named.unit_code, named.as_of_date,
                           issues=problems)
        parsed = self.last_read.parsed
        facts, total_issues = unit_facts(parsed.cells)
        issues = _without_echoes(parsed.issues + total_issues + self.validator.validate(parsed, len(facts)))
        outcome = Outcome(receipt, LOADED, None, parsed.unit_code, parsed.as_of_date, parsed.cells, facts, issues)
        if any(i.severity == ERROR for i in issues):
            outcome.status, outcome.reason = REJECTED, one_line_reason(issues)
            outcome.facts = []
        return outcome

    def _write_report(self, outcome: Outcome) -> str:
        self.layout.rejected.mkdir(parents=True, exist_ok=True)
        # The name comes from outside: no separators, no control characters, short enough for any filesystem.
        name = f"{safe_file_name(outcome.receipt.file_name)}.{outcome.receipt.submission_id}.txt"
        target = self.layout.rejected / name
        target.write_text(rejection_report(outcome, self.ref), encoding="utf-8")
        return str(target.relative_to(self.layout.home))

    def _leave_inbox(self, path: Path, seen: os.stat_result) -> None:
        # Only files in the inbox are consumed; a file given by path elsewhere stays where the user keeps it.
        # A file rewritten since it was read is a new receipt: it stays for the next run.
        if path.resolve().parent == self.layout.inbox.resolve():
            try:
                if _same(os.stat(path), seen):
                    path.unlink()
            except FileNotFoundError:
                pass
