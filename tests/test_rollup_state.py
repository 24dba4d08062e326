"""A daily run with nothing new reuses the last run of the same day: only when nothing it depends on changed."""

from __future__ import annotations

import datetime as dt

from tests.conftest import ingest_inbox
from transforms import warehouse
from transforms.day.checks import CheckResult
from transforms.day.rollup_cache import DayState, fingerprint, recall, remember
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE
from transforms.warehouse.analysts_copy import publish

CHECK = CheckResult("missing_units", "440203", "武江区", None, "未报送", "报送", "未报送", "no report", False)


def digest(layout, day=DEMO_DATE, force=False) -> str:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return fingerprint(con, layout, day, force)
    finally:
        con.close()


def published(layout) -> DayState:
    bulletin = layout.bulletins / DEMO_DATE.isoformat() / "bulletin.md"
    bulletin.parent.mkdir(parents=True, exist_ok=True)
    bulletin.write_text("…", encoding="utf-8")
    con = warehouse.connect(layout.warehouse)
    try:
        publish(layout, con)
    finally:
        con.close()
    return DayState([CHECK], True, False, [bulletin])


def test_the_last_run_of_the_day_is_recalled_while_nothing_changed(demo_home):
    state = published(demo_home)
    remember(demo_home, DEMO_DATE, digest(demo_home), state)
    assert recall(demo_home, DEMO_DATE, digest(demo_home)) == state
    assert digest(demo_home) == digest(demo_home)
    assert digest(demo_home, force=True) != digest(demo_home)
    assert digest(demo_home, DEMO_DATE + dt.timedelta(days=1)) != digest(demo_home)


def test_a_new_file_a_reference_edit_or_a_lost_bulletin_means_the_day_is_run_again(demo_home, ingestor, ref,
                                                                                     tmp_path):
    state = published(demo_home)
    remember(demo_home, DEMO_DATE, digest(demo_home), state)
    toml = demo_home.reference / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert recall(demo_home, DEMO_DATE, digest(demo_home)) is None
    remember(demo_home, DEMO_DATE, digest(demo_home), state)
    write_submission(demo_home.inbox / "翁源县_更正.xlsx", ref, "翁源县民政局", DEMO_DATE,
                     [FilledRow("全县", {"走访慰问户数（户）": 6900})])
    ingest_inbox(ingestor)
    assert recall(demo_home, DEMO_DATE, digest(demo_home)) is None
    remember(demo_home, DEMO_DATE, digest(demo_home), state)
    state.bulletin[0].unlink()
    assert recall(demo_home, DEMO_DATE, digest(demo_home)) is None
