"""The default a new user meets: no PREFECT_API_URL. The first command that needs Prefect starts the home's own
server in the background and says so once; the next commands reuse it; `warmline server` shows and stops it;
two commands started together start one server; `warmline serve` runs on it. Real processes, a real server."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import BIN, clean_env, interrupt
from tests.test_cli import warmline

pytestmark = pytest.mark.slow

STARTED = re.compile(r"Started a Prefect server for this home at (http://127\.0\.0\.1:(\d+)) \(process (\d+); its "
                     r"database and log in (.+)\), and its writer \(process (\d+)\)\. They keep running for the "
                     r"next warmline commands; `warmline server stop` stops them\.")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def flow_runs(url: str) -> list[str]:
    response = httpx.post(f"{url}/api/flow_runs/filter", json={"limit": 50}, timeout=10)
    response.raise_for_status()
    return [run["name"] for run in response.json()]


@pytest.fixture
def home(tmp_path):
    """A fresh home whose server is stopped at the end whatever the test did (nothing is left running)."""
    home = tmp_path / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    yield home
    warmline(home, "server", "stop")


def test_the_first_command_starts_the_homes_server_and_the_next_ones_reuse_it(home):
    assert warmline(home, "demo").returncode == 0
    first = warmline(home, "run", "--date", "2023-12-20")
    assert first.returncode == 0, first.stdout + first.stderr
    started = STARTED.search(first.stdout.replace("\n", " "))
    assert started, first.stdout[:600]
    url, port, pid, folder = started.group(1), int(started.group(2)), int(started.group(3)), started.group(4)
    assert Path(folder) == home / "data" / "prefect"
    assert (home / "data" / "prefect" / "prefect.db").exists()  # its database is the home's, not ~/.prefect's
    assert alive(pid) and answers(url)
    assert len(flow_runs(url)) == 1  # the run's daily-rollup, recorded on the home's server
    # the server runs with few malloc arenas: with one per thread it grew with every file served
    assert b"MALLOC_ARENA_MAX=2" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")

    writer = int(started.group(5))
    assert alive(writer)
    # the command waited for the writer to warm up: it says so with its process id
    assert (home / "data" / "prefect" / "writer-ready.txt").read_text() == str(writer)

    # a new file goes to the warm writer as a background task: no flow run, no validation loaded here
    source = home / "仁化县_1221.xlsx"
    from transforms.core.reference import load_reference
    from transforms.read.template import FilledRow, write_submission

    write_submission(source, load_reference(home / "data" / "reference"), "仁化县", dt.date(2023, 12, 21),
                     [FilledRow("全县", {"走访慰问户数（户）": 321})])
    again = warmline(home, "ingest", str(source))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Started a Prefect server" not in again.stdout  # said once, when it started
    assert "Files: 1 loaded, 0 superseded, 0 duplicate, 0 rejected" in again.stdout
    assert len(flow_runs(url)) == 1  # still only the run's
    def ingest_tasks():  # the server records task runs in batches: a moment after they ran
        return httpx.post(f"{url}/api/task_runs/filter", timeout=10,
                          json={"task_runs": {"name": {"like_": "ingest 1 file(s)"}}}).json()

    deadline = time.monotonic() + 30
    while not ingest_tasks() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [t["flow_run_id"] for t in ingest_tasks()] == [None]  # the writer's background task
    con = duckdb.connect(str(home / "data" / "warehouse" / "warmline.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT value FROM raw.facts JOIN raw.submissions USING (submission_id) "
                           "WHERE file_name = '仁化县_1221.xlsx' AND indicator = 'households_visited'"
                           ).fetchall() == [(321,)]
    finally:
        con.close()

    # a command whose files the writer cannot reach (parameters stored where it does not look) fails with a
    # one-line reason instead of waiting for an hour
    lost = home / "仁化县_1222.xlsx"
    write_submission(lost, load_reference(home / "data" / "reference"), "仁化县", dt.date(2023, 12, 22),
                     [FilledRow("全县", {"走访慰问户数（户）": 400})])
    elsewhere = subprocess.run([str(BIN / "warmline"), "ingest", str(lost)], capture_output=True, text=True,
                               timeout=300, env=clean_env(WARMLINE_HOME=str(home), COLUMNS="200",
                                                          PREFECT_LOCAL_STORAGE_PATH=str(home / "elsewhere")))
    assert elsewhere.returncode == 1, elsewhere.stdout + elsewhere.stderr
    assert elsewhere.stderr.strip() == (f"Error: the writer could not take the work handed to it; see "
                                        f"{home / 'data/prefect/writer.log'} and {home / 'data/logs/warmline.log'}")
    assert lost.exists()

    status = warmline(home, "server", "status")
    assert status.stdout.startswith(f"Prefect server for this home: running at {url} (UI and API), process {pid}, ")

    # read-only commands need no server: with it stopped, they start none
    stopped = warmline(home, "server", "stop")
    assert stopped.stdout.strip() == f"Stopped the Prefect server for this home (process {pid}, {url})."
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid) and not answers(url) and not alive(writer)
    assert warmline(home, "server", "status").stdout.startswith("No Prefect server runs for this home")
    assert warmline(home, "status", "--date", "2023-12-20").returncode == 0
    assert warmline(home, "sql", "SELECT count(*) AS n FROM raw.submissions").returncode == 0
    assert warmline(home, "server", "status").stdout.startswith("No Prefect server runs for this home")
    assert warmline(home, "server", "stop").stdout.strip() == "No Prefect server runs for this home; nothing to stop."
    assert port  # the port was the server's own pick


def test_two_commands_started_together_start_one_server(home):
    env = clean_env(WARMLINE_HOME=str(home))
    both = [subprocess.Popen([str(BIN / "warmline"), "server", "start"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in both]
    assert [p.returncode for p in both] == [0, 0], outputs
    starts = [STARTED.search(o.replace("\n", " ")) for o in outputs]
    assert sum(1 for s in starts if s) == 1, outputs
    pid = int(next(s for s in starts if s).group(3))
    other = next(o for o, s in zip(outputs, starts) if not s)
    assert other.strip().startswith("The Prefect server for this home already runs at ")
    assert f"(process {pid})" in other


def test_serve_runs_on_the_homes_server(home):
    service = subprocess.Popen([str(BIN / "warmline"), "serve"], env=clean_env(WARMLINE_HOME=str(home)),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = service.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.strip().startswith("Prefect UI:"):
                break
        text = " ".join(lines)
        started = STARTED.search(text)
        assert started, text
        assert f"Prefect UI: {started.group(1)}" in text
        assert alive(int(started.group(5)))  # the home's writer takes the service's files
    finally:
        interrupt(service)
    # the home's server outlives the service, as it said; the fixture stops it
    assert warmline(home, "server", "status").stdout.startswith(f"Prefect server for this home: running at "
                                                                 f"{started.group(1)}")


def test_the_writer_starts_afresh_after_its_files_and_loses_none_handed_over_meanwhile(home):
    """A long-running writer's memory grows slowly with the files it reads; after WARMLINE_WRITER_FILES it starts
    its program afresh in the same process, keeping the warehouse's lock. Work handed over while it restarts waits
    in the server's queue: every command still gets its file loaded, exactly once."""
    from transforms.core.reference import load_reference
    from transforms.read.template import FilledRow, write_submission

    ref = load_reference(home / "data" / "reference")
    sources = []
    for n in range(6):
        source = home / f"仁化县_12{21 + n}.xlsx"
        write_submission(source, ref, "仁化县", dt.date(2023, 12, 21 + n),
                         [FilledRow("全县", {"走访慰问户数（户）": 300 + n})])
        sources.append(source)
    env = clean_env(WARMLINE_HOME=str(home), COLUMNS="200", WARMLINE_WRITER_FILES="2")
    first = subprocess.run([str(BIN / "warmline"), "ingest", str(sources[0])], capture_output=True, text=True,
                           timeout=300, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    writer = int(STARTED.search(first.stdout.replace("\n", " ")).group(5))
    # five commands at once: one file each, handed over while the writer restarts after every second file
    commands = [subprocess.Popen([str(BIN / "warmline"), "ingest", str(source)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env) for source in sources[1:]]
    for command in commands:
        stdout, stderr = command.communicate(timeout=300)
        assert command.returncode == 0, stdout + stderr
        assert "Files: 1 loaded, 0 superseded, 0 duplicate, 0 rejected" in stdout
    ready = home / "data" / "prefect" / "writer-ready.txt"
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text() == str(writer)) and time.monotonic() < deadline:
        time.sleep(0.2)  # warm again after the last restart
    assert alive(writer)
    log = (home / "data" / "prefect" / "writer.log").read_text()
    assert log.count("warmline writer: 2 files ingested; starting afresh") == 3  # after the 2nd, 4th and 6th
    assert log.count(f"warmline writer for {home}: process {writer}, ") == 4  # the same process each time
    # the reader workers of the program before were stopped, not left behind: the writer's children are its own
    children = Path(f"/proc/{writer}/task/{writer}/children").read_text().split()
    states = [Path(f"/proc/{child}/stat").read_text().split()[2] for child in children]
    assert "Z" not in states and len(children) <= 2, states  # at most its two reader workers
    con = duckdb.connect(str(home / "data" / "warehouse" / "warmline.duckdb"), read_only=True)
    try:
        loaded = con.execute("SELECT file_name, count(*) FROM raw.submissions GROUP BY ALL ORDER BY 1").fetchall()
    finally:
        con.close()
    assert loaded == [(source.name, 1) for source in sources]
    # still the home's writer: `warmline server stop` ends it
    assert warmline(home, "server", "stop").returncode == 0
    deadline = time.monotonic() + 10
    while alive(writer) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(writer)
    # a stop is an ordinary end of the writer, not an error it prints (Prefect's StopTaskWorker was, once)
    assert "Error:" not in (home / "data" / "prefect" / "writer.log").read_text()
