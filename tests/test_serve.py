"""`warmline serve` against a real local Prefect server that the test starts and stops itself."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import BIN, clean_env, interrupt, make_home, start_prefect_server, stop_prefect_server
from transforms import warehouse
from transforms.read.template import FilledRow, write_submission

pytestmark = pytest.mark.slow


def submissions(path: Path) -> list[tuple]:
    """raw.submissions as (file_name, status), read between the service's short write windows."""
    if not path.exists():
        return []  # the service has not created it yet
    con = warehouse.connect(path, read_only=True, wait_seconds=10)  # WarehouseBusy if it stays locked
    try:
        return con.execute("SELECT file_name, status FROM raw.submissions ORDER BY file_name").fetchall()
    except (duckdb.CatalogException, duckdb.InvalidInputException):  # not created yet
        return []
    finally:
        con.close()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {value!r}")


def land_atomically(inbox: Path, source: Path, name: str) -> Path:
    """Copy under a temporary name, then rename: how mail clients and scripts should drop files."""
    tmp = inbox / f".{name}.part"
    tmp.write_bytes(source.read_bytes())
    return tmp.rename(inbox / name)


def test_files_trigger_ingestion_and_the_service_catches_up_on_start(prefect_server, tmp_path, ref):
    started = dt.datetime.now(dt.timezone.utc)  # the session's server holds other tests' events too
    layout = make_home(tmp_path / "home")
    day = dt.date(2023, 12, 18)
    sources = {
        name: write_submission(tmp_path / name, ref, unit, day, [FilledRow("全县", {"走访慰问户数（户）": n})])
        for name, unit, n in (("仁化县_1218.xlsx", "仁化县", 10), ("新丰县_1218.xlsx", "新丰县", 20),
                              ("乐昌市_1218.xlsx", "乐昌市", 30))
    }
    # Landed while the service was down: picked up by the catch-up run at start.
    land_atomically(layout.inbox, sources["仁化县_1218.xlsx"], "仁化县_1218.xlsx")
    # analysts' copy at most hourly: loads after the first are held back until a reconcile run publishes them
    env = clean_env(PREFECT_API_URL=prefect_server["api"], PREFECT_HOME=str(prefect_server["home"]),
                    WARMLINE_HOME=str(layout.home), WARMLINE_PUBLISH_INTERVAL="3600")
    service = subprocess.Popen([str(BIN / "warmline"), "serve"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda: submissions(layout.warehouse) == [("仁化县_1218.xlsx", "loaded")], 120, "the catch-up")
        # Two files landing at the same moment: each ingested exactly once.
        for name in ("新丰县_1218.xlsx", "乐昌市_1218.xlsx"):
            land_atomically(layout.inbox, sources[name], name)
        landed = time.monotonic()
        wait_for(lambda: len(submissions(layout.warehouse)) == 3, 90, "the two triggered ingests")
        latency = time.monotonic() - landed
        time.sleep(2)  # nothing more may arrive: no file ingested twice
        assert submissions(layout.warehouse) == [("乐昌市_1218.xlsx", "loaded"), ("仁化县_1218.xlsx", "loaded"),
                                                 ("新丰县_1218.xlsx", "loaded")]
        assert list(layout.inbox.iterdir()) == []
        print(f"two files landed together were both loaded {latency:.1f} s later")

        from prefect.client.orchestration import get_client
        from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

        def read_events():
            with _api(prefect_server["api"]):
                with get_client(sync_client=True) as client:
                    return client.read_events(EventFilter(event=EventNameFilter(prefix=["warmline.submission."]),
                                                          occurred=EventOccurredFilter(since=started)),
                                              limit=50).events

        # The server persists events in batches (every few seconds): wait for all three outcomes to show.
        seen: list = []

        def three_loaded():
            seen[:] = read_events()
            # the received events are emitted after the hand-over, so they may be stored after the outcomes
            done = (sum(e.event == "warmline.submission.loaded" for e in seen) >= 3
                    and sum(e.event == "warmline.submission.received" for e in seen) >= 2)
            return seen if done else False

        try:
            events = wait_for(three_loaded, 60, "three warmline.submission.loaded and two .received events")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; events: {[(e.event, e.resource.get('prefect.resource.name')) for e in seen]}")
        with _api(prefect_server["api"]):
            with get_client(sync_client=True) as client:
                deployments = {d.name for d in client.read_deployments()}
        names = sorted(e.event for e in events)
        assert names.count("warmline.submission.received") >= 2
        assert names.count("warmline.submission.loaded") == 3
        loaded = {e.resource["prefect.resource.name"]: e for e in events if e.event == "warmline.submission.loaded"}
        assert loaded["新丰县_1218.xlsx"].resource["warmline.unit_code"] == "440233"
        assert loaded["新丰县_1218.xlsx"].payload["as_of_date"] == "2023-12-18"
        assert {"ingest-submission", "reconcile-inbox", "daily-rollup"} <= deployments
        # the landed files went straight to the writer: no flow run (a process each) was started for them
        flows = httpx.post(f"{prefect_server['api']}/flow_runs/filter", timeout=10,
                           json={"flows": {"name": {"any_": ["ingest-submission"]}}}).json()
        assert flows == []
        def background_ingests():  # the server records task runs in batches: a moment after they ran
            tasks = httpx.post(f"{prefect_server['api']}/task_runs/filter", timeout=10,
                               json={"task_runs": {"name": {"like_": "ingest 1 file(s)"}}}).json()
            # background tasks, outside any flow run (the catch-up's task ran inside its reconcile run)
            found = [t for t in tasks if t["flow_run_id"] is None]
            return found if len(found) >= 2 else False

        wait_for(background_ingests, 30, "two background ingest tasks recorded on the server")

        # The catch-up published (there was no copy yet); the interval held the two loads after it back until a
        # reconcile run (every 10 minutes; started here by hand) finds the inbox empty and has the writer publish.
        assert submissions(layout.analytics) == [("仁化县_1218.xlsx", "loaded")]
        from prefect.deployments import run_deployment

        with _api(prefect_server["api"]):
            run_deployment("ingest-pending/reconcile-inbox", timeout=0)
        wait_for(lambda: len(submissions(layout.analytics)) == 3, 90, "the reconcile run to publish the held loads")
        assert submissions(layout.analytics) == submissions(layout.warehouse)
    finally:
        output = interrupt(service)
        print(output)
    assert "warmline serve: watching" in output


class _api:
    """Point this test process's Prefect client at the test server for a moment."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        from prefect.settings import PREFECT_API_URL, temporary_settings

        self._settings = temporary_settings(updates={PREFECT_API_URL: self.url})
        self._settings.__enter__()

    def __exit__(self, *exc):
        self._settings.__exit__(*exc)


def test_the_readme_automation_example_is_a_valid_prefect_automation():
    import yaml
    from prefect.events.schemas.automations import AutomationCore

    from tests.conftest import REPO

    spec = yaml.safe_load((REPO / "docs/automations/notify-rejections.yaml").read_text(encoding="utf-8"))
    automation = AutomationCore.model_validate(spec)
    assert automation.trigger.expect == {"warmline.submission.rejected"}
    assert automation.actions[0].type == "send-notification"


def test_a_file_the_writer_cannot_take_stays_in_the_inbox_and_says_why(prefect_server, tmp_path, ref):
    layout = make_home(tmp_path / "home")
    source = write_submission(tmp_path / "仁化县_1218.xlsx", ref, "仁化县", dt.date(2023, 12, 18),
                              [FilledRow("全县", {"走访慰问户数（户）": 10})])
    env = clean_env(PREFECT_API_URL=prefect_server["api"], PREFECT_HOME=str(prefect_server["home"]),
                    WARMLINE_HOME=str(layout.home), WARMLINE_LOCK_WAIT_SECONDS="2")
    service = subprocess.Popen([str(BIN / "warmline"), "serve"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log = layout.logs / "warmline.log"
        wait_for(lambda: log.exists() and "Subscribing to runs of task(s)" in log.read_text(), 180, "the writer")
        time.sleep(3)  # the catch-up run of an empty inbox
        holder = duckdb.connect(str(layout.warehouse))  # another process holds the warehouse: the writer cannot
        try:
            land_atomically(layout.inbox, source, "仁化县_1218.xlsx")
            wait_for(lambda: "left in the inbox for the next sweep" in log.read_text(), 60, "the failure logged")
            assert [p.name for p in layout.inbox.iterdir()] == ["仁化县_1218.xlsx"]
        finally:
            holder.close()
        line = next(line for line in log.read_text().splitlines() if "left in the inbox" in line)
        assert "could not ingest 仁化县_1218.xlsx (WarehouseBusy: the warehouse" in line

        from prefect.client.orchestration import get_client
        from prefect.events.filters import EventFilter, EventNameFilter

        def deferred():
            with _api(prefect_server["api"]):
                with get_client(sync_client=True) as client:
                    events = client.read_events(EventFilter(event=EventNameFilter(name=["warmline.submission.deferred"])),
                                                limit=10).events
            return [e for e in events if e.payload.get("files") == ["仁化县_1218.xlsx"]]

        event = wait_for(deferred, 60, "a warmline.submission.deferred event")[0]
        assert event.payload["reason"].startswith("WarehouseBusy: the warehouse")

        # the next sweep takes it
        from prefect.deployments import run_deployment

        with _api(prefect_server["api"]):
            run_deployment("ingest-pending/reconcile-inbox", timeout=0)
        wait_for(lambda: submissions(layout.warehouse) == [("仁化县_1218.xlsx", "loaded")], 120, "the sweep")
        assert list(layout.inbox.iterdir()) == []
    finally:
        interrupt(service)


def start_service(env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "warmline"), "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)


def counts(layout) -> dict[str, int]:
    """How many times each file name is on record, whatever its state."""
    rows = submissions(layout.warehouse)
    return {name: sum(1 for n, _ in rows if n == name) for name in {n for n, _ in rows}}


def test_killed_service_and_restarted_server_lose_nothing_and_ingest_nothing_twice(tmp_path, ref):
    """SIGKILL the service while files land, start it again; then restart the Prefect server under it while
    more land. Every file ends in exactly one final state, none twice, the inbox empty."""
    layout = make_home(tmp_path / "home")
    folder = tmp_path / "prefect"
    folder.mkdir()
    server, api = start_prefect_server(folder)
    port = int(api.rsplit(":", 1)[1].split("/")[0])
    env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(folder), WARMLINE_HOME=str(layout.home))
    units = ("仁化县", "新丰县", "乐昌市", "南雄市", "始兴县", "翁源县")
    sources = [write_submission(tmp_path / f"src{n}.xlsx", ref, units[n % len(units)], dt.date(2023, 12, 16 + n // 6),
                                [FilledRow("全县", {"走访慰问户数（户）": 10 + n})]) for n in range(24)]
    names = [f"file_{n:02d}.xlsx" for n in range(24)]
    service = start_service(env)
    try:
        log = layout.logs / "warmline.log"
        wait_for(lambda: log.exists() and "Subscribing to runs of task(s)" in log.read_text(), 180, "the writer")
        for n in range(8):  # files landing; the service is killed in the middle of them
            land_atomically(layout.inbox, sources[n], names[n])
            time.sleep(0.3)
            if n == 4:
                os.killpg(service.pid, signal.SIGKILL)
                service.wait()
        service = start_service(env)  # its catch-up takes what the killed one left
        wait_for(lambda: len(counts(layout)) == 8, 240, "the eight files after the restart")

        stop_prefect_server(server)  # the server goes away under the service, files keep landing
        for n in range(8, 16):
            land_atomically(layout.inbox, sources[n], names[n])
        server, _ = start_prefect_server(folder, port)
        for n in range(16, 24):
            land_atomically(layout.inbox, sources[n], names[n])
            time.sleep(0.2)
        # files that landed while the server was down wait for the reconcile sweep (every 10 minutes, or at the
        # service's start): start the service again rather than wait ten minutes
        time.sleep(5)
        os.killpg(service.pid, signal.SIGKILL)
        service.wait()
        service = start_service(env)
        wait_for(lambda: len(counts(layout)) == 24, 300, "all 24 files")
        time.sleep(3)  # nothing more may arrive
        assert counts(layout) == {name: 1 for name in names}
        assert {status for _, status in submissions(layout.warehouse)} <= {"loaded", "superseded"}
        assert list(layout.inbox.iterdir()) == []
    finally:
        try:
            os.killpg(service.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stop_prefect_server(server)
