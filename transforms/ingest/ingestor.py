"""Ingest one received file: archive it, check it, read it in a guarded process, validate it, record its state."""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import hashlib
import os
import re
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
import stat as file_mode
from stat import S_ISLNK
from typing import Callable, Collection

import duckdb

from transforms.core.layout import Layout
from transforms.core.problems import ERROR, Problem, problem
from transforms.core.reference import Reference
from transforms.core.safe_text import readable_name, safe_file_name
from transforms.ingest.record import (DUPLICATE, LOADED, REJECTED, Outcome, Receipt, duplicate_reason,
                             find_receipts, first_receipts, record, record_many, rerecord_many)
from transforms.ingest.rejection_report import one_line_reason, rejection_report, repeat_report
from transforms.read.guarded_reader import ReadResult, SafeReader
from transforms.read.parser import SubmissionParser
from transforms.read.unit_facts import unit_facts
from transforms.validate.suites import SubmissionValidator

# Not a final state, and not recorded: the file is still being written (it stays in the inbox for a later run),
# or it left the inbox before it was read (another run took it).
SKIPPED = "skipped"
STILL_WRITTEN = "still being written (its size or time changed while it was read); left in the inbox for the next run"
GONE = "no longer in the inbox: another run took it first"
QUIET_SECONDS = 1.0  # a file changed this recently is watched this long before it is read
# Files validated in one Great Expectations run and recorded in one transaction: enough to spread the fixed cost
# of a run, few enough that a batch's bytes and parsed cells stay small (memory does not grow with a run).
# Larger batches were no faster and took more memory (benchmarks/RESULTS.md).
BATCH_FILES = 200
MAX_FILE_BYTES = 50 * 2**20  # larger files are archived and refused without being read into memory
# A file's problems kept one by one (in its report and raw.issues); the rest are counted in one line, so that a
# header row of 16,000 unknown words costs 200 rows, not 16,000.
MAX_ISSUES_KEPT = 200
# Figure cells under headers that map to nothing, listed one by one for review: a file with more is no table of
# the campaign's figures, and is refused rather than listed cell by cell.
MAX_UNMAPPED_CELLS = 2_000
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


def archive_copy(content: bytes, target: Path, durable: bool = True) -> bool:
    """Write the archived copy once, atomically; an existing copy (same hash, same bytes) is never rewritten.
    Whether a copy was written. Not `durable`: the caller makes it so with flush_archive() before recording it."""
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def flush_archive(folder: Path, written: list[Path]) -> None:
    """Make the copies just `written` into the archive `folder` durable before they are recorded: one syncfs() of
    the archive's filesystem for a batch instead of an fsync() a file; fsync() of each file and of
    the folder where syncfs is not available (not Linux)."""
    if not written:
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _syncfs is not None and _syncfs(fd) == 0:
            return
        for path in written:
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        os.fsync(fd)  # the new names in the folder
    finally:
        os.close(fd)


def _find_syncfs():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs if hasattr(libc, "syncfs") else None
    except OSError:
        return None


_syncfs = _find_syncfs()


@dataclass
class Arrival:
    """A file as read from the inbox: its receipt, its bytes (None when too large to read), how it stood."""

    receipt: Receipt
    content: bytes | None
    stat: os.stat_result
    changing: bool = False


@functools.lru_cache(maxsize=64)
def _real_folder(folder: str) -> str:
    """A folder's real path; cached: resolving a path costs a system call per component, for every file."""
    return os.path.realpath(folder)


def _real_parent(path: Path) -> str:
    """The real folder of the file `path` leads to (a symlink's target's, not the link's)."""
    try:
        if S_ISLNK(os.lstat(path).st_mode):
            return os.path.dirname(os.path.realpath(path))
    except FileNotFoundError:
        pass
    return _real_folder(str(path.parent))


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_size, b.st_mtime_ns)


def receive(path: Path, layout: Layout, written: list[Path] | None = None) -> Arrival:
    """Read a file and archive its bytes, unless it is still being written (then `changing`, nothing archived).

    A file whose size or time moves while it is read is still being written (a file changed just before is
    watched first, once for its whole batch: Ingestor.arrive). Files over MAX_FILE_BYTES are hashed and archived
    in chunks. With `written`, a new archived copy is not synced to disk but added to that list, for
    flush_archive().
    """
    before = os.stat(path)
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
            if archive_copy(content, target, durable=written is None) and written is not None:
                written.append(target)
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


def too_large(size: int) -> Problem:
    """The file is far larger than any summary table."""
    return problem("file-too-large", variant="received", mb=size / 2**20, limit=MAX_FILE_BYTES // 2**20)


# What an inbox entry that is not a regular file is, in the clerk's words: (English, Chinese)
_NOT_A_FILE_KINDS = ((file_mode.S_ISLNK, "a symbolic link", "符号链接（快捷方式）"),
                     (file_mode.S_ISFIFO, "a named pipe", "命名管道"),
                     (file_mode.S_ISCHR, "a device", "设备文件"), (file_mode.S_ISBLK, "a device", "设备文件"),
                     (file_mode.S_ISSOCK, "a socket", "套接字"), (file_mode.S_ISDIR, "a folder", "文件夹"))


def not_a_file(kind_en: str, kind_zh: str) -> Problem:
    """The inbox entry is a link, pipe, device or folder: never followed or opened, refused as it is."""
    return problem("not-a-regular-file", kind_zh=kind_zh, kind_en=kind_en)


def irregular_kind(path: Path, inbox: Path) -> tuple[os.stat_result, str, str] | None:
    """(its own stat, its kind in English and Chinese) when `path` must not be read as a file: anything in the
    inbox that is not a regular file (a symbolic link is not followed: it could lead anywhere on this machine),
    and a pipe, device or folder wherever it is. A link given by path outside the inbox is the user's own and
    is followed. None for a file to read."""
    st = os.lstat(path)
    if file_mode.S_ISREG(st.st_mode):
        return None
    if S_ISLNK(st.st_mode) and _real_folder(str(path.parent)) != _real_folder(str(inbox)):
        target = os.stat(path)
        if file_mode.S_ISREG(target.st_mode):
            return None
        st = target
    kind = next(((en, zh) for test, en, zh in _NOT_A_FILE_KINDS if test(st.st_mode)), ("not a file", "特殊文件"))
    return st, *kind


def as_of_after_receipt(as_of_date: dt.date | None, date_source: str | None, received_at: dt.datetime,
                        campaign) -> list[Problem]:
    """A warning when the file's as-of date lies after the day it was received (campaign time): a report cannot run
    to a day still to come, so the date is a typo (12-25 for 12-22), and the file would be counted for a day nobody
    meant. A date outside the campaign is already a rejection (date-outside-campaign): not repeated here."""
    if as_of_date is None or not campaign.start_date <= as_of_date <= campaign.end_date:
        return []
    received = received_at.astimezone(campaign.timezone)
    if as_of_date <= received.date():
        return []
    sheet, _, cell = (date_source or "").partition("!")
    # a date read from the file name has no sheet: the message says where it was read instead
    return [problem("date-after-receipt", variant="sheet" if cell else "file-name", sheet=sheet or None,
                    cell=cell or None, as_of_date=as_of_date, received=received)]


# When the parser explains why there is no sender or date (a name not in the list, sources that disagree,
# a date it cannot read), the suite's "no sender / no date found" says the same thing less well.
_EXPLAINED_BY = {
    "missing-unit": ("unknown-unit", "conflicting-unit"),
    "unknown-unit": ("unknown-unit", "conflicting-unit"),
    "missing-date": ("bad-date", "conflicting-date"),
}


def _without_echoes(issues: list[Problem]) -> list[Problem]:
    """Every problem once: drop the suite's file-level echo of a problem the parser located in a cell."""
    located = {i.rule for i in issues if i.cell}
    return [i for i in issues if i.cell or not set(_EXPLAINED_BY.get(i.rule, ())) & located]


def kept_issues(issues: list[Problem]) -> list[Problem]:
    """At most MAX_ISSUES_KEPT of a file's problems, errors first, and one line counting the rest by rule."""
    if len(issues) <= MAX_ISSUES_KEPT:
        return issues
    ordered = [i for i in issues if i.severity == ERROR] + [i for i in issues if i.severity != ERROR]
    kept, rest = ordered[:MAX_ISSUES_KEPT - 1], ordered[MAX_ISSUES_KEPT - 1:]
    counted = ", ".join(f"{rule} {n:,}" for rule, n in Counter(i.rule for i in rest).most_common())
    return kept + [problem("more-issues", count=len(rest), counted=counted)]


def _too_many_unmapped(cells: int) -> Problem:
    return problem("too-many-unmapped", cells=cells, limit=MAX_UNMAPPED_CELLS)


@dataclass
class Pending:
    """A file of a batch between arriving and being recorded: what is known of it so far.

    `outcome` is set on arrival when nothing needs reading (skipped, found again, duplicate), or once assessed;
    `error` when ingesting it failed: it is not recorded and stays in the inbox.
    """

    path: Path
    arrival: Arrival | None = None
    outcome: Outcome | None = None
    recorded: bool = False  # found again: recorded by an earlier run
    first: "Pending | None" = None  # the earlier file of the batch with the same bytes (for a duplicate)
    first_recorded: tuple | None = None  # or the first recorded receipt of them: (received_at, id, name, status)
    parsed: object = None  # read, awaiting validation
    facts: list = field(default_factory=list)
    found_issues: list = field(default_factory=list)
    error: BaseException | None = None

    @property
    def unread(self) -> bool:
        """Still to be read and validated (assess)."""
        return self.outcome is None and self.error is None and not self.recorded

    def take(self, assessed: "Pending") -> None:
        """Take the outcome (or error) of this file assessed elsewhere: a copy that went to another process."""
        self.outcome, self.error = assessed.outcome, assessed.error
        if self.arrival is not None:
            self.arrival.content = None


class IngestFailed(RuntimeError):
    """Some files of a batch could not be ingested; they stay in the inbox and every other file was recorded."""

    def __init__(self, failed: list[tuple[Path, BaseException]], outcomes: list[Outcome]):
        self.failed, self.outcomes = failed, outcomes
        path, first = failed[0]
        names = ", ".join(p.name for p, _ in failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        super().__init__(f"ingest failed for {len(failed)} file(s) ({names}): {type(first).__name__}: {first}; "
                         f"they stay in the inbox, the other {len(outcomes)} were recorded. Re-run: warmline ingest")


class Ingestor:
    """Everything needed to ingest files into one home; build once per run, call `ingest` per file or
    `ingest_many` per batch."""

    def __init__(self, layout: Layout, ref: Reference, validator: SubmissionValidator | None = None,
                 reader: SafeReader | None = None, quiet_seconds: float = QUIET_SECONDS):
        self.layout = layout
        self.ref = ref
        self.parser = SubmissionParser(ref)  # here only for the file name; sheets are parsed by the reader's worker
        self.validator = validator or SubmissionValidator(ref)
        self.reader = reader or SafeReader(ref)  # files are read in a limited worker process, never in this one
        self.quiet_seconds = quiet_seconds
        self.last_read: ReadResult | None = None  # what reading the last file cost (for tests and benchmarks)

    def ingest(self, path: Path, con: duckdb.DuckDBPyConnection) -> Outcome:
        """Ingest one file and return its outcome: a batch of one (ingest_many), the path every run takes; the file
        leaves the inbox only once its state is recorded. A file still being written, or already taken by another
        run, is `skipped`: nothing is recorded. A failure raises what failed, and the file stays in the inbox."""
        self.last_read = None
        try:
            return self.ingest_many([path], con, keep_read=True)[0]
        except IngestFailed as failed:
            raise failed.failed[0][1]

    def _read_as(self, receipt: Receipt, read: ReadResult | None) -> Outcome | tuple:
        """What the reader's worker made of a file (`read`; None for a file too large to read): a rejection, or
        (parsed submission, unit facts, issues found reading it)."""
        self.last_read = read
        problems = [too_large(os.path.getsize(self.layout.home / receipt.archive_path))] if read is None \
            else read.problems
        if problems:  # the sender and date, when the file name gives them, tell whose file could not be read
            named = self.parser.parse([], receipt.file_name)
            return Outcome(receipt, REJECTED, one_line_reason(problems), named.unit_code, named.as_of_date,
                           issues=problems)
        facts, total_issues = unit_facts(read.parsed.cells, {i.code: i.name_zh for i in self.ref.indicators})
        return read.parsed, facts, read.parsed.issues + total_issues

    def _judged(self, receipt: Receipt, parsed, facts: list, issues: list[Problem]) -> Outcome:
        issues = _without_echoes(issues) + as_of_after_receipt(parsed.as_of_date, parsed.date_source,
                                                                 receipt.received_at, self.ref.campaign)
        if len(parsed.unmapped) > MAX_UNMAPPED_CELLS:
            issues.insert(0, _too_many_unmapped(len(parsed.unmapped)))
        issues = kept_issues(issues)
        outcome = Outcome(receipt, LOADED, None, parsed.unit_code, parsed.as_of_date, parsed.cells, facts, issues,
                          parsed.headers, parsed.unmapped, unread_cells=len(parsed.unmapped))
        if any(i.severity == ERROR for i in issues):
            outcome.status, outcome.reason = REJECTED, one_line_reason(issues)
            outcome.facts = []
        return outcome

    # -- many files at once: arrive (writer) → assess (anywhere) → record_batch (writer) -------------------------------

    def ingest_many(self, paths: list[Path], con: duckdb.DuckDBPyConnection,
                    assess: Callable[[list[Pending]], object] | None = None,
                    complete: Collection[Path] = (), keep_read: bool = False) -> list[Outcome]:
        """ingest() of many files, in batches of BATCH_FILES: each file read on its own in the guarded reader, the
        batch validated in one Great Expectations run per suite and recorded in one transaction.

        Every file keeps its own outcome, report and state, the same as ingest() one after the other would give,
        and in the same order (without the cells and facts, which are recorded: memory stays one batch's). A file
        whose ingest fails is not recorded and stays in the inbox; the others are recorded, then IngestFailed
        says which failed. `assess` replaces self.assess, e.g. to read and validate on other machines; it must
        set each unread file's outcome or error. Files in `complete` are known to be completely written (the
        watcher saw them closed or renamed in, or a user named them): they are read without the quiet watch.
        `keep_read`: the outcomes keep their cells, facts and headers (one file's are small: ingest() keeps them).
        """
        outcomes, failed = [], []
        chunks = [paths[start:start + BATCH_FILES] for start in range(0, len(paths), BATCH_FILES)]
        seen = ({}, {})  # receipts and contents met so far in this call: a later batch arrives before one is recorded

        def finish(batch: list[Pending]) -> None:
            self.record_batch(batch, con)
            for pending in batch:  # recorded: the cells and facts are in the warehouse, not needed in memory
                if pending.outcome is not None and pending.error is None and not pending.recorded and not keep_read:
                    pending.outcome.cells, pending.outcome.facts = [], []
                    pending.outcome.headers, pending.outcome.unmapped = [], []
            outcomes.extend(p.outcome for p in batch if p.error is None)
            failed.extend((p.path, p.error) for p in batch if p.error is not None)

        if assess is not None:
            for chunk in chunks:
                batch = self.arrive(chunk, con, seen, complete)
                assess(batch)
                finish(batch)
        elif chunks:
            # The readers' workers read the next batch while this process validates and records the current one:
            # on two cores that hides most of the reading (the workers' own share of both cores).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="warmline-read") as pool:
                batch = self.arrive(chunks[0], con, seen, complete)
                reading = pool.submit(self.read, batch)
                for k in range(len(chunks)):
                    reads = reading.result()
                    following = self.arrive(chunks[k + 1], con, seen, complete) if k + 1 < len(chunks) else None
                    if following is not None:
                        reading = pool.submit(self.read, following)
                    self.judge(reads)
                    finish(batch)
                    batch = following
        if failed:
            raise IngestFailed(failed, outcomes) from failed[0][1]
        return outcomes

    def arrive(self, paths: list[Path], con: duckdb.DuckDBPyConnection,
               seen: tuple[dict, dict] | None = None, complete: Collection[Path] = ()) -> list[Pending]:
        """Receive and archive each file and decide what needs reading: skipped, found again and duplicate files
        (of the warehouse, of an earlier file in `paths`, or of one in `seen`: receipts and contents of earlier
        batches not yet recorded) get their outcome here. Needs the warehouse."""
        batch, written = [], []
        by_id, by_sha = seen if seen is not None else ({}, {})
        written_out = set(complete)
        moved = self._changed_while_landing([p for p in paths if p not in written_out])
        for path in paths:
            pending = Pending(path)
            batch.append(pending)
            try:
                if path in moved:
                    stat = os.stat(path)
                    pending.outcome = Outcome(receipt_for(path, b"", self.layout, stat), SKIPPED, STILL_WRITTEN)
                    continue
                irregular = irregular_kind(path, self.layout.inbox)
                if irregular:
                    pending.arrival, pending.outcome = self._refuse_unopened(path, *irregular)
                    continue
                # every file is quiet now (watched above, once for the batch): read it at once
                arrival = pending.arrival = receive(path, self.layout, written)
            except FileNotFoundError:
                now = dt.datetime.now(dt.timezone.utc)
                pending.outcome = Outcome(Receipt("", readable_name(path.name), "", now, ""), SKIPPED, GONE)
                continue
            except Exception as exc:  # this file's failure, not the batch's
                pending.error = exc
                continue
            if arrival.changing:
                pending.outcome = Outcome(arrival.receipt, SKIPPED, STILL_WRITTEN)
        flush_archive(self.layout.archive, written)  # every archived copy is on disk before any is recorded
        # what the warehouse already holds of these receipts and contents: two queries for the batch, not per file
        arrived = [p.arrival.receipt for p in batch if p.outcome is None and p.error is None]
        known = find_receipts(con, [r.submission_id for r in arrived])
        recorded = first_receipts(con, [r.sha256 for r in arrived])
        for pending in batch:
            if pending.outcome is not None or pending.error is not None:
                continue
            receipt = pending.arrival.receipt
            if receipt.submission_id in by_id:  # the same file given twice: one receipt
                pending.first, pending.recorded = by_id[receipt.submission_id], True
            elif found := known.get(receipt.submission_id):  # found again after a crash before leaving the inbox
                pending.recorded = True
                pending.outcome = Outcome(receipt, found[0], found[1], found[2], found[3], report_path=found[4])
            elif receipt.sha256 in by_sha or receipt.sha256 in recorded:
                pending.first = by_sha.get(receipt.sha256)
                pending.first_recorded = recorded.get(receipt.sha256)
                pending.outcome = Outcome(receipt, DUPLICATE, None)  # the reason is found when it is recorded
            else:
                by_sha[receipt.sha256] = pending
            by_id.setdefault(receipt.submission_id, pending)
        return batch

    def _refuse_unopened(self, path: Path, st: os.stat_result, kind_en: str, kind_zh: str) -> tuple[Arrival, Outcome]:
        """A link, pipe, device or folder in the inbox, refused without opening it. What is archived (and hashed
        for its receipt) is a line saying what it was, and where a link pointed, for whoever audits it."""
        where = f" to {os.readlink(path)}" if S_ISLNK(st.st_mode) else ""
        content = f"warmline: {path.name} was {kind_en}{where}; it was not opened\n".encode("utf-8", "replace")
        receipt = receipt_for(path, content, self.layout, st)
        archive_copy(content, self.layout.home / receipt.archive_path)
        problems = [not_a_file(kind_en, kind_zh)]
        named = self.parser.parse([], receipt.file_name)
        return Arrival(receipt, None, st), Outcome(receipt, REJECTED, one_line_reason(problems), named.unit_code,
                                                   named.as_of_date, issues=problems)

    def _changed_while_landing(self, paths: list[Path]) -> set[Path]:
        """Watch the files changed in the last `quiet_seconds` once for the whole batch: those whose size or time
        moved meanwhile are still being written."""
        young, wait, now = {}, 0.0, time.time()
        for path in paths:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            age = now - stat.st_mtime
            if age < self.quiet_seconds:
                young[path] = stat
                wait = max(wait, self.quiet_seconds - age if age >= 0 else self.quiet_seconds)
        if not young:
            return set()
        time.sleep(wait)
        moved = set()
        for path, before in young.items():
            try:
                if not _same(before, os.stat(path)):
                    moved.add(path)
            except FileNotFoundError:
                pass  # gone: receive() says so
        return moved

    def assess(self, batch: list[Pending]) -> list[Pending]:
        """Read and validate every file of `batch` that needs it (no warehouse needed: this part can run on
        another machine); all files' frames validated in one Great Expectations run per suite."""
        self.judge(self.read(batch))
        return batch

    def read(self, batch: list[Pending]) -> list[tuple[Pending, object]]:
        """Check and read every file of `batch` that needs it, side by side in the reader's workers (one a core):
        each with its ReadResult, None for a file too large to read, or the exception when no reader could start
        (the machine's problem: every file then stays in the inbox). Touches nothing but the reader."""
        todo = [p for p in batch if p.unread]
        try:
            results = iter(self.reader.read_many([(p.arrival.content, p.arrival.receipt.file_name)
                                                  for p in todo if p.arrival.content is not None]))
        except Exception as exc:
            return [(p, exc) for p in todo]
        return [(p, None if p.arrival.content is None else next(results)) for p in todo]

    def judge(self, reads: list[tuple[Pending, object]]) -> None:
        """Give each file read its outcome: refused, or validated with the others in one run per suite."""
        valid = []
        for pending, result in reads:
            try:
                if isinstance(result, Exception):
                    raise result
                read = self._read_as(pending.arrival.receipt, result)
            except Exception as exc:
                pending.error = exc
                continue
            pending.arrival.content = None  # read: the bytes are archived, and a batch need not hold them
            if isinstance(read, Outcome):
                pending.outcome = read
            else:
                pending.parsed, pending.facts, pending.found_issues = read
                valid.append(pending)
        if not valid:
            return
        # Each file's results are kept (Data Docs) under its own time, and it is recorded as processed just after:
        # a correction validated in the same batch is never shown as the earlier file's validation.
        now = dt.datetime.now(dt.timezone.utc)
        times = [now + dt.timedelta(microseconds=2 * i) for i in range(len(valid))]
        try:
            found = self.validator.validate_many([(p.parsed, len(p.facts)) for p in valid], times)
        except Exception:  # a rule that cannot run on one file must not fail the others: each on its own
            found = []
            for pending in valid:
                try:
                    found.append(self.validator.validate(pending.parsed, len(pending.facts)))
                except Exception as exc:
                    pending.error = exc
                    found.append(None)
        for pending, issues, when in zip(valid, found, times):
            if issues is not None:
                pending.outcome = self._judged(pending.arrival.receipt, pending.parsed, pending.facts,
                                               pending.found_issues + issues)
                pending.outcome.processed_at = when + dt.timedelta(microseconds=1)
            pending.parsed, pending.facts, pending.found_issues = None, [], []
        judged = [p for p in valid if p.error is None]
        try:
            self._find_cross_field([p.outcome for p in judged])
        except Exception:  # as above: a rule that cannot run on one file must not fail the others
            for pending in judged:
                try:
                    self._find_cross_field([pending.outcome])
                except Exception as exc:
                    pending.error = exc

    def _find_cross_field(self, outcomes: list[Outcome]) -> None:
        """The rules between the figures of one row (the `cross_field` suite), run once on the rows of every file of
        `outcomes` that counts: each keeps its findings, recorded with it, so that checking a day later reads them
        from the warehouse instead of loading Great Expectations."""
        counted = [o for o in outcomes if o.status == LOADED]
        if counted:
            for outcome, found in zip(counted, self.validator.cross_field([o.cells for o in counted])):
                outcome.cross_field = found

    def record_batch(self, batch: list[Pending], con: duckdb.DuckDBPyConnection) -> list[Pending]:
        """Write the reports, record the batch in one transaction, and let the recorded files leave the inbox."""
        read_instead: dict[str, Pending] = {}
        for pending in batch:
            if pending.first is not None and pending.first.error is not None and not pending.recorded \
                    and pending.error is None:
                # duplicate of a file that failed: the bytes were never recorded, so this one is read after all
                # (and a third copy is a duplicate of this one)
                sha = pending.arrival.receipt.sha256
                if sha in read_instead:
                    pending.first = read_instead[sha]
                    continue
                pending.first, pending.outcome, read_instead[sha] = None, None, pending
                self.assess([pending])
        fresh = [p for p in batch if p.error is None and not p.recorded and p.outcome.status != SKIPPED]
        for pending in fresh:
            if pending.outcome.status == REJECTED:
                pending.outcome.report_path = self._write_report(pending.outcome)
            elif pending.outcome.status == DUPLICATE:
                pending.outcome.report_path = self._report_repeat(pending, con)
        try:
            record_many(con, [p.outcome for p in fresh])
        except Exception:  # something in one file's rows: record them one by one, so only that file fails
            for pending in fresh:
                try:
                    if pending.outcome.status == DUPLICATE and pending.outcome.reason is None:
                        pending.outcome.reason = duplicate_reason(con, pending.outcome.receipt.sha256)
                    record(con, pending.outcome)
                except Exception as exc:
                    pending.error = exc
        for pending in batch:
            if pending.recorded and pending.first is not None:  # the same file given twice
                pending.outcome = pending.first.outcome
                if pending.first.error is not None:
                    pending.error = pending.first.error
            if pending.error is None and pending.outcome.status != SKIPPED:
                self._leave_inbox(pending.path, pending.arrival.stat)
        return batch

    def reread(self, receipts: list[Receipt], con: duckdb.DuckDBPyConnection, reason: str) -> list[Outcome]:
        """Read recorded files again from their archived copies (after the catalogue learned a header, say) and
        record each one's new reading in place of the old, with the old kept: nobody sends anything again.

        Each file is read, validated and judged exactly as when it arrived, and keeps its receipt (name, landing
        time, id); its figures, issues and state are replaced in one transaction (load.rerecord_many)."""
        batch = []
        for receipt in receipts:
            archived = self.layout.home / receipt.archive_path
            batch.append(Pending(archived, Arrival(receipt, archived.read_bytes(), os.stat(archived))))
        self.judge(self.read(batch))
        failed = [p for p in batch if p.error is not None]
        if failed:  # nothing is recorded: the earlier readings stand
            first = failed[0]
            raise RuntimeError(f"could not read {len(failed)} archived file(s) again ({first.arrival.receipt.file_name}: "
                               f"{type(first.error).__name__}: {first.error}); nothing was changed") from first.error
        outcomes = [p.outcome for p in batch]
        for outcome in outcomes:
            if outcome.status == REJECTED:
                outcome.report_path = self._write_report(outcome)
        rerecord_many(con, outcomes, reason, dt.datetime.now(dt.timezone.utc))
        return outcomes

    def _write_report(self, outcome: Outcome, text: str | None = None) -> str:
        self.layout.rejected.mkdir(parents=True, exist_ok=True)
        # The name comes from outside: no separators, no control characters, short enough for any filesystem.
        name = f"{safe_file_name(outcome.receipt.file_name)}.{outcome.receipt.submission_id}.txt"
        target = self.layout.rejected / name
        target.write_text(text or rejection_report(outcome, self.ref), encoding="utf-8")
        return str(target.relative_to(self.layout.home))

    def _report_repeat(self, pending: Pending, con: duckdb.DuckDBPyConnection) -> str | None:
        """A short report for a duplicate of a rejected file (its sender would otherwise hear nothing back), naming
        the first file and its report; None for a duplicate of a file that was taken."""
        if pending.first is not None and pending.first.outcome is not None:
            first = pending.first.outcome
            if first.status != REJECTED:
                return None
            name, received, report = first.receipt.file_name, first.receipt.received_at, first.report_path
        elif pending.first_recorded is not None and pending.first_recorded[3] == REJECTED:
            received, submission_id, name, _ = pending.first_recorded
            found = con.execute("SELECT report_path FROM raw.submissions WHERE submission_id = ?",
                                [submission_id]).fetchone()
            report = found[0] if found else None
        else:
            return None
        return self._write_report(pending.outcome, repeat_report(pending.outcome, self.ref, name, received, report))

    def _leave_inbox(self, path: Path, seen: os.stat_result) -> None:
        # Only files in the inbox are consumed; a file given by path elsewhere stays where the user keeps it.
        # A file rewritten since it was read is a new receipt: it stays for the next run.
        if not file_mode.S_ISREG(seen.st_mode):  # a link, pipe or device refused as it was: the entry goes
            try:
                if _real_folder(str(path.parent)) == _real_folder(str(self.layout.inbox)) \
                        and _same(os.lstat(path), seen) and not file_mode.S_ISDIR(seen.st_mode):
                    path.unlink()
            except FileNotFoundError:
                pass
            return
        if _real_parent(path) == _real_folder(str(self.layout.inbox)):
            try:
                if _same(os.stat(path), seen):
                    path.unlink()
            except FileNotFoundError:
                pass
