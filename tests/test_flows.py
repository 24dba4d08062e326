"""The Prefect flows, run for real under Prefect's test harness (a temporary local server)."""

import datetime as dt

import pytest

from tests.conftest import make_home
from transforms import warehouse
from transforms.read.worked_example import DEMO_DATE, write_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


def test_daily_rollup_ingests_pending_files_and_summarises_the_day(prefect, tmp_path, ref):
    from flows.daily_rollup import daily_rollup

    layout = make_home(tmp_path / "home")
    write_demo(layout.inbox, ref)
    result = daily_rollup(str(layout.home), DEMO_DATE)
    assert [o["status"] for o in result["outcomes"]] == ["loaded"] * 6
    summary = result["summary"]
    assert [p.relative_to(layout.home).as_posix() for p in result["bulletin"]] == [
        f"data/bulletins/2023-12-20/{name}" for name in ("bulletin.md", "bulletin.docx", "chart.png", "figures.csv")]
    assert all(p.stat().st_size > 0 for p in result["bulletin"])
    assert summary.headline["households_visited"] == 24684
    assert (summary.headline["funds_disbursed"], summary.headline["funds_disbursed_qualifier"]) == (4185000, "approx")
    assert (summary.headline["items_issued"], summary.headline["items_issued_qualifier"]) == (5584, "at_least")
    assert (summary.headline["patrols_run"], summary.headline["patrols_run_qualifier"]) == (371, "at_least")
    assert [u["unit_name"] for u in summary.missing] == ["武江区", "曲江区", "仁化县", "乳源瑶族自治县", "新丰县", "乐昌市"]
    assert list(layout.inbox.iterdir()) == []


def test_ingest_submission_flow_ingests_one_file_once(prefect, tmp_path, ref):
    from prefect import get_client  # noqa: F401  (the harness's server is the one in use)

    from flows.ingest_submission import ingest_submission

    layout = make_home(tmp_path / "home")
    path = write_demo(layout.inbox, ref)[0]
    first = ingest_submission(str(path), str(layout.home))
    second = ingest_submission(str(path), str(layout.home))  # the file has left the inbox
    assert (first["status"], first["unit_code"], first["as_of_date"]) == ("loaded", "440200901", "2023-12-20")
    assert second is None
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM raw.submissions").fetchone() == (1,)
    finally:
        con.close()


def test_flow_runs_are_recorded_on_the_server(prefect, tmp_path, ref):
    import asyncio

    from prefect import get_client

    from flows.daily_rollup import daily_rollup

    layout = make_home(tmp_path / "home")
    daily_rollup(str(layout.home), dt.date(2023, 12, 16))

    async def names():
        async with get_client() as client:
            runs = await client.read_flow_runs()
            return {(await client.read_flow(r.flow_id)).name for r in runs if r.state and r.state.is_completed()}

    assert {"daily-rollup", "ingest-submission"} <= asyncio.run(names())


def test_a_blocking_check_holds_the_day_back_until_forced_and_corrections_are_called_out(prefect, tmp_path, ref):
    import os

    from flows.daily_rollup import daily_rollup
    from transforms.read.template import FilledRow, write_submission

    layout = make_home(tmp_path / "home")

    def send(day, households, name, received=None):
        path = write_submission(layout.inbox / name, ref, "始兴县", day, [FilledRow("全县", {"走访慰问户数（户）": households})])
        received = received or dt.datetime.combine(day, dt.time(9))
        stamp = received.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
        os.utime(path, (stamp, stamp))

    send(dt.date(2023, 12, 18), 500, "始兴县_1218.xlsx")
    assert daily_rollup(str(layout.home), dt.date(2023, 12, 18))["published"] is True

    send(dt.date(2023, 12, 20), 450, "始兴县_1220.xlsx")  # below its own earlier report: blocks by default
    held = daily_rollup(str(layout.home), dt.date(2023, 12, 20))
    assert (held["published"], held["draft"]) == (False, True)
    assert [p.parent for p in held["bulletin"]] == [layout.bulletins / "2023-12-20" / "draft"] * 4
    assert [(c.check, c.unit_code, c.found) for c in held["blocking"]] == [("cumulative_falls", "440222", "450")]
    assert not (layout.bulletins / "2023-12-20" / "bulletin.md").exists()

    with pytest.raises(ValueError, match="--force needs --reason"):
        daily_rollup(str(layout.home), dt.date(2023, 12, 20), force=True)
    forced = daily_rollup(str(layout.home), dt.date(2023, 12, 20), force=True, reason="已电话核实")
    assert (forced["published"], forced["forced"]) == (True, True)

    # a correction of a day already published, received on the 21st
    send(dt.date(2023, 12, 18), 520, "始兴县_1218_更正.xlsx", dt.datetime(2023, 12, 21, 10, 0))
    assert daily_rollup(str(layout.home), dt.date(2023, 12, 21))["published"] is True
    text = (layout.bulletins / "2023-12-21" / "bulletin.md").read_text(encoding="utf-8")
    assert "更正：12月18日发布的全市走访慰问户数为500户，经报送单位更正后为520户。" in text
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        assert con.execute("SELECT as_of_date, forced, blocking_checks IS NOT NULL FROM raw.publications "
                           "ORDER BY published_at").fetchall() == [
            (dt.date(2023, 12, 18), False, False), (dt.date(2023, 12, 20), True, True),
            (dt.date(2023, 12, 21), False, False)]  # nothing new reported on the 21st, so nothing blocks
    finally:
        con.close()


def test_a_second_run_with_nothing_new_keeps_the_first_runs_checks_bulletin_and_publication(prefect, tmp_path, ref):
    from flows.daily_rollup import daily_rollup

    layout = make_home(tmp_path / "home")
    write_demo(layout.inbox, ref)
    first = daily_rollup(str(layout.home), DEMO_DATE)
    written = {p: p.stat().st_mtime_ns for p in first["bulletin"]}
    second = daily_rollup(str(layout.home), DEMO_DATE)
    assert second["outcomes"] == []
    assert (second["checks"], second["published"], second["bulletin"]) == \
        (first["checks"], True, first["bulletin"])
    assert second["summary"] == first["summary"]
    assert {p: p.stat().st_mtime_ns for p in second["bulletin"]} == written  # not written again
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM raw.publications").fetchone() == (1,)
    finally:
        con.close()
