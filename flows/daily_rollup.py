"""The daily flow: ingest what is pending, rebuild the marts for the day, and summarise it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.events import emit_day_published
from flows.ingest_submission import ingest_all, ingestor_for, pending_files, publish_for_analysts
from flows.runtime import task_runner
from transforms import warehouse
from transforms.checks import CheckResult, DayChecks
from transforms.layout import Layout
from transforms.publication import record_publication
from transforms.reference import load_reference
from transforms.rollup_state import DayState, fingerprint, recall, remember
from transforms.summary import DaySummary, day_summary


def campaign_today(home: str) -> dt.date:
    """Today in the campaign's time zone (a county's day, not the server's)."""
    # the reference alone: building the ingestor would load Great Expectations for a run that may not need it
    return dt.datetime.now(load_reference(Layout(Path(home)).reference).campaign.timezone).date()


@task(name="build-marts")
def build_marts(home: str, day: dt.date) -> None:
    """Refresh reference data and views, and extend the marts' calendar to `day`."""
    layout = Layout(Path(home))
    con = warehouse.connect(layout.warehouse)
    try:
        # the reference alone: building the ingestor for its copy would load Great Expectations (seconds)
        warehouse.prepare(con, load_reference(layout.reference))
        warehouse.record_rollup_day(con, day)
    finally:
        con.close()


@task(name="summarise-day")
def summarise_day(home: str, day: dt.date) -> DaySummary:
    """The day's headline, totals and units, read back from the marts."""
    con = warehouse.connect(Layout(Path(home)).warehouse, read_only=True)
    try:
        return day_summary(con, day)
    finally:
        con.close()


@task(name="write-bulletin")
def publish_bulletin(home: str, day: dt.date) -> list[Path]:
    """The day's press bulletin in data/bulletins/<day>/, written from the warehouse alone."""
    from transforms.bulletin import bulletin_folder, load_wording, write_bulletin  # matplotlib: only when written

    layout = Layout(Path(home))
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return write_bulletin(con, day, bulletin_folder(layout.bulletins, day), load_wording(layout.reference))
    finally:
        con.close()


@task(name="check-day")
def check_day(home: str, day: dt.date) -> list[CheckResult]:
    """The statistician's checks of the day (completeness, cumulative, outliers, cross-field, plausibility)."""
    ingestor = ingestor_for(home)
    con = warehouse.connect(Layout(Path(home)).warehouse, read_only=True)
    try:
        return DayChecks(ingestor.ref, ingestor.validator).run(con, day)
    finally:
        con.close()


@task(name="record-publication")
def record_day_published(home: str, day: dt.date, forced: bool, blocking: list[CheckResult]) -> None:
    """Keep the figures as published, so a later correction is called out."""
    con = warehouse.connect(Layout(Path(home)).warehouse)
    try:
        record_publication(con, day, forced, blocking)
    finally:
        con.close()


@flow(name="daily-rollup", task_runner=task_runner())
def daily_rollup(home: str, day: dt.date | None = None, delegate: bool = False, force: bool = False) -> dict:
    """Ingest everything pending, compute day `day` (default: today in the campaign's zone), check it, and
    publish it (bulletin, published figures) unless a blocking check fails and `force` is not set."""
    day = day or campaign_today(home)
    files = pending_files(Layout(Path(home)))
    outcomes = ingest_all(files, home, delegate, publish_after=False) if files else []
    build_marts(home, day)
    summary = summarise_day(home, day)
    unchanged = None if outcomes else _recall_day(home, day, force)
    if unchanged:  # nothing new since the last run of this day: its checks, bulletin and publication stand
        get_run_logger().info("day %s: nothing new since the last run; its checks, bulletin and publication stand",
                              day)
        blocking = [c for c in unchanged.checks if c.blocks]
        return {"day": day, "outcomes": outcomes, "summary": summary, "bulletin": unchanged.bulletin,
                "checks": unchanged.checks, "blocking": blocking, "published": unchanged.published,
                "forced": unchanged.forced}
    checks = check_day(home, day) if summary.headline else []
    blocking = [c for c in checks if c.blocks]
    # A day outside the campaign has no figures and so nothing to publish; the summary says so.
    published = bool(summary.headline) and (not blocking or force)
    bulletin = []
    if published:
        bulletin = publish_bulletin(home, day)
        record_day_published(home, day, bool(blocking), blocking)
    publish_for_analysts(home)
    get_run_logger().info("day %s: %d files ingested, %d units missing, %d blocking checks, published: %s",
                          day, len(outcomes), len(summary.missing), len(blocking), published)
    if published:
        emit_day_published(day.isoformat(), day_event_payload(summary, outcomes))
    _remember_day(home, day, force, DayState(checks, published, published and bool(blocking), bulletin))
    return {"day": day, "outcomes": outcomes, "summary": summary, "bulletin": bulletin, "checks": checks,
            "blocking": blocking, "published": published, "forced": published and bool(blocking)}


def _recall_day(home: str, day: dt.date, force: bool) -> DayState | None:
    layout = Layout(Path(home))
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return recall(layout, day, fingerprint(con, layout, day, force))
    finally:
        con.close()


def _remember_day(home: str, day: dt.date, force: bool, state: DayState) -> None:
    layout = Layout(Path(home))
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        remember(layout, day, fingerprint(con, layout, day, force), state)
    finally:
        con.close()


def day_event_payload(summary: DaySummary, outcomes: list[dict]) -> dict:
    """What warmline.day.published carries: the headline figures, unit counts and this run's file outcomes."""
    headline = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in (summary.headline or {}).items()}
    files = {s: sum(1 for o in outcomes if o["status"] == s) for s in ("loaded", "superseded", "duplicate", "rejected")}
    return {"headline": headline, "files": files, "units_missing": [u["unit_code"] for u in summary.missing]}
