"""The long-running service: event-triggered ingest, a reconcile run, and the scheduled daily flow on Prefect."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import anyio
from prefect.client.schemas.objects import TaskRun
from prefect.client.subscriptions import Subscription
from prefect.runner import Runner
from prefect.deployments import arun_deployment
from prefect.deployments.runner import EntrypointType
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron, Interval
from prefect.settings import get_current_settings
from prefect.task_worker import TaskWorker

from flows.daily_rollup import daily_rollup
from flows.events import INGEST_REQUESTED, announce, received_event
from flows.ingest_submission import (batch_key, ingest_pending, ingest_received_files, ingest_submission,
                                     publish_held_back)
from flows.home_server import hold_writer_lock
from flows.watch_inbox import announcer, watch
from transforms.core.layout import Layout
from transforms.core.reference import Reference

INGEST = "ingest-submission/ingest-submission"
RECONCILE = "ingest-pending/reconcile-inbox"
DAILY = "daily-rollup/daily-rollup"
RECONCILE_EVERY = dt.timedelta(minutes=10)
CATCH_UP_TIMEOUT = 120  # seconds the service waits for its catch-up run before saying it is watching anyway

log = logging.getLogger("warmline.serve")


def deployments(layout: Layout, ref: Reference) -> list:
    """The three deployments the service registers: ingest on request, reconcile, daily roll-up.

    Landed files do not go through a deployment: a flow run starts a fresh process (seconds on a small machine), so the
    watcher hands them to the writer as background tasks instead. The ingest deployment stays for reruns and
    for users' own triggers (an automation emitting warmline.submission.ingest-requested)."""
    home = str(layout.home)
    ingest = ingest_submission.to_deployment(
        name="ingest-submission",
        # by module path, so the flow runs import flows.* the same way the service does
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="Ingests one file from the inbox (and whatever else waits there); triggered by "
                    "warmline.submission.ingest-requested, or run by hand.",
        triggers=[DeploymentEventTrigger(
            name="ingest requested",
            expect={INGEST_REQUESTED},
            match={"prefect.resource.id": "warmline.submission.*"},
            parameters={"path": "{{ event.payload.path }}", "home": "{{ event.payload.home }}", "delegate": True},
        )],
        parameters={"home": home, "delegate": True},
    )
    reconcile = ingest_pending.to_deployment(
        name="reconcile-inbox",
        # by module path, so the flow runs import flows.* the same way the service does
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="Ingests anything left in the inbox: catch-up at start, then every 10 minutes in case an "
                    "event was lost.",
        schedules=[Interval(RECONCILE_EVERY, timezone=str(ref.campaign.timezone))],
        parameters={"home": home, "delegate": True},
    )
    daily = daily_rollup.to_deployment(
        name="daily-rollup",
        # by module path, so the flow runs import flows.* the same way the service does
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="Computes the day's city-wide figures at the campaign's daily hour.",
        schedules=[Cron(ref.campaign.rollup_cron, timezone=str(ref.campaign.timezone))],
        parameters={"home": home, "delegate": True},
    )
    return [ingest, reconcile, daily]


def hand_over(path: Path, home: str) -> None:
    """Give one landed file to the writer (the TaskWorker below) as a Prefect background task: the server pushes
    it to the warm worker over its websocket, with no flow-run process to start. A file swept meanwhile by the
    task of another has nothing left to hand over."""
    try:
        key = batch_key([path])
    except FileNotFoundError:
        return
    # closed after writing or renamed in: complete, so read at once, without the quiet watch
    ingest_received_files.delay([str(path)], home, key, sweep=True, complete=True)
    log.info("received %s", path.name)


def rehearse_hand_over(home: str) -> None:
    """Hand the writer a task with no files (it ends at once; "ingest warm-up" among the task runs): a process's
    first hand-over pays for Prefect's first use of a client and of the task's submission, seconds on a small machine,
    which would otherwise delay the first file landed after the service starts."""
    ingest_received_files.delay([], home, "warm-up")


class Writer(TaskWorker):
    """The task worker that runs every ingest and publication handed to the writer, one at a time; it can stop
    between two tasks, leaving none taken and not run (to start afresh, see run_writer).

    Prefect's own loop (prefect 3.9, TaskWorker._subscribe_to_task_scheduling) acknowledges the next task as soon
    as the server sends it, while the one before still runs: a worker stopped then would drop a task the server
    counts as delivered. This loop asks for the next task only once the one before has finished, and checks
    `stop_when` in between; a task the server sent and the writer never acknowledged goes back to the server's
    queue for the next subscriber."""

    def __init__(self, *tasks, stop_when=lambda: False):
        super().__init__(*tasks, limit=1)
        self.stop_when = stop_when
        self.stopped_between_tasks = False

    async def _subscribe_to_task_scheduling(self) -> None:
        subscription = Subscription(model=TaskRun, path="/task_runs/subscriptions/scheduled", keys=self.task_keys,
                                    client_id=self.client_id, base_url=get_current_settings().api.url)
        # Prefect's own words, which the log's readers (and the tests) wait for
        logging.getLogger("prefect.task_worker").info(
            "Subscribing to runs of task(s): %s",
            " | ".join(key.split(".")[-1].split("-")[0] for key in sorted(self.task_keys)))
        while True:
            while self.current_tasks:  # the task before still runs
                await anyio.sleep(0.01)
            if self.stop_when():
                self.stopped_between_tasks = True
                return
            task_run = await subscription.__anext__()  # acknowledged here: from now on it is this writer's
            if await self._acquire_token(task_run.id):
                self._runs_task_group.start_soon(self._safe_submit_scheduled_task_run, task_run)


def writer(stop_when=lambda: False) -> Writer:
    """The task worker that runs every ingest and publication handed to the writer, one at a time."""
    return Writer(ingest_received_files, publish_held_back, stop_when=stop_when)


async def run_writer(files_before_restart: int | None = None) -> bool:
    """The home's writer on its own (`warmline writer`), until stopped, or, given `files_before_restart`, until it
    has ingested that many files and finished its task: True then, and the caller starts the process afresh.
    Measured over 3,000 files, what the writer keeps between tasks is level (benchmarks/RESULTS.md); the fresh
    start stays as a bound on whatever native memory (the readers', DuckDB's) a process might still accumulate
    over a campaign, as Celery's worker_max_tasks_per_child or gunicorn's max_requests do."""
    from flows.ingest_submission import files_ingested

    due = (lambda: files_ingested() >= files_before_restart) if files_before_restart else (lambda: False)
    worker = writer(stop_when=due)
    await worker.start()
    return worker.stopped_between_tasks


async def run_service(layout: Layout, to_serve: list, api_url: str, ready=None) -> None:
    """Register the deployments, catch up on the inbox, then watch, serve and run the writer until stopped.

    `to_serve` comes from deployments(), built outside the event loop (Prefect builds them synchronously there).
    """
    # One flow run at a time: a run sweeps the whole inbox, and on 2 cores parallel subprocesses only queue.
    runner = Runner(name="warmline", query_seconds=1, limit=1)
    for deployment in to_serve:
        await runner.aadd_deployment(deployment)
    # The single writer: every served ingest and publication runs in it, one at a time, validation already
    # loaded. The home's writer when it runs (started with the home's Prefect server), else one in this process.
    lock = hold_writer_lock(layout, api_url)
    loop = asyncio.get_running_loop()

    home = str(layout.home)

    announce_on_loop = announcer(loop, announce)

    def landed(path: Path) -> None:  # in the watcher's thread, so that a busy event loop never delays a file
        try:
            # the event describes the file as it landed: made before the hand-over, after which the writer may
            # take the file out of the inbox at any moment
            event = received_event(path, layout.home)
        except FileNotFoundError:
            return  # taken already (by the sweep, or it moved on): nothing landed here to hand over
        try:
            hand_over(path, home)
        except Exception as exc:  # the server unreachable, say: the inbox keeps the file for the sweep
            log.warning("could not hand %s to the writer (%s: %s); the reconcile sweep will take it", path.name,
                        type(exc).__name__, exc)
        announce_on_loop(path, event)

    # Before watching: two first hand-overs at once (this one and a landed file's) wait on each other for seconds.
    await asyncio.to_thread(rehearse_hand_over, home)
    observer = watch(layout.inbox, landed)
    serving = asyncio.gather(runner.start(), *([writer().start()] if lock else []))
    try:
        # Files that landed while the service was down (or warming up): one reconcile run now, waited for before
        # the service says it is watching, since a hand-over made while a flow run writes to the server's
        # database waits for it (a file landed during the catch-up waited several times longer).
        await arun_deployment(RECONCILE, timeout=CATCH_UP_TIMEOUT, poll_interval=0.2)
        if ready:
            ready()
        await serving
    finally:
        observer.stop()
        if lock:
            lock.close()
