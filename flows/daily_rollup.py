"""The daily flow: ingest what is pending, rebuild the marts for the day, and summarise it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.events import emit_day_published
from flows.ingest_submission import ingest_all, pending_files, publish_for_analysts
from flows.publish_day import PublishedDay, gate_day, publish_day
from flows.runtime import task_runner
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import load_reference
from transforms.day.gate import GateDecision, campaign_day, decide
from transforms.day.rollup_cache import DayState, fingerprint, recall, remember
from transforms.warehouse.day_summary import DaySummary, day_summary


def campaign_today(home: str) -> dt.date:
    """Today in the campaign's time zone (a county's day, not the server's)."""
    # the reference alone: building the ingestor would load Great Expectations for a run that may not need it
    return dt.datetime.now(load_reference(Layout(Path(home)).reference).campaign.timezone).date()


@task(name="build-marts")
def refresh_marts(home: str, day: dt.date) -> None:
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


@task(name="gate-day")
def check_day(home: str, day: dt.date, force: bool, reason: str | None) -> GateDecision:
    """The statistician's checks of the day (completeness, cumulative, outliers, cross-field, plausibility), and
    the publishing gate's decision on them."""
    return gate_day(home, day, force, reason)


@task(name="write-bulletin")
def publish_bulletin(home: str, decision: GateDecision) -> PublishedDay:
    """The day's bulletin, as the gate allows: the release (recorded), or a draft marked 草稿（未发布）."""
    return publish_day(home, decision)


@flow(name="daily-rollup", task_runner=task_runner())
def daily_rollup(home: str, day: dt.date | None = None, delegate: bool = False, force: bool = False,
                 reason: str | None = None) -> dict:
    """Ingest everything pending, compute day `day` (default: today in the campaign's zone, the last campaign day
    once it has ended), check it, and publish it unless a blocking check fails and it is not forced with a
    reason. A day outside the campaign is refused (OutsideCampaign) before anything is computed."""
    ref = load_reference(Layout(Path(home)).reference)
    day, day_note = campaign_day(ref.campaign, day, campaign_today(home))
    if day_note:
        get_run_logger().info(day_note)
    decide(day, [], force, reason)  # a --force without a reason is refused before anything is done
    files = pending_files(Layout(Path(home)))
    outcomes = ingest_all(files, home, delegate, publish_after=False) if files else []
    refresh_marts(home, day)
    summary = summarise_day(home, day)
    unchanged = None if outcomes else _recall_day(home, day, force)
    if unchanged:  # nothing new since the last run of this day: its checks, bulletin and publication stand
        get_run_logger().info("day %s: nothing new since the last run; its checks, bulletin and publication stand",
                              day)
        blocking = [c for c in unchanged.checks if c.blocks]
        return {"day": day, "day_note": day_note, "outcomes": outcomes, "summary": summary,
                "bulletin": unchanged.bulletin, "checks": unchanged.checks, "blocking": blocking,
                "published": unchanged.published, "forced": unchanged.forced, "draft": not unchanged.published}
    decision = check_day(home, day, force, reason)
    written = publish_bulletin(home, decision)
    publish_for_analysts(home)
    get_run_logger().info("day %s: %d files ingested, %d units missing, %d blocking checks, published: %s",
                          day, len(outcomes), len(summary.missing), len(decision.blocking), decision.publishable)
    if decision.publishable:
        emit_day_published(day.isoformat(), day_event_payload(summary, outcomes))
    _remember_day(home, day, force, DayState(list(decision.checks), decision.publishable, decision.forced,
                                             written.paths))
    return {"day": day, "day_note": day_note, "outcomes": outcomes, "summary": summary, "bulletin": written.paths,
            "checks": list(decision.checks), "blocking": decision.blocking, "published": decision.publishable,
            "forced": decision.forced, "draft": written.draft}


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
