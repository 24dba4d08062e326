"""Flows that ingest submitted files: one file (what an event triggers) or everything pending in the inbox."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from transforms import warehouse
from transforms.ingest import Ingestor
from transforms.layout import Layout
from transforms.load import Outcome
from transforms.reference import load_reference


@lru_cache(maxsize=4)
def ingestor_for(home: str) -> Ingestor:
    """One Ingestor per home and process: building its validator costs seconds, so it is built once."""
    layout = Layout(Path(home))
    return Ingestor(layout, load_reference(layout.reference))


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


@task(name="ingest-file", cache_policy=NO_CACHE, task_run_name="ingest {path.name}")
def ingest_file(path: Path, home: str, con) -> dict:
    """Archive, parse, validate and record one file."""
    outcome = ingestor_for(home).ingest(path, con)
    get_run_logger().info("%s: %s %s", path.name, outcome.status, outcome.reason or "")
    return outcome_summary(outcome)


def ingest_all(paths: list[Path], home: str) -> list[dict]:
    layout = Layout(Path(home))
    ingestor = ingestor_for(home)
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        return [ingest_file(p, home, con) for p in paths]
    finally:
        con.close()


@flow(name="ingest-submission")
def ingest_submission(path: str, home: str) -> dict | None:
    """Ingest one file (the event-triggered flow); a file already gone from the inbox was ingested before."""
    file = Path(path)
    if not file.exists():
        get_run_logger().info("%s is no longer in the inbox: already ingested", file.name)
        return None
    return ingest_all([file], home)[0]


@flow(name="ingest-pending")
def ingest_pending(home: str, paths: list[str] | None = None) -> list[dict]:
    """Ingest the given files, or everything waiting in the inbox."""
    files = [Path(p) for p in paths] if paths else pending_files(Layout(Path(home)))
    return ingest_all(files, home) if files else []
