"""Ingest one received file: archive it, read it, validate it, record its one final state."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path

import duckdb

from transforms.layout import Layout
from transforms.load import DUPLICATE, LOADED, REJECTED, Outcome, Receipt, find_receipt, find_same_content, record
from transforms.reference import Reference
from transforms.report import one_line_reason, rejection_report
from transforms.submission import ERROR, Issue, SubmissionParser
from transforms.unit_facts import unit_facts
from transforms.validation import SubmissionValidator
from transforms.workbook import UnreadableFile, read_sheets


def receipt_for(path: Path, content: bytes, layout: Layout) -> Receipt:
    """Identify one receipt: the same file found again (same bytes, name, landing time) is the same receipt."""
    sha = hashlib.sha256(content).hexdigest()
    stat = path.stat()
    received_at = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc)
    submission_id = hashlib.sha256(f"{sha}|{path.name}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    archive_path = layout.archive / f"{sha}{path.suffix.lower()}"
    return Receipt(submission_id, path.name, sha, received_at, str(archive_path.relative_to(layout.home)))


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

    def __init__(self, layout: Layout, ref: Reference, validator: SubmissionValidator | None = None):
        self.layout = layout
        self.ref = ref
        self.parser = SubmissionParser(ref)
        self.validator = validator or SubmissionValidator(ref)

    def ingest(self, path: Path, con: duckdb.DuckDBPyConnection) -> Outcome:
        """Ingest one file and return its outcome; the file leaves the inbox only once its state is recorded."""
        content = path.read_bytes()
        receipt = receipt_for(path, content, self.layout)
        archive_copy(content, self.layout.home / receipt.archive_path)
        known = find_receipt(con, receipt.submission_id)
        if known:  # found again after a crash between recording and leaving the inbox
            outcome = Outcome(receipt, known[0], known[1], known[2], known[3], report_path=known[4])
        else:
            outcome = self._outcome(receipt, content, con)
            if outcome.status == REJECTED:
                outcome.report_path = self._write_report(outcome)
            record(con, outcome)
        self._leave_inbox(path)
        return outcome

    def _outcome(self, receipt: Receipt, content: bytes, con: duckdb.DuckDBPyConnection) -> Outcome:
        same = find_same_content(con, receipt.sha256)
        if same:
            first_id, first_name, first_status = same
            return Outcome(receipt, DUPLICATE, f"same content as {first_name} ({first_id}, {first_status})")
        try:
            sheets = read_sheets(content, receipt.file_name)
        except UnreadableFile as exc:
            issue = Issue("unreadable-file", ERROR, exc.message_zh, exc.message_en)
            return Outcome(receipt, REJECTED, one_line_reason([issue]), issues=[issue])
        parsed = self.parser.parse(sheets, receipt.file_name)
        facts, total_issues = unit_facts(parsed.cells)
        issues = _without_echoes(parsed.issues + total_issues + self.validator.validate(parsed, len(facts)))
        outcome = Outcome(receipt, LOADED, None, parsed.unit_code, parsed.as_of_date, parsed.cells, facts, issues)
        if any(i.severity == ERROR for i in issues):
            outcome.status, outcome.reason = REJECTED, one_line_reason(issues)
            outcome.facts = []
        return outcome

    def _write_report(self, outcome: Outcome) -> str:
        self.layout.rejected.mkdir(parents=True, exist_ok=True)
        target = self.layout.rejected / f"{outcome.receipt.file_name}.{outcome.receipt.submission_id}.txt"
        target.write_text(rejection_report(outcome, self.ref), encoding="utf-8")
        return str(target.relative_to(self.layout.home))

    def _leave_inbox(self, path: Path) -> None:
        # Only files in the inbox are consumed; a file given by path elsewhere stays where the user keeps it.
        if path.resolve().parent == self.layout.inbox.resolve():
            path.unlink(missing_ok=True)
