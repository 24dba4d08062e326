"""Shared fixtures: a warmline home in a temporary folder, the worked example loaded without Prefect."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import pytest

from transforms import warehouse
from transforms.core.layout import SHIPPED_REFERENCE, Layout
from transforms.core.reference import Reference, load_reference
from transforms.ingest.ingestor import Ingestor
from transforms.read.worked_example import DEMO_DATE, write_demo

REPO = Path(__file__).resolve().parent.parent


def make_home(root: Path) -> Layout:
    """A fresh home: folders and the shipped reference data, no warehouse yet."""
    layout = Layout(root)
    layout.create()
    return layout


@pytest.fixture(scope="session")
def ref() -> Reference:
    return load_reference(SHIPPED_REFERENCE)


@pytest.fixture(scope="session")
def validator(ref):
    """Great Expectations costs seconds to start: one validator for the whole session."""
    from transforms.validate.suites import SubmissionValidator

    return SubmissionValidator(ref)


@pytest.fixture
def home(tmp_path) -> Layout:
    return make_home(tmp_path / "home")


@pytest.fixture(scope="session")
def reader(ref):
    """One worker process that reads files for the whole session (transforms/read/guarded_reader.py)."""
    from transforms.read.guarded_reader import SafeReader

    with SafeReader(ref) as shared:
        yield shared


@pytest.fixture
def ingestor(home, ref, validator, reader) -> Ingestor:
    # Tests write files and ingest them at once: no watching a just-written file for a second (test_ingest.py
    # checks that wait on its own Ingestor).
    return Ingestor(home, ref, validator, reader, quiet_seconds=0)


def ingest_inbox(ingestor: Ingestor, day: dt.date | None = None) -> list:
    """Ingest everything in the inbox (oldest first) and build the marts, the way the daily flow does."""
    layout = ingestor.layout
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        files = sorted(layout.inbox.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
        outcomes = [ingestor.ingest(p, con) for p in files]
        if day:
            warehouse.record_rollup_day(con, day)
        return outcomes
    finally:
        con.close()


@pytest.fixture
def demo_home(home, ingestor) -> Layout:
    """A home with the worked example ingested and 2023-12-20 computed."""
    write_demo(home.inbox, ingestor.ref)
    ingest_inbox(ingestor, DEMO_DATE)
    return home


FIGURES = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def report_figures(request) -> list[str]:
    """Lines a test states for the session's closing summary (the fuzz run's files, times and memory)."""
    return request.config.stash.setdefault(FIGURES, [])


def pytest_terminal_summary(terminalreporter, config) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("figures stated by the tests")
        for line in lines:
            terminalreporter.write_line(line)


def land_mixed_batch(layout: Layout, ref: Reference, scratch: Path, unreadable: bool = False) -> list[str]:
    """The worked example, a correction of 翁源县, the same bytes again, a rejected file and, if asked, an
    unreadable one: landed in the inbox a minute apart from 09:00 on 2023-12-20 (Shanghai). Returns the names."""
    from transforms.read.template import FilledRow, write_submission

    files = write_demo(scratch / "demo", ref)
    files.append(write_submission(scratch / "翁源县_更正.xlsx", ref, "翁源县民政局", DEMO_DATE,
                                  [FilledRow("县民政局及各镇", {"走访慰问户数（户）": 6900})]))
    files.append(files[0].with_name("再次发送.xlsx"))
    shutil.copyfile(files[0], files[-1])
    files.append(write_submission(scratch / "浈江区_bad.xlsx", ref, "浈江区民政局", DEMO_DATE,
                                  [FilledRow("犁市镇", {"走访慰问户数（户）": -5})]))
    if unreadable:
        files.append(scratch / "南雄市_20231220.xlsx")
        files[-1].write_bytes(b"PK\x03\x04 not a workbook")
    shanghai = dt.timezone(dt.timedelta(hours=8))
    for n, path in enumerate(files):
        target = layout.inbox / path.name
        shutil.copyfile(path, target)
        landed = dt.datetime(2023, 12, 20, 9, n, tzinfo=shanghai).timestamp()
        os.utime(target, (landed, landed))
    return [p.name for p in files]


# -- a real Prefect server for the tests that need one ---------------------------------------------------------
BIN = Path(sys.executable).parent


def write_rows(path: Path, rows: list[list]) -> Path:
    """A one-sheet workbook (统计表) with `rows` written from A1 down: a county's own layout, for tests."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("统计表")
    for r, cells in enumerate(rows):
        sheet.write_row(r, 0, cells)
    book.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(extra)
    return env


def start_prefect_server(folder: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`prefect server start` on a loopback port (a free one unless given) with its SQLite database in `folder`;
    fails the test if it does not answer within two minutes."""
    port = port or free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = (folder / "server.log").open("a")
    env = clean_env(PREFECT_HOME=str(folder), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                    PREFECT_SERVER_LOGGING_LEVEL="WARNING", PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return server, api
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_prefect_server(server)
    pytest.fail(f"a Prefect server could not start here: {(folder / 'server.log').read_text()[-500:]}")


def stop_prefect_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def interrupt(service: subprocess.Popen) -> str:
    """Ctrl+C to a service started in its own session (SIGKILL if it has not stopped in 30 s); its output."""
    os.killpg(service.pid, signal.SIGINT)
    try:
        output, _ = service.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(service.pid, signal.SIGKILL)
        output, _ = service.communicate()
    return output or ""


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A Prefect server for the session: the tests of the command line and the service record their runs there
    (the home's own server is tested in tests/test_home_server.py)."""
    folder = tmp_path_factory.mktemp("prefect-server")
    server, api = start_prefect_server(folder)
    yield {"api": api, "home": folder}
    stop_prefect_server(server)


def start_web(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`warmline web` for the home in env's WARMLINE_HOME on a free port, once it answers: the process (in its own
    session, for os.killpg) and its base address."""
    port = free_port()
    process = subprocess.Popen([str(BIN / "warmline"), "web", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/static/warmline.css", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"warmline web did not answer at {base} within 60 s")


@pytest.fixture
def browser():
    """Headless Chromium (the system's, which `make test` installs) driven through Playwright."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; `make test` (or `make chromium`) installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()
