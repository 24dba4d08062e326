"""Flows that ingest submitted files: one file (what an event triggers) or everything pending in the inbox."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.events import emit_outcome
from transforms import warehouse
from transforms.layout import Layout
from transforms.publish import publish
from transforms.reference import load_reference

if TYPE_CHECKING:
    from transforms.load import Outcome


@lru_cache(maxsize=4)
def ingestor_for(home: str):
    """One Ingestor per home and process: building its validator costs seconds, so it is built once."""
    # imported here: an event-triggered run that delegates its work never needs them
    from transforms.ingest import Ingestor
    from transforms.validation import SubmissionValidator

    layout = Layout(Path(home))
    ref = load_reference(layout.reference)
    # every validation's results are kept in data/quality/, for the Data Docs `warmline status` links to
    return Ingestor(layout, ref, SubmissionValidator(ref, quality_dir=layout.quality))


def pending_files(layout: Layout) -> list[Path]:
    """Files waiting in the inbox, oldest first; names starting with . or ~$ are editors' temporary files."""
    files = [p for p in layout.inbox.iterdir()
             if p.is_file() and not p.name.startswith((".", "~$"))] if layout.inbox.exists() else []
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def outcome_summary(outcome: Outcome) -> dict:
    """What a flow returns per file: plain values, for the command line and for events."""
    return {
        "submission_id": outcome.receipt.submission_id, "file_name": outcome.receipt.file_name,
        "status": outcome.status, "reason": outcome.reason, "unit_code": outcome.unit_code,
        "as_of_date": outcome.as_of_date.isoformat() if outcome.as_of_date else None,
        "report_path": outcome.report_path, "warnings": len(outcome.warnings),
    }


def _ingest(path: Path, home: str, con) -> dict:
    outcome = ingestor_for(home).ingest(path, con)
    summary = outcome_summary(outcome)
    get_run_logger().info("%s: %s %s", path.name, outcome.status, outcome.reason or "")
    emit_outcome(summary)
    return summary


def _publish(home: str, con=None) -> str:
    published = publish(Layout(Path(home)), con)
    get_run_logger().info("published %s and %d Parquet files in %.2f s", published.analytics.name,
                          len(published.parquet), published.seconds)
    return str(published.analytics)


@task(name="publish-for-analysts", cache_policy=NO_CACHE)
def publish_for_analysts(home: str, con=None) -> str:
    """Publish data/warehouse/analytics.duckdb and the Parquet marts; on the flow's writer connection if given."""
    return _publish(home, con)


@task(name="ingest-file", cache_policy=NO_CACHE, task_run_name="ingest {path.name}")
def ingest_file(path: Path, home: str, con) -> dict:
    """Archive, parse, validate and record one file, on a connection the flow holds."""
    return _ingest(path, home, con)


_prepared: set[str] = set()  # homes whose warehouse this process has prepared (tables, reference, views)


@task(name="ingest-received-files", cache_policy=NO_CACHE, task_run_name="ingest {batch_key}")
def ingest_received_files(paths: list[str], home: str, batch_key: str) -> list[dict]:
    """The served single writer's task: ingest files in order on one short-lived connection, publish once.

    `batch_key` (the files' sizes and times) makes two batches under the same names two distinct task runs.
    Files already gone were taken by an earlier run.
    """
    files = [Path(p) for p in paths if Path(p).exists()]
    if not files:
        return []
    con = warehouse.connect(Layout(Path(home)).warehouse)
    try:
        if home not in _prepared:
            warehouse.prepare(con, ingestor_for(home).ref)
            _prepared.add(home)
        summaries = [_ingest(file, home, con) for file in files if file.exists()]
        _publish(home, con)  # analysts see the loads as soon as they are recorded
        return summaries
    finally:
        con.close()


def batch_key(paths: list[Path]) -> str:
    stats = [p.stat() for p in paths]
    return f"{len(paths)} file(s) {sum(s.st_size for s in stats)}-{max(s.st_mtime_ns for s in stats)}"


def ingest_all(paths: list[Path], home: str, delegate: bool = False, publish_after: bool = True) -> list[dict]:
    """Ingest files in order, here on one connection or, served, through the task worker (the single writer)."""
    if delegate:
        paths = [p for p in paths if p.exists()]
        if not paths:
            return []
        return ingest_received_files.delay([str(p) for p in paths], home, batch_key(paths)).result(timeout=3600)
    layout = Layout(Path(home))
    ingestor = ingestor_for(home)
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        outcomes = [ingest_file(p, home, con) for p in paths]
        if publish_after:
            publish_for_analysts(home, con)
        return outcomes
    finally:
        con.close()


@flow(name="ingest-submission")
def ingest_submission(path: str, home: str, delegate: bool = False) -> dict | None:
    """Ingest one file (the event-triggered flow); a file already gone from the inbox was ingested before.

    Served (`delegate`), the run also takes whatever else is waiting in the inbox: files that land together
    are ingested by the first run in one batch instead of each waiting for a run of its own.
    """
    file = Path(path)
    if not file.exists():
        get_run_logger().info("%s is no longer in the inbox: already ingested", file.name)
        return None
    others = [p for p in pending_files(Layout(Path(home))) if p != file] if delegate else []
    results = ingest_all([file, *others], home, delegate)
    return next((r for r in results if r["file_name"] == file.name), None)


@flow(name="ingest-pending")
def ingest_pending(home: str, paths: list[str] | None = None, delegate: bool = False) -> list[dict]:
    """Ingest the given files, or everything waiting in the inbox (the catch-up and reconcile flow)."""
    files = [Path(p) for p in paths] if paths else pending_files(Layout(Path(home)))
    return ingest_all(files, home, delegate) if files else []
