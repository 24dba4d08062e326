"""The Prefect flows, run for real under Prefect's test harness (a temporary local server)."""

import datetime as dt

import pytest

from tests.conftest import make_home
from transforms import warehouse
from transforms.demo import DEMO_DATE, write_demo

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
