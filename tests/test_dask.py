"""Reading and validation on a Dask cluster (WARMLINE_TASK_RUNNER=dask): the same outcomes and rows as here."""


import pytest

from tests.conftest import ingest_inbox, land_mixed_batch, make_home
from transforms import warehouse
from transforms.ingest.ingestor import Ingestor

pytestmark = pytest.mark.slow
pytest.importorskip("prefect_dask")

TABLES = {
    "submissions": "SELECT submission_id, file_name, status, reason, unit_code, as_of_date, figures_read, warnings "
                   "FROM raw.submissions ORDER BY submission_id",
    "figures": "SELECT * FROM raw.figures ORDER BY ALL",
    "facts": "SELECT * FROM raw.facts ORDER BY ALL",
    "issues": "SELECT * FROM raw.issues ORDER BY ALL",
}


@pytest.fixture(scope="module")
def prefect():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


def land(layout, ref, scratch) -> None:
    land_mixed_batch(layout, ref, scratch)


def rows(layout) -> dict:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return {name: con.execute(query).fetchall() for name, query in TABLES.items()}
    finally:
        con.close()


def test_files_read_and_validated_on_two_dask_workers_end_as_ingested_here(prefect, tmp_path, ref, validator,
                                                                            reader):
    from prefect_dask import DaskTaskRunner

    from flows.ingest_submission import ingest_pending

    here = make_home(tmp_path / "here")
    land(here, ref, tmp_path / "scratch-here")
    expected = [(o.receipt.file_name, o.status) for o in ingest_inbox(Ingestor(here, ref, validator, reader,
                                                                                quiet_seconds=0))]

    there = make_home(tmp_path / "there")
    land(there, ref, tmp_path / "scratch-there")
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True,
                                            "dashboard_address": None})
    outcomes = ingest_pending.with_options(task_runner=runner)(str(there.home))

    assert [(o["file_name"], o["status"]) for o in outcomes] == expected
    assert [s for _, s in expected] == ["loaded"] * 6 + ["loaded", "duplicate", "rejected"]
    assert rows(there) == rows(here)
    assert list(there.inbox.iterdir()) == []
    assert sorted(p.name for p in there.rejected.iterdir()) == sorted(p.name for p in here.rejected.iterdir())
    # the reading went to the cluster: one assess task per worker, each with half of the files to read
    assert sorted(assess_task_runs()) == ["read and validate 4 file(s)", "read and validate 4 file(s)"]


def assess_task_runs() -> list[str]:
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    async def names():
        async with get_client() as client:
            runs = await client.read_task_runs(task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(like_="read and validate")))
            return [r.name for r in runs]

    return asyncio.run(names())
