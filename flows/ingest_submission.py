"""Flows that ingest submitted files: one file (what an event triggers) or everything pending in the inbox."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.events import emit_deferred, emit_outcome
from flows.runtime import task_runner
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.memory import limit_malloc_arenas, release_free_memory, resident_mib
from transforms.core.reference import load_reference
from transforms.warehouse.analysts_copy import publication_due, publication_stale, publish

if TYPE_CHECKING:
    from transforms.ingest.record import Outcome


_ingestors: dict[str, tuple[tuple, object]] = {}


def reference_stamp(layout: Layout) -> tuple:
    """What the reference data is now (each file's name, size and time): an edit shows as a new stamp."""
    folder = layout.reference
    return tuple(sorted((p.name, st.st_size, st.st_mtime_ns) for p in folder.iterdir()
                        if p.is_file() and not p.name.startswith(".") for st in (p.stat(),))) if folder.exists() else ()


def ingestor_for(home: str):
    """One Ingestor per home and process: building its validator costs seconds, so it is built once, and again
    only when the reference data changes (a header alias accepted, a unit added), which a long-running service
    then reads files with."""
    # imported here: an event-triggered run that delegates its work never needs them
    from transforms.ingest.ingestor import Ingestor
    from transforms.validate.suites import SubmissionValidator

    layout = Layout(Path(home))
    stamp = reference_stamp(layout)
    known = _ingestors.get(home)
    if known is not None and known[0] == stamp:
        return known[1]
    if known is not None:
        known[1].reader.close()  # its workers parse with the reference as it was
    ref = load_reference(layout.reference)
    # every validation's results are kept in data/quality/, for the Data Docs `warmline status` links to
    ingestor = Ingestor(layout, ref, SubmissionValidator(ref, quality_dir=layout.quality))
    _ingestors[home] = (stamp, ingestor)
    return ingestor


def close_ingestors() -> None:
    """Stop the reader workers of every Ingestor this process holds (before the writer starts afresh: the new
    program would not know them)."""
    for _, ingestor in _ingestors.values():
        ingestor.reader.close()
    _ingestors.clear()


def pending_files(layout: Layout) -> list[Path]:
    """Entries waiting in the inbox, oldest first; editors' lock files and half-written names (the watcher's
    is_temporary) are not submissions yet."""
    from flows.watch_inbox import is_temporary

    # Links, pipes and devices too (never followed or opened: the ingest refuses them with a report); folders not.
    files = [p for p in layout.inbox.iterdir()
             if (p.is_symlink() or not p.is_dir()) and not is_temporary(p)] if layout.inbox.exists() else []
    return sorted(files, key=lambda p: (p.lstat().st_mtime_ns, p.name))


def outcome_summary(outcome: Outcome) -> dict:
    """What a flow returns per file: plain values, for the command line and for events."""
    return {
        "submission_id": outcome.receipt.submission_id, "file_name": outcome.receipt.file_name,
        "status": outcome.status, "reason": outcome.reason, "unit_code": outcome.unit_code,
        "as_of_date": outcome.as_of_date.isoformat() if outcome.as_of_date else None,
        "report_path": outcome.report_path, "warnings": len(outcome.warnings), "unread_cells": outcome.unread_cells,
    }


def _announced(outcomes: list[Outcome]) -> list[dict]:
    logger = get_run_logger()
    summaries = []
    for outcome in outcomes:
        summary = outcome_summary(outcome)
        logger.info("%s: %s %s", outcome.receipt.file_name, outcome.status, outcome.reason or "")
        emit_outcome(summary)
        summaries.append(summary)
    return summaries


def _ingest_batch(paths: list[Path], home: str, con, assess=None, complete: list[Path] = ()) -> list[dict]:
    """Ingest files as one batch on the writer connection: read one by one, validated together, recorded in one
    transaction; each file's outcome logged and announced, those of the others too when one file failed."""
    from transforms.ingest.ingestor import IngestFailed

    try:
        outcomes = ingestor_for(home).ingest_many(paths, con, assess=assess, complete=complete)
    except IngestFailed as exc:
        _announced(exc.outcomes)
        raise
    return _announced(outcomes)


@task(name="assess-files", cache_policy=NO_CACHE, task_run_name="read and validate {count} file(s)")
def assess_files(batch: list, home: str, keep_results: bool, count: int) -> list:
    """Read and validate files where the task runner puts this task (a Dask worker); nothing is written here."""
    ingestor = ingestor_for(home)
    if keep_results:
        ingestor.validator.keep_results(Layout(Path(home)).quality)
    return ingestor.assess(batch)


def _dask_assess(home: str):
    """With a DaskTaskRunner, reading and validation run on its workers, one share of the batch each; the
    writer (this process) still receives, records and clears the inbox. None otherwise: all of it here."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    runner = getattr(context, "task_runner", None)
    if type(runner).__name__ != "DaskTaskRunner":
        return None
    keep = ingestor_for(home).validator.results_store is not None

    def assess(batch: list) -> None:
        todo = [p for p in batch if p.unread]
        shares = max(1, min(len(todo), int(os.environ.get("WARMLINE_DASK_WORKERS") or DASK_SHARES)))
        parts = [todo[i::shares] for i in range(shares)]
        futures = [assess_files.submit(part, home, keep, len(part)) for part in parts if part]
        for part, future in zip([p for p in parts if p], futures):
            for mine, theirs in zip(part, future.result()):
                mine.take(theirs)

    return assess


def publish_interval() -> float:
    """WARMLINE_PUBLISH_INTERVAL: at most one publication for analysts per this many seconds after loads
    (default 0: after every load). The daily flow always publishes; reconcile publishes what is left."""
    return float(os.environ.get("WARMLINE_PUBLISH_INTERVAL") or 0)


def _publish(home: str, con=None) -> str:
    published = publish(Layout(Path(home)), con)
    get_run_logger().info("published %s and %d Parquet files in %.2f s", published.analytics.name,
                          len(published.parquet), published.seconds)
    return str(published.analytics)


@task(name="publish-for-analysts", cache_policy=NO_CACHE)
def publish_for_analysts(home: str, con=None) -> str:
    """Publish data/warehouse/analytics.duckdb and the Parquet marts; on the flow's writer connection if given."""
    return _publish(home, con)


@task(name="ingest-files", cache_policy=NO_CACHE, task_run_name="ingest {batch_key}")
def ingest_files(paths: list[Path], home: str, con, batch_key: str, complete: bool = False) -> list[dict]:
    """Archive, read, validate and record a batch of files on a connection the flow holds; one transaction for
    the batch, and each file keeps its own outcome, report and state."""
    return _ingest_batch(paths, home, con, complete=paths if complete else [])


# Reading and validation on Dask: one task per worker's share of a batch (Prefect's cost is per task);
# as many shares as WARMLINE_DASK_WORKERS says there are workers.
DASK_SHARES = 2
# Files per ingest task: within a task, Ingestor.ingest_many records them in transactions of
# transforms.ingest.ingestor.BATCH_FILES and reads the next batch while one is validated, which a task of one batch
# cannot do (tasks of 200 were measurably slower: benchmarks/RESULTS.md).
TASK_FILES = 1000

_prepared: set[str] = set()  # homes whose warehouse this process has prepared (tables, reference, views)
_files_read = 0  # files this process's writer tasks have read: the home's writer starts afresh after so many


def files_ingested() -> int:
    """How many files this process's writer tasks have read (ingested or rejected) since it started."""
    return _files_read


@task(name="ingest-received-files", cache_policy=NO_CACHE, task_run_name="ingest {batch_key}")
def ingest_received_files(paths: list[str], home: str, batch_key: str, sweep: bool = False,
                          complete: bool = False) -> list[dict]:
    """The served single writer's task: ingest files in order on one short-lived connection, publish once.

    `batch_key` (the files' sizes and times) makes two batches under the same names two distinct task runs.
    Files already gone were taken by an earlier run. With `sweep` (the watcher's hand-over of one landed file)
    the task also takes everything else waiting in the inbox: files that land together are ingested in one
    batch and published once, and the tasks handed over for the others find their files gone and end at once.
    A failure (a locked warehouse, say) leaves the files in the inbox for the next sweep, and says why in the
    log and as a warmline.submission.deferred event. `complete`: the given files are known to be completely
    written (the watcher saw them closed or renamed in; a user named them), so they are read at once; swept
    files are watched for a moment first, as always.
    """
    layout = Layout(Path(home))
    files = [Path(p) for p in paths if Path(p).exists()]
    written_out = list(files) if complete else []
    if sweep and files:
        files += [p for p in pending_files(layout) if p not in files]
    if not files:
        return []
    try:
        return _ingest_on_writer(files, home, written_out)
    except Exception as exc:
        left = [f.name for f in files if f.exists()]
        get_run_logger().warning("could not ingest %s (%s: %s); left in the inbox for the next sweep",
                                 ", ".join(left) or "the files", type(exc).__name__, exc)
        emit_deferred(left, f"{type(exc).__name__}: {exc}")
        raise


def _prepare_once(con, home: str) -> None:
    """The home's warehouse tables, reference and views, prepared once per process."""
    if home not in _prepared:
        warehouse.prepare(con, ingestor_for(home).ref)
        _prepared.add(home)


def _ingest_on_writer(files: list[Path], home: str, complete: list[Path]) -> list[dict]:
    global _files_read
    read_before = _files_read
    con = warehouse.connect(Layout(Path(home)).warehouse)
    try:
        _prepare_once(con, home)
        summaries = _ingest_batch([file for file in files if file.exists()], home, con, complete=complete)
        _files_read += len(summaries)
        if publication_due(Layout(Path(home)), publish_interval()):
            _publish(home, con)  # analysts see the loads as soon as they are recorded
        return summaries
    finally:
        con.close()
        # The task worker runs each task on whichever thread is free, and part of what a task frees stays in
        # that thread's malloc arena; giving it back slows the writer's growth (benchmarks/RESULTS.md).
        release_free_memory()
        _note_memory(read_before, _files_read)


MEMORY_NOTE_FILES = 100  # the writer says its resident memory in writer.log each time it has read so many more files


def _note_memory(read_before: int, read_now: int) -> None:
    """Every MEMORY_NOTE_FILES files, the writer's resident memory between two tasks (what it keeps, not what a
    task used for a moment) in its log: how an operator, and benchmarks/service_latency.py, see it stay level."""
    if read_now // MEMORY_NOTE_FILES > read_before // MEMORY_NOTE_FILES:
        mib = resident_mib()
        if mib is not None:
            logging.getLogger("warmline.writer").info("%d files read; %.1f MiB resident at rest", read_now, mib)


def warm_up(home: str) -> bool:
    """Pay at the writer's start what its first file would otherwise pay for being first in the process: the
    warehouse's tables and views prepared, the reader's workers started, and a first run of every validation
    suite (on the worked example read in a scratch folder, nothing kept), so that a clerk's first file of the
    day counts as quickly as the next one. Whether the validation suites could be run (False when the home's
    reference data does not let the worked example be read: then the first file pays for their first run)."""
    import tempfile

    from transforms.read.worked_example import write_demo

    # before the task worker starts its threads: threads that come and go, each with an arena of its own, made the
    # writer grow with every file it read (benchmarks/RESULTS.md)
    limit_malloc_arenas()
    ingestor = ingestor_for(home)
    layout = Layout(Path(home))
    try:
        con = warehouse.connect(layout.warehouse)
    except Exception:  # a command holds the warehouse right now: the first task prepares it instead
        con = None
    if con is not None:
        try:
            _prepare_once(con, home)
        finally:
            con.close()
    layout.prefect.mkdir(parents=True, exist_ok=True)  # the writer's folder: its lock and log live there too
    with tempfile.TemporaryDirectory(prefix=".warm-up-", dir=layout.prefect) as scratch:
        example = write_demo(Path(scratch), ingestor.ref)[0]
        read = ingestor.reader.read(example.read_bytes(), example.name)
    if read.parsed is None:
        return False
    ingestor.validator.rehearse(read.parsed, len(read.parsed.cells))
    return True


class WriterFailed(RuntimeError):
    """The writer did not take or finish work handed to it; the message says where its log is."""


def writer_result(future, home: str, timeout: float):
    """The result of work handed to the writer as a background task, watched rather than waited on blindly: a
    task the writer could not take is deleted by Prefect and would otherwise be waited for until the timeout."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    log = Layout(Path(home)).prefect / "writer.log"
    while True:
        try:
            future.wait(min(2.0, max(0.1, deadline - time.monotonic())))
            if future.state.is_final():
                return future.result(timeout=60)  # after wait(): .result() alone can time out spuriously
            with get_client(sync_client=True) as client:
                client.read_task_run(future.task_run_id)
        except ObjectNotFound:
            raise WriterFailed(f"the writer could not take the work handed to it; see {log} and "
                               f"{Layout(Path(home)).logs / 'warmline.log'}") from None
        if time.monotonic() >= deadline:
            raise WriterFailed(f"the writer did not finish within {timeout:.0f} s; see {log}")


def batch_key(paths: list[Path]) -> str:
    stats = [p.lstat() for p in paths]  # a link is keyed as itself: it is never followed
    return f"{len(paths)} file(s) {sum(s.st_size for s in stats)}-{max(s.st_mtime_ns for s in stats)}"


def ingest_all(paths: list[Path], home: str, delegate: bool = False, publish_after: bool = True,
               complete: bool = False) -> list[dict]:
    """Ingest files in order, here on one connection or, served, through the task worker (the single writer);
    `complete`: the files are known to be completely written (named by the user), so not watched first."""
    if delegate:
        paths = [p for p in paths if p.exists()]
        if not paths:
            return []
        return writer_result(ingest_received_files.delay([str(p) for p in paths], home, batch_key(paths),
                                                         complete=complete), home, 3600)
    layout = Layout(Path(home))
    ingestor = ingestor_for(home)
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        outcomes = []
        on_dask = _dask_assess(home)
        for start in range(0, len(paths), TASK_FILES):  # one task per TASK_FILES files
            batch = paths[start:start + TASK_FILES]
            if on_dask:  # here in the flow: the reading tasks go to Dask, the writing stays on this connection
                outcomes += _ingest_batch(batch, home, con, on_dask, batch if complete else [])
            else:
                outcomes += ingest_files(batch, home, con, f"{len(batch)} file(s) from {batch[0].name}", complete)
        if publish_after and publication_due(layout, publish_interval()):
            publish_for_analysts(home, con)
        return outcomes
    finally:
        con.close()


def hand_to_writer(home: str, paths: list[str] | None) -> list[dict]:
    """`warmline ingest` when the home's writer runs: the files (default: the inbox's) go to it as one
    background task, and the outcomes come back; with nothing waiting, the writer publishes what an interval
    held back, as ingest_pending does."""
    layout = Layout(Path(home))
    files = [Path(p) for p in paths] if paths else pending_files(layout)
    if not files:
        if publish_interval() > 0 and layout.warehouse.exists():
            writer_result(publish_held_back.delay(home, dt.datetime.now(dt.timezone.utc).isoformat()), home, 600)
        return []
    return ingest_all(files, home, delegate=True, complete=bool(paths))


@flow(name="ingest-submission", task_runner=task_runner())
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


def ingest_or_hand_over(home: str, paths: list[str] | None, api_url: str) -> list[dict]:
    """`warmline ingest`: the files (default: the inbox's) handed to the home's writer when one takes its tasks from
    `api_url` (one writer per warehouse, and no validation to load here), else ingested in this process."""
    from flows.home_server import writer_for

    if writer_for(Layout(Path(home)), api_url):
        return hand_to_writer(home, paths)
    return ingest_pending(home, paths)


@flow(name="ingest-pending", task_runner=task_runner())
def ingest_pending(home: str, paths: list[str] | None = None, delegate: bool = False) -> list[dict]:
    """Ingest the given files, or everything waiting in the inbox (the catch-up and reconcile flow)."""
    layout = Layout(Path(home))
    files = [Path(p) for p in paths] if paths else pending_files(layout)
    if not files and publish_interval() > 0 and layout.warehouse.exists():
        # Nothing waiting: publish the loads an interval kept from the analysts until now. Served (`delegate`),
        # the writer does it, as it does every write: the service's reconcile run every 10 minutes comes here.
        if delegate:
            writer_result(publish_held_back.delay(home, dt.datetime.now(dt.timezone.utc).isoformat()), home, 600)
        else:
            _publish_if_stale(home)
    return ingest_all(files, home, delegate, complete=bool(paths)) if files else []


def _publish_if_stale(home: str) -> bool:
    layout = Layout(Path(home))
    con = warehouse.connect(layout.warehouse)
    try:
        if publication_stale(layout, con):
            _publish(home, con)
            return True
        return False
    finally:
        con.close()


@task(name="read-again", cache_policy=NO_CACHE, task_run_name="read {count} file(s) again")
def read_again(home: str, submission_ids: list[str], reason: str, count: int) -> list[dict]:
    """Read recorded files again from their archived copies and record the new readings (one transaction)."""
    from transforms.ingest.record import Receipt

    layout = Layout(Path(home))
    ingestor = ingestor_for(home)
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        rows = con.execute("SELECT submission_id, file_name, sha256, received_at, archive_path FROM raw.submissions "
                           "WHERE submission_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY received_at",
                           [submission_ids]).fetchall()
        receipts = [Receipt(sid, name, sha, received.astimezone(dt.timezone.utc), archive)
                    for sid, name, sha, received, archive in rows]
        outcomes = _announced(ingestor.reread(receipts, con, reason))
        publish_for_analysts.fn(home, con)
        return outcomes
    finally:
        con.close()


@flow(name="reread-submissions")
def reread_submissions(home: str, submission_ids: list[str], reason: str) -> list[dict]:
    """Read files on record again from the archive, with the reference data as it is now (after a header was
    accepted): nobody sends anything again, and what changed shows as revisions."""
    return read_again(home, submission_ids, reason, len(submission_ids)) if submission_ids else []


@task(name="publish-held-back", cache_policy=NO_CACHE, task_run_name="publish loads held back ({asked_at})")
def publish_held_back(home: str, asked_at: str) -> bool:
    """The served single writer's task: publish the loads a publication interval held back, if there are any."""
    return _publish_if_stale(home)
