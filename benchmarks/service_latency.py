"""Latency of the served pipeline (issues 4 and 15): from a file landing in the inbox to its submission being
loaded, and to its being visible to an analyst; a burst of files landing together; memory over many files.

    .venv/bin/python benchmarks/service_latency.py [--files 20] [--burst 20] [--memory-files 1000]
                                                   [--server auto|external|home] [--source DIR] [--keep]
    git archive HEAD | tar -x -C /tmp/before && .venv/bin/python benchmarks/service_latency.py --source /tmp/before

On a fresh home in a temporary folder, with every PREFECT_* and WARMLINE_* variable of the caller's
environment removed and PREFECT_HOME in that folder (the user's ~/.prefect is never touched), it starts
`warmline serve` on a Prefect server:

- `--server external`: a `prefect server start` of its own on a free port, passed as PREFECT_API_URL (the
  set-up the README describes);
- `--server home`: no PREFECT_API_URL, so `warmline serve` uses the home's own server (started in the
  background under <home>/data/prefect/, stopped at the end with `warmline server stop`);
- `--server auto` (default): home when this warmline has `warmline server` (`warmline server --help` exits
  0), else external.

Then, each phase waiting with a timeout and stopping with one error line when a file never shows up:

1. One file at a time (`--files`, default 20): a file lands (written beside the inbox as a dot-file, then
   renamed in, as a copy tool does), and the next lands `--gap` seconds after the previous is visible.
   landed -> loaded is processed_at - received_at of its row in raw.submissions (received_at is the file's
   mtime in the inbox; both are the warehouse's own times, so polling adds nothing to them); landed ->
   visible is when this script first sees the row in data/warehouse/analytics.duckdb, opened read-only and
   reconnected at every poll (every 0.1 s) as an analyst would, minus received_at.
2. A burst (`--burst`, default 20): that many files renamed into the inbox together; the time from the
   first landing to the last file loaded and to all visible, and a check that each file has exactly one
   row in raw.submissions (none missing, none twice).
3. Optionally (`--memory-files N`): N more files landed in batches of `--memory-batch` (50), each batch
   waited for until visible; after each batch the resident memory (RSS, psutil or /proc) of warmline's
   processes (serve, a writer, the reader workers, flow runs) and, apart, of the Prefect server; printed at
   100, 250, 500 and 1,000 files, with the growth per 100 files (least squares from 100 files on). Beside
   those samples, taken while the writer may be mid-task: the writer's own note of its memory at rest
   between two tasks (writer.log, every 100 files), and the size on disk of Prefect's database and of the
   warehouse, which the server's and the writer's working memory follow.

Only the analysts' copy is polled, never data/warehouse/warmline.duckdb: a reader there takes DuckDB's
lock and would delay the very writer being timed. The warehouse itself is read once at the end, after the
service has stopped, to count every file's rows. Every process started carries a marker in its
environment; at the end the script stops them (serve, then the server) and prints any still running.
Prints figures with the targets beside them; asserts nothing. Exit status 1 when a phase could not finish.

Targets (issue 15, 2-core machine): one file at a time, landed -> loaded median <= 1.0 s and p95 <= 2 s,
landed -> visible median <= 1.5 s; a burst of 20 all loaded within 5 s, each exactly once; RSS flat after
1,000 files (no growth per file beyond noise).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.core.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.core.reference import Reference, load_reference  # noqa: E402
from transforms.read.template import FilledRow, write_submission  # noqa: E402

BIN = Path(sys.executable).parent
MARKER = "WARMLINE_BENCHMARK_RUN"  # set in every child's environment: how leftovers are found at the end
SERVER_START_TIMEOUT = 180.0  # a first start on a fresh database runs Prefect's migrations: 10-25 s on 2 cores
SERVE_START_TIMEOUT = 300.0  # serve may start the home server first, then loads Great Expectations
STOP_TIMEOUT = 30.0
POLL_SECONDS = 0.1


class BenchmarkError(RuntimeError):
    """A phase could not finish (a file never showed up, a process died): printed as one line."""


# -- set-up shared with benchmarks/everyday_commands.py ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_environment(prefect_home: Path, marker: str, source: Path | None = None) -> dict[str, str]:
    """The caller's environment without PREFECT_* and WARMLINE_* (the default set-up, and no setting of the
    person running the benchmark leaks in), Prefect's home in the temporary folder, and the run's marker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WARMLINE_"))}
    env["PREFECT_HOME"] = str(prefect_home)
    env[MARKER] = marker
    if source is not None:  # warmline from another tree (e.g. an export of an earlier commit) comes first
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(source), env.get("PYTHONPATH", "")) if p)
    return env


def warmline_command(source: Path | None) -> list[str]:
    """How to run warmline: the installed command, or the CLI module of the tree given with --source (-P: the
    current folder must not come before that tree on sys.path; run warmline's commands outside the repository
    all the same, since the flow runs `warmline serve` starts import flows.* from theirs)."""
    return [str(BIN / "warmline")] if source is None else [sys.executable, "-P", "-m", "flows.cli"]


def has_home_server(warmline: list[str], env: dict[str, str], cwd: Path) -> bool:
    """Whether this warmline has its own home server (`warmline server`), the sign of issue 15's set-up."""
    try:
        return subprocess.run([*warmline, "server", "--help"], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_prefect_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str, float]:
    """`prefect server start` on a free port, as the README's service set-up has it; (process, API URL, seconds
    to healthy). Its own session, so that stopping it stops its whole process group."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_env = dict(env, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="WARNING",
                      PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100")
    started = time.monotonic()
    with open(log, "ab") as out:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=server_env, cwd=log.parent, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    deadline = started + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchmarkError(f"prefect server start exited with status {server.returncode}; see {log}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return server, api, time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_group(server, signal.SIGTERM)
    raise BenchmarkError(f"prefect server start did not answer within {SERVER_START_TIMEOUT:.0f} s; see {log}")


def stop_group(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
    """Signal a process started in its own session, and its group; SIGKILL the group if it outlives `timeout`."""
    if process is None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """Every process (but this one) whose environment carries the run's marker: (pid, command line)."""
    found = []
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append((int(entry.name), command))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def end_leftovers(marker: str, wait: float = 5.0) -> list[tuple[int, str]]:
    """The processes of this run still alive after it stopped what it started (waiting `wait` s for them to
    exit on their own); they are then ended, each by its id. Returns them, for the report."""
    deadline = time.monotonic() + wait
    left = marked_processes(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = marked_processes(marker)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, _ in marked_processes(marker):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)
    return left


def load_note() -> str:
    """The load average now; above 2 on this 2-core machine, other work shared the cores and wall times are high."""
    load = os.getloadavg()
    busy = " (above 2: other work shared the cores, and the wall times are high)" if load[0] > 2 else ""
    return " ".join(f"{x:.2f}" for x in load) + busy


def machine_facts(source: Path | None) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    memory = next((int(line.split()[1]) / 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0.0)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    changed = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "flows", "transforms"],
                             capture_output=True, text=True).stdout.strip()
    code = f"source tree {source}" if source else \
        f"{REPO} at {commit}" + (" with uncommitted changes in flows/ or transforms/" if changed else "")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return [f"machine: {platform.platform()}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
            f"{cpu}, {memory:.1f} GiB RAM",
            f"python {platform.python_version()}, prefect {installed('prefect')}, duckdb {installed('duckdb')}, "
            f"great-expectations {installed('great-expectations')}",
            f"warmline: {code}",
            f"load average at start: {load}"]


# -- files ------------------------------------------------------------------------------------------------------

class Submissions:
    """Valid workbooks, each for its own unit and day (unit after unit, then the next day), so that none
    supersedes or duplicates another and every file ends `loaded`."""

    def __init__(self, ref: Reference, folder: Path):
        self.ref, self.folder = ref, folder
        self.units = [u.name for u in ref.units]
        self.days = (ref.campaign.end_date - ref.campaign.start_date).days + 1
        self.made = 0

    def next(self, count: int) -> list[tuple[str, Path]]:
        files = []
        for _ in range(count):
            i = self.made
            self.made += 1
            unit = self.units[i % len(self.units)]
            day = self.ref.campaign.start_date + dt.timedelta(days=(i // len(self.units)) % self.days)
            name = f"{unit}_{day:%Y%m%d}_{i}.xlsx"
            # the figure grows with i, so each unit's cumulative figure rises day by day, as it should
            files.append((name, write_submission(self.folder / name, self.ref, unit, day,
                                                 [FilledRow("全县", {"走访慰问户数（户）": 100 + i})])))
        return files


def land(inbox: Path, files: list[tuple[str, Path]]) -> float:
    """Land files together: each written beside the inbox as a dot-file first, then all renamed in at once, as a
    copy tool does. Returns the wall time just before the first rename."""
    staged = []
    for name, source in files:
        part = inbox / f".{name}.part"
        part.write_bytes(source.read_bytes())
        staged.append((part, inbox / name))
    landed = time.time()
    for part, target in staged:
        part.rename(target)
    return landed


# -- what the analysts' copy shows -----------------------------------------------------------------------------

@dataclass
class Seen:
    """One file's rows as the analysts' copy shows them, and when this script first saw them."""

    rows: int
    status: str
    received: float  # epoch seconds: the file's mtime in the inbox
    processed: float  # epoch seconds: when the warehouse recorded it
    seen: float  # epoch seconds: when this script first found it in the analysts' copy

    @property
    def loaded_after(self) -> float:
        return self.processed - self.received

    @property
    def visible_after(self) -> float:
        return self.seen - self.received


def read_submissions(db: Path, read_only: bool = True) -> dict[str, tuple[int, str, float, float]]:
    """file name -> (rows, a status, first received_at, last processed_at); empty while there is no copy yet."""
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except (duckdb.Error, OSError):  # not published yet, or (the warehouse) still held by a writer
        return {}
    try:
        rows = con.execute("SELECT file_name, count(*), any_value(status), epoch(min(received_at)), "
                           "epoch(max(processed_at)) FROM raw.submissions GROUP BY file_name").fetchall()
        return {name: (n, status, received, processed) for name, n, status, received, processed in rows}
    except duckdb.Error:
        return {}
    finally:
        con.close()


class Watcher:
    """Polls the analysts' copy, read-only and reconnecting at every poll, and remembers when each file was first
    seen there."""

    def __init__(self, analytics: Path):
        self.analytics = analytics
        self.first_seen: dict[str, float] = {}

    def poll(self) -> dict[str, tuple[int, str, float, float]]:
        # the time the poll opens the copy: a row found there was published (renamed into place) before it
        now = time.time()
        rows = read_submissions(self.analytics)
        for name in rows:
            self.first_seen.setdefault(name, now)
        return rows

    def wait(self, names: list[str], timeout: float, explain) -> dict[str, Seen]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.poll()
            missing = [n for n in names if n not in rows]
            if not missing:
                return {n: Seen(rows[n][0], rows[n][1], rows[n][2], rows[n][3], self.first_seen[n]) for n in names}
            if time.monotonic() >= deadline:
                raise BenchmarkError(f"{len(missing)} of {len(names)} file(s) not visible in {self.analytics.name} "
                                     f"after {timeout:.0f} s (first: {missing[0]}); {explain(missing)}")
            time.sleep(POLL_SECONDS)


# -- the service ------------------------------------------------------------------------------------------------

class ServeOutput:
    """Reads what `warmline serve` prints, all the time (a full pipe would stop the service), into a log file;
    keeps the last lines for an error message and notes the lines this benchmark waits for."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.log = process, log
        self.last = collections.deque(maxlen=40)
        self.ready = threading.Event()
        self.started_server_line = ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.log, "a", encoding="utf-8") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                self.last.append(line.rstrip())
                if line.startswith("Started a Prefect server for this home"):
                    self.started_server_line = line.strip()
                if line.startswith("warmline serve: watching"):
                    self.ready.set()

    def tail(self, lines: int = 12) -> str:
        return "\n    ".join(list(self.last)[-lines:])


def is_prefect_server(command: list[str]) -> bool:
    return "server" in command and "start" in command and any("prefect" in part for part in command)


def _rss_bytes(pid: int) -> int:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return psutil.Process(pid).memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class MemorySample:
    files: int
    warmline_mib: float  # every warmline process of the run: serve, its writer and reader workers, flow runs
    serve_mib: float  # the `warmline serve` process alone
    writer_mib: float  # a separate `warmline writer` process, where there is one (issue 15); 0 where serve writes
    server_mib: float  # the Prefect server (the home's, or the external one) and its children
    processes: list[tuple[int, str, float]] = field(default_factory=list)


def sample_memory(files: int, marker: str, serve_pid: int) -> MemorySample:
    """Resident memory (RSS) of every process this run started, directly or not (they carry its marker: the
    home server and a writer detach from serve, so serve's process tree alone would miss or mix them), split into
    the Prefect server with its children and warmline's own processes."""
    marked = dict(marked_processes(marker))
    commands = {}
    for pid in marked:
        try:
            commands[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
    servers = {pid for pid, command in commands.items() if is_prefect_server(command)}

    def under_server(pid: int) -> bool:
        seen = set()
        while pid > 1 and pid not in seen:
            if pid in servers:
                return True
            seen.add(pid)
            pid = _parent(pid)
        return False

    mib = 2**20
    rss = {pid: _rss_bytes(pid) / mib for pid in commands}
    server = [pid for pid in commands if under_server(pid)]
    warmline = [pid for pid in commands if pid not in server]
    writers = [pid for pid in warmline if "writer" in commands[pid]]
    return MemorySample(files, sum(rss[p] for p in warmline), rss.get(serve_pid, 0.0),
                        sum(rss[p] for p in writers), sum(rss[p] for p in server),
                        [(pid, " ".join(commands[pid]).strip()[:90], rss[pid]) for pid in sorted(commands)])


def store_sizes(home: Path) -> tuple[float, float]:
    """MiB on disk of the home's Prefect database (with its write-ahead log) and of the warehouse."""
    def mib(*paths: Path) -> float:
        return sum(p.stat().st_size for p in paths if p.exists()) / 2**20

    prefect = home / "data" / "prefect"
    return (mib(prefect / "prefect.db", prefect / "prefect.db-wal"),
            mib(home / "data" / "warehouse" / "warmline.duckdb"))


AT_REST = re.compile(r"(\d+) files read; ([\d.]+) MiB resident at rest")


def writer_at_rest(log: Path) -> list[tuple[int, float]]:
    """The writer's own notes of its resident memory between two tasks (every 100 files, flows/ingest_submission),
    as (files read in all, MiB): its count starts again when it starts afresh, so the counts are added up."""
    notes, offset, last = [], 0, 0
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    for match in AT_REST.finditer(text):
        files, mib = int(match.group(1)), float(match.group(2))
        if files < last:  # started afresh
            offset += last
        last = files
        notes.append((offset + files, mib))
    return notes


def report_at_rest(notes: list[tuple[int, float]]) -> None:
    """The writer's memory at rest, judged as the sampled memory is (from its 200th file: the first hundreds fill
    its caches)."""
    if len(notes) < 3:
        print("writer at rest: too few notes in writer.log for a growth per file")
        return
    print("writer at rest (its own note between two tasks, every 100 files), files: MiB: "
          + ", ".join(f"{files}: {mib:.1f}" for files, mib in notes))
    settled = [(f, m) for f, m in notes if f >= 200] or notes
    xs, ys = [f / 100 for f, _ in settled], [m for _, m in settled]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0
    change = ys[-1] - ys[0]
    print(f"writer at rest: {slope:+.2f} MiB per 100 files from {settled[0][0]} files; {settled[0][0]} -> "
          f"{settled[-1][0]} files: {change:+.1f} MiB; lowest {min(ys):.1f}, highest {max(ys):.1f} MiB")


# -- figures ----------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between the two nearest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def describe(values: list[float]) -> str:
    return (f"n={len(values)} median {statistics.median(values):.2f} s, p95 {percentile(values, 95):.2f} s, "
            f"min {min(values):.2f} s, max {max(values):.2f} s")


def verdict(value: float, target: float) -> str:
    return f"target <= {target:g} s: {'met' if value <= target else 'NOT MET'}"


def slope_per_100(samples: list[MemorySample], attribute: str) -> tuple[float, float] | None:
    """Least-squares growth in MiB per 100 files over the samples, and the residuals' standard deviation (the
    noise the growth is to be judged against); None with fewer than three samples."""
    xs = [s.files / 100 for s in samples]
    ys = [getattr(s, attribute) for s in samples]
    if len(xs) < 3:
        return None
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    residuals = [y - (mean_y + slope * (x - mean_x)) for x, y in zip(xs, ys)]
    return slope, statistics.pstdev(residuals)


# -- the run ----------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20, help="files landed one at a time (default 20)")
    parser.add_argument("--burst", type=int, default=20, help="files landed together (default 20)")
    parser.add_argument("--gap", type=float, default=1.0,
                        help="seconds between a file becoming visible and the next landing (default 1.0)")
    parser.add_argument("--memory-files", type=int, default=0,
                        help="then land this many more files in batches, sampling the service's memory (e.g. 1000)")
    parser.add_argument("--memory-batch", type=int, default=50, help="files a batch in the memory phase (default 50)")
    parser.add_argument("--server", choices=("auto", "external", "home"), default="auto",
                        help="external: its own `prefect server start` and PREFECT_API_URL; home: the home's server, "
                             "no PREFECT_API_URL; auto (default): home when `warmline server --help` works")
    parser.add_argument("--source", type=Path,
                        help="run warmline from this source tree (e.g. `git archive` of an earlier commit) instead "
                             "of the installed one")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for a file (a batch, in the burst and memory phases) to be visible")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, home) afterwards")
    args = parser.parse_args()

    marker = uuid.uuid4().hex
    work = Path(tempfile.mkdtemp(prefix="warmline-latency-"))
    source = args.source.resolve() if args.source else None
    env = clean_environment(work / "prefect", marker, source)
    warmline = warmline_command(source)
    home = work / "home"
    home.mkdir()
    env["WARMLINE_HOME"] = str(home)
    mode = args.server
    if mode == "auto":
        mode = "home" if has_home_server(warmline, env, work) else "external"

    for line in machine_facts(source):
        print(line)
    print(f"server: {mode}" + (" (chosen by --server auto)" if args.server == "auto" else "")
          + f"; temporary folder {work}")
    sys.stdout.flush()

    server = service = None
    output = None
    landed_names: list[str] = []
    failed = None
    report: list[str] = []
    try:
        if mode == "external":
            server, api, server_start = start_prefect_server(env, work / "prefect-server.log")
            env["PREFECT_API_URL"] = api
            report.append(f"prefect server start to healthy: {server_start:.1f} s")
        init = subprocess.run([*warmline, "init"], env=env, cwd=home, capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            raise BenchmarkError(f"warmline init failed: {(init.stderr or init.stdout).strip()[-300:]}")

        started = time.monotonic()
        service = subprocess.Popen([*warmline, "serve"], env=env, cwd=home, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        output = ServeOutput(service, work / "serve.log")
        while not output.ready.wait(0.5):
            if service.poll() is not None:
                raise BenchmarkError(f"warmline serve exited with status {service.returncode} before watching:\n"
                                     f"    {output.tail()}")
            if time.monotonic() - started > SERVE_START_TIMEOUT:
                raise BenchmarkError(f"warmline serve was not watching after {SERVE_START_TIMEOUT:.0f} s:\n"
                                     f"    {output.tail()}")
        serve_start = time.monotonic() - started
        report.append(f"warmline serve start to watching: {serve_start:.1f} s"
                      + (" (it started the home's Prefect server first)" if output.started_server_line else ""))
        for line in report:
            print(line)
        sys.stdout.flush()

        ref = load_reference(SHIPPED_REFERENCE)
        submissions = Submissions(ref, work / "sources")
        inbox = home / "data" / "raw" / "inbox"
        watcher = Watcher(home / "data" / "warehouse" / "analytics.duckdb")

        def explain(missing: list[str]) -> str:
            if service.poll() is not None:
                return f"warmline serve exited with status {service.returncode}:\n    {output.tail()}"
            waiting = [n for n in missing if (inbox / n).exists()]
            return (f"{len(waiting)} of them still in the inbox; the service's last lines:\n    {output.tail()}"
                    f"\n    (its log: {home / 'data' / 'logs' / 'warmline.log'})")

        idle = sample_memory(0, marker, service.pid)

        # 1. one file at a time
        one = []
        for name, path in submissions.next(args.files):
            land(inbox, [(name, path)])
            landed_names.append(name)
            one.append(watcher.wait([name], args.timeout, explain)[name])
            time.sleep(args.gap)  # as a clerk sends them: the next file comes after the previous is done
        if one:
            loaded = [s.loaded_after for s in one]
            visible = [s.visible_after for s in one]
            print(f"\n## One file at a time ({len(one)} files, the next {args.gap:g} s after the previous is visible)")
            print(f"landed -> loaded:  {describe(loaded)}")
            print(f"  median {verdict(statistics.median(loaded), 1.0)}; p95 {verdict(percentile(loaded, 95), 2.0)}")
            print(f"landed -> visible in analytics.duckdb: {describe(visible)}")
            print(f"  median {verdict(statistics.median(visible), 1.5)}")
            print("per file (loaded / visible, s): " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(loaded, visible)))
            sys.stdout.flush()

        # 2. a burst
        if args.burst:
            burst = submissions.next(args.burst)
            names = [n for n, _ in burst]
            first_landed = land(inbox, burst)
            landed_names.extend(names)
            seen = watcher.wait(names, args.timeout, explain)
            time.sleep(3)  # a file recorded twice would show a second row a moment later: look again after a pause
            rows = {}
            for _ in range(20):  # a poll finds no copy only between publications' renames: try again
                rows = watcher.poll()
                if rows:
                    break
                time.sleep(POLL_SECONDS)
            all_loaded = max(s.processed for s in seen.values()) - first_landed
            all_visible = max(s.seen for s in seen.values()) - first_landed
            twice = sorted(n for n in names if rows.get(n, (0,))[0] > 1)
            statuses = collections.Counter(rows[n][1] for n in names if n in rows)
            print(f"\n## A burst of {len(names)} files landing together")
            print(f"first landed -> all loaded: {all_loaded:.2f} s ({verdict(all_loaded, 5.0)}); "
                  f"-> all visible: {all_visible:.2f} s")
            print(f"each file landed -> loaded: {describe([s.loaded_after for s in seen.values()])}")
            print(f"each exactly once: {'yes' if not twice else 'NO'} ({len(names) - len(twice)} of {len(names)} with "
                  f"one row, 0 missing, {len(twice)} twice{': ' + ', '.join(twice) if twice else ''}); outcomes: "
                  + ", ".join(f"{n} {s}" for s, n in statuses.most_common()))
            sys.stdout.flush()

        # 3. memory over many files
        if args.memory_files:
            samples = [sample_memory(0, marker, service.pid)]
            sizes_before = store_sizes(home)
            print(f"\n## Memory over {args.memory_files} more files, landed {args.memory_batch} at a time")
            print(f"before: warmline {samples[0].warmline_mib:.0f} MiB (serve {samples[0].serve_mib:.0f}, writer "
                  f"{samples[0].writer_mib:.0f}), Prefect server {samples[0].server_mib:.0f} MiB; at the service's "
                  f"start, before any file: warmline {idle.warmline_mib:.0f} MiB, Prefect server "
                  f"{idle.server_mib:.0f} MiB")
            sys.stdout.flush()
            done, phase_started = 0, time.monotonic()
            while done < args.memory_files:
                batch = submissions.next(min(args.memory_batch, args.memory_files - done))
                land(inbox, batch)
                landed_names.extend(n for n, _ in batch)
                watcher.wait([n for n, _ in batch], max(args.timeout, 10.0 * len(batch)), explain)
                done += len(batch)
                samples.append(sample_memory(done, marker, service.pid))
            phase = time.monotonic() - phase_started
            sizes_after = store_sizes(home)
            marks = [s for s in samples if s.files in (100, 250, 500, 1000) or s is samples[-1]]
            print(f"{done} files in {phase:.0f} s ({done / phase:.1f} files/s, writing the workbooks included)")
            print("RSS MiB after  files | warmline, all processes | serve | writer | Prefect server")
            for s in marks:
                print(f"{s.files:20d} | {s.warmline_mib:23.0f} | {s.serve_mib:5.0f} | {s.writer_mib:6.0f} | "
                      f"{s.server_mib:14.0f}")
            print("every sample, files: warmline / writer / Prefect server MiB: " + ", ".join(
                f"{s.files}: {s.warmline_mib:.0f}/{s.writer_mib:.0f}/{s.server_mib:.0f}" for s in samples))
            after_warmup = [s for s in samples if s.files >= 100]
            for label, attribute in (("warmline, all processes", "warmline_mib"), ("serve", "serve_mib"),
                                     ("writer", "writer_mib"), ("Prefect server", "server_mib")):
                fit = slope_per_100(after_warmup, attribute)
                if fit is None:
                    print(f"{label}: too few samples from 100 files on for a growth per file")
                    continue
                slope, noise = fit
                first, last = after_warmup[0], after_warmup[-1]
                change = getattr(last, attribute) - getattr(first, attribute)
                flat = abs(change) <= max(10.0, 3 * noise)
                print(f"{label}: {slope:+.1f} MiB per 100 files (least squares over {len(after_warmup)} samples from "
                      f"{first.files} files; noise ±{noise:.1f} MiB); {first.files} -> {last.files} files: "
                      f"{change:+.0f} MiB" + ("" if attribute == "server_mib" else
                                              f" (target flat: {'met' if flat else 'NOT MET'}, read as a change "
                                              f"within max(10 MiB, 3 x noise))"))
            at_rest = writer_at_rest(home / "data" / "prefect" / "writer.log")
            report_at_rest(at_rest)
            print(f"stores after the memory phase: Prefect's database {sizes_after[0]:.1f} MiB (before: "
                  f"{sizes_before[0]:.1f}), the warehouse {sizes_after[1]:.1f} MiB (before: {sizes_before[1]:.1f}); "
                  "the Prefect server caches up to 20,000 pages of its SQLite database per connection "
                  "(prefect/server/database/configurations.py), so its memory follows its database's size")
            print("processes at the end: " + "; ".join(f"{pid} {mib:.0f} MiB {command}"
                                                       for pid, command, mib in samples[-1].processes))
    except BenchmarkError as exc:
        failed = str(exc)
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        # serve first (Ctrl+C, as an operator stops it), then the server it used
        stop_group(service, signal.SIGINT)
        if output is not None:
            output.thread.join(timeout=5)
        if mode == "home":
            stopped = subprocess.run([*warmline, "server", "stop"], env=env, cwd=home, capture_output=True,
                                     text=True, timeout=120)
            print(f"\nwarmline server stop: {(stopped.stdout or stopped.stderr).strip()}")
        stop_group(server, signal.SIGTERM)
        left = end_leftovers(marker)
        print("processes left running: " + ("none" if not left else
                                            "; ".join(f"{pid} {command[:100]}" for pid, command in left)
                                            + " (now ended)"))

    if landed_names:
        # the warehouse itself, now that no writer holds it: every landed file exactly once
        final = read_submissions(home / "data" / "warehouse" / "warmline.duckdb", read_only=True)
        missing = [n for n in landed_names if n not in final]
        twice = [n for n in landed_names if final.get(n, (0,))[0] > 1]
        once = len(landed_names) - len(missing) - len(twice)
        print(f"warehouse after stopping: {len(landed_names)} files landed, {once} with exactly one row, "
              f"{len(missing)} missing, {len(twice)} twice"
              + (f" (missing: {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''})" if missing else "")
              + (f" (twice: {', '.join(twice[:5])})" if twice else ""))
    print(f"load average at the end: {load_note()}")
    if failed:
        print(f"error: {failed}", file=sys.stderr)
        print(f"kept {work} for its logs (serve.log, home/data/logs/warmline.log)", file=sys.stderr)
        return 1
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
