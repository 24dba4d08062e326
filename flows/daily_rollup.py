"""The daily flow: ingest what is pending, rebuild the marts for the day, and summarise it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.ingest_submission import ingest_all, ingestor_for, pending_files
from transforms import warehouse
from transforms.layout import Layout
from transforms.summary import DaySummary, day_summary


def campaign_today(home: str) -> dt.date:
    """Today in the campaign's time zone (a county's day, not the server's)."""
    return dt.datetime.now(ingestor_for(home).ref.campaign.timezone).date()


@task(name="build-marts")
def build_marts(home: str, day: dt.date) -> None:
    """Refresh reference data and views, and extend the marts' calendar to `day`."""
    layout = Layout(Path(home))
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor_for(home).ref)
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


@flow(name="daily-rollup")
def daily_rollup(home: str, day: dt.date | None = None) -> dict:
    """Ingest everything pending, compute day `day` (default: today in the campaign's zone), summarise it."""
    day = day or campaign_today(home)
    files = pending_files(Layout(Path(home)))
    outcomes = ingest_all(files, home) if files else []
    build_marts(home, day)
    summary = summarise_day(home, day)
    get_run_logger().info("day %s: %d files ingested, %d units missing", day, len(outcomes), len(summary.missing))
    return {"day": day, "outcomes": outcomes, "summary": summary}
