"""Crash safety: kill -9 during a load leaves the warehouse consistent and the next run ends where an uninterrupted
run ends; two `warmline run` at once count nothing twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, ingest_inbox, land_mixed_batch, make_home
from transforms import warehouse
from transforms.ingest.ingestor import Ingestor
from transforms.read.worked_example import DEMO_DATE
from transforms.warehouse.audit import audit

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# Ingests the inbox the way the daily flow does, and stops for good at one point of the Nth file: `in-transaction`
# (rows written, not committed) or `before-leaving-inbox` (committed, the file still in the inbox).
CHILD = """
import os, sys, time
from pathlib import Path
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import load_reference
from transforms.ingest import record
from transforms.ingest.ingestor import Ingestor

home, stop, nth = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
layout = Layout(home)
ingestor = Ingestor(layout, load_reference(layout.reference))
count = {"n": 0}

def stop_here(what):
    count["n"] += 1
    if count["n"] == nth:
        print(what, *(w.process.pid for w in ingestor.reader._idle), flush=True)
        time.sleep(600)

if stop == "in-transaction":  # decide_supersession runs inside record()'s transaction, after the facts
    decide = record.decide_supersession
    def slow_decide(con, pairs):
        decide(con, pairs)
        stop_here("in-transaction")
    record.decide_supersession = slow_decide
else:
    leave = Ingestor._leave_inbox
    def slow_leave(self, path, seen):
        stop_here("before-leaving-inbox")
        leave(self, path, seen)
    Ingestor._leave_inbox = slow_leave

con = warehouse.connect(layout.warehouse)
warehouse.prepare(con, ingestor.ref)
for path in sorted(layout.inbox.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name)):
    print("ingested", ingestor.ingest(path, con).status, flush=True)
print("finished", flush=True)
"""


def land_batch(layout, ref, scratch: Path) -> int:
    return len(land_mixed_batch(layout, ref, scratch))


def state(layout) -> tuple[list, list]:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        submissions = con.execute("SELECT submission_id, file_name, sha256, status, unit_code, as_of_date "
                                  "FROM raw.submissions ORDER BY submission_id").fetchall()
        totals = con.execute("SELECT * FROM marts.city_totals ORDER BY ALL").fetchall()
        return submissions, totals
    finally:
        con.close()


def audit_findings(layout) -> list:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return audit(con, layout).findings
    finally:
        con.close()


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return True


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, ref, validator, reader):
    """The batch ingested without interruption: what every interrupted run must end with."""
    layout = make_home(tmp_path_factory.mktemp("uninterrupted"))
    files = land_batch(layout, ref, tmp_path_factory.mktemp("batch"))
    ingest_inbox(Ingestor(layout, ref, validator, reader), DEMO_DATE)
    submissions, totals = state(layout)
    assert len(submissions) == files
    assert sorted(s[3] for s in submissions) == ["duplicate", "loaded", "loaded", "loaded", "loaded", "loaded",
                                                 "loaded", "rejected", "superseded"]
    return submissions, totals


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "nth"), [("in-transaction", 4), ("before-leaving-inbox", 3)])
def test_kill_9_during_a_load_then_a_normal_run_ends_as_an_uninterrupted_one(stop, nth, tmp_path, ref, validator,
                                                                           reader, uninterrupted):
    layout = make_home(tmp_path / "home")
    files = land_batch(layout, ref, tmp_path / "batch")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(layout.home), stop, str(nth)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or not lines[-1].startswith(stop):
            line = child.stdout.readline()
            assert line, f"the child ended early: {lines} {child.stderr.read()}"
            lines.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    workers = [int(pid) for pid in lines[-1].split()[1:]]
    assert workers
    deadline = time.monotonic() + 10
    while not all(map(gone, workers)) and time.monotonic() < deadline:  # readers see their input close and exit
        time.sleep(0.05)
    assert all(map(gone, workers))

    # What the kill left: whole files only, each in one state; the file being loaded is still waiting.
    recorded, _ = state(layout)
    assert len(recorded) == (nth - 1 if stop == "in-transaction" else nth)
    assert audit_findings(layout) == []
    assert len(list(layout.inbox.iterdir())) == files - (nth - 1)

    ingest_inbox(Ingestor(layout, ref, validator, reader), DEMO_DATE)
    assert state(layout) == uninterrupted
    assert audit_findings(layout) == []
    assert list(layout.inbox.iterdir()) == []


# Ingests the inbox in one batch, as the daily flow does, with every write past `limit` bytes of a file failing
# as writes fail on a full disk (RLIMIT_FSIZE: EFBIG instead of ENOSPC, the same failed write to the code).
FULL_DISK_CHILD = """
import resource, signal, sys
from pathlib import Path
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import load_reference
from transforms.ingest.ingestor import IngestFailed, Ingestor

layout = Layout(Path(sys.argv[1]))
ingestor = Ingestor(layout, load_reference(layout.reference))
con = warehouse.connect(layout.warehouse)
warehouse.prepare(con, ingestor.ref)
con.execute("CHECKPOINT")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with an error instead of a signal
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    waiting = sorted(layout.inbox.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))  # as they landed
    print("recorded", len(ingestor.ingest_many(waiting, con)), flush=True)
except IngestFailed as failed:
    for path, error in failed.failed:
        print("failed", path.name, "|", " ".join(str(error).split()), flush=True)
"""


@pytest.mark.parametrize(("when", "limit"), [("archiving", 4096), ("recording", 30_000)])
def test_a_full_disk_leaves_every_file_accounted_for_and_says_why(when, limit, tmp_path, ref, validator, reader,
                                                                   uninterrupted):
    """4 KB: no file can be archived; 30 KB: files are archived, and the warehouse's log fills up part-way."""
    layout = make_home(tmp_path / "home")
    files = land_batch(layout, ref, tmp_path / "batch")
    child = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, str(layout.home), str(limit)], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    failed = [line.split(" | ", 1) for line in child.stdout.splitlines() if line.startswith("failed ")]
    assert child.returncode == 0 and failed, child.stdout + child.stderr
    # each failure says what failed, never the rollback that followed it
    assert all("File too large" in why and "no transaction is active" not in why for _, why in failed), failed
    if when == "recording":
        assert all("Could not write file" in why and "warmline.duckdb.wal" in why for _, why in failed), failed
    recorded, _ = state(layout)
    assert len(recorded) + len(list(layout.inbox.iterdir())) == files  # each file recorded or still waiting
    assert len(list(layout.inbox.iterdir())) == len(failed)
    assert audit_findings(layout) == []

    ingest_inbox(Ingestor(layout, ref, validator, reader), DEMO_DATE)  # the disk has room again
    assert state(layout) == uninterrupted
    assert audit_findings(layout) == []
    assert list(layout.inbox.iterdir()) == []


@pytest.mark.slow
def test_two_warmline_runs_at_once_count_nothing_twice(tmp_path, ref):
    home = tmp_path / "home"
    layout = make_home(home)
    files = land_batch(layout, ref, tmp_path / "batch")
    runs = []
    for n in (1, 2):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(WARMLINE_HOME=str(home), PREFECT_HOME=str(tmp_path / f"prefect{n}"), COLUMNS="200")
        runs.append(subprocess.Popen([str(Path(sys.executable).with_name("warmline")), "run", "--date", "2023-12-20"],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:  # both as a new user runs them: the first starts the home's server and writer, both hand files to it
        results = [(*run.communicate(timeout=600), run.returncode) for run in runs]
    finally:
        subprocess.run([str(Path(sys.executable).with_name("warmline")), "server", "stop"], env=env, timeout=120)
    results = [(code, out, err) for out, err, code in results]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    submissions, _ = state(layout)
    assert len(submissions) == files == len({s[0] for s in submissions})  # one row per file received, no more
    assert sorted(s[3] for s in submissions).count("loaded") == 6
    outs = [out.splitlines() for _, out, _ in results]
    # One run ingested the files (counted as they stand after it: 翁源县's first file was loaded, then superseded
    # by its correction, so the summary agrees with the warehouse's 6 loaded) ...
    first = "Files: 6 loaded, 1 superseded, 1 duplicate, 1 rejected"
    assert sorted(first in lines for lines in outs) == [False, True]
    other = next(lines for lines in outs if first not in lines)
    # ... the other waited for the warehouse, and found the files it had listed gone, or none listed at all.
    assert "No files were waiting in the inbox." in other or (
        "Files: 0 loaded, 0 superseded, 0 duplicate, 0 rejected" in other
        and sum("│ skipped │ no longer in the inbox: another run took it first" in line for line in other) == files)
    for lines in outs:  # the worked example, with 翁源县's corrected 6,900 households in place of 6,802
        assert "  households visited: 24,782 户" in lines
    assert audit_findings(layout) == []


def test_a_warehouse_that_cannot_be_written_is_said_so_and_nothing_moves(tmp_path, ref):
    """An immutable warehouse file (chattr +i: what root cannot write either), as a read-only one would be."""
    layout = make_home(tmp_path / "home")
    files = land_batch(layout, ref, tmp_path / "batch")
    warehouse.connect(layout.warehouse).close()
    subprocess.run(["chattr", "+i", str(layout.warehouse)], check=True)
    try:
        with pytest.raises(warehouse.WarehouseUnwritable) as refused:
            warehouse.connect(layout.warehouse)
        assert str(refused.value) == (
            f"the warehouse {layout.warehouse} cannot be opened for writing (Operation not permitted): check that "
            "the file and its folder are writable by you (ls -l; lsattr shows an immutable file) and that the disk "
            "has room, then run the command again — nothing was loaded, and files wait in the inbox")
        warehouse.connect(layout.warehouse, read_only=True).close()  # readers still read it
    finally:
        subprocess.run(["chattr", "-i", str(layout.warehouse)], check=True)
    assert len(list(layout.inbox.iterdir())) == files
