"""Publishing a day through the gate: the one path by which any command or flow writes a day's bulletin.

`warmline run`, `warmline bulletin` and the served daily flow all call `gate_day` and then `publish_day`, so a day
the blocking checks hold back never gets an unmarked bulletin by one path while another refuses it. Neither needs
Prefect or Great Expectations (the checks read the warehouse alone): `warmline bulletin` loads neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import load_reference
from transforms.day.checks import DayChecks
from transforms.day.gate import GateDecision, decide
from transforms.day.release_log import record_publication


@dataclass(frozen=True)
class PublishedDay:
    """What publishing a day wrote: the bulletin's files, and whether they are the release or a marked draft."""

    decision: GateDecision
    paths: list[Path]

    @property
    def draft(self) -> bool:
        return not self.decision.publishable


def gate_day(home: str, day: dt.date, force: bool = False, reason: str | None = None) -> GateDecision:
    """Run the day's checks, with the reference data as it is now, and ask the gate; WarehouseOutdated, saying what
    to run, when there is no warehouse yet or an older warmline made it."""
    layout = Layout(Path(home))
    ref = load_reference(layout.reference)
    con = warehouse.open_read_only(layout.warehouse, run_first=f"warmline run --date {day}")
    try:
        checks = DayChecks(ref).run(con, day)
    finally:
        con.close()
    return decide(day, checks, force, reason)


def publish_day(home: str, decision: GateDecision) -> PublishedDay:
    """Write the day's bulletin as the gate allows: the release (recorded, with the text of each figure printed)
    when publishable, else a draft marked 草稿（未发布） in data/bulletins/<day>/draft/."""
    from transforms.bulletin.build import (bulletin_folder, compose_day, draft_folder, load_wording, printed_headline,
                                     remove_draft, write_files)  # matplotlib: only when a bulletin is written

    layout = Layout(Path(home))
    day, draft = decision.day, not decision.publishable
    wording = load_wording(layout.reference)
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        data, bulletin = compose_day(con, day, wording, draft=draft)
    finally:
        con.close()
    folder = draft_folder(layout.bulletins, day) if draft else bulletin_folder(layout.bulletins, day)
    paths = write_files(data, bulletin, wording, folder)
    if not draft:
        con = warehouse.connect(layout.warehouse)
        try:
            record_publication(con, decision, printed_headline(bulletin))
        finally:
            con.close()
        remove_draft(layout.bulletins, day)
    return PublishedDay(decision, paths)


def gate_and_publish(home: str, day: dt.date, force: bool = False, reason: str | None = None) -> PublishedDay:
    """`warmline bulletin`: the day's bulletin written again from the warehouse, as the gate allows."""
    return publish_day(home, gate_day(home, day, force, reason))
