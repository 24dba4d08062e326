"""The home's own Prefect server and its writer: started in the background by the first command that needs
Prefect, reused by the next ones, stopped with `warmline server stop`.

Without PREFECT_API_URL, Prefect starts a temporary server inside every process that touches its API, and that
costs 12–25 s on a small machine for commands whose work takes well under a second. One server per home, left
running and announced, costs that start once. Nothing here imports Prefect: a command that finds the server
running pays only for a file read and one HTTP request.

The writer (`warmline writer`) is the home's single warm ingesting process: a Prefect task worker that keeps
validation loaded (Great Expectations takes seconds to import) and runs every ingest handed to it as a background
task. Whoever runs the writer holds data/prefect/writer.lock; commands that find it held hand their files to it
instead of writing themselves, so the warehouse keeps one writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NoReturn

from transforms.core.layout import Layout
from transforms.core.memory import SERVICE_ARENAS

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
LOG_FILE = "prefect-server.log"
WRITER_LOCK = "writer.lock"
WRITER_API = "writer-api.txt"
WRITER_LOG = "writer.log"
WRITER_LOCK_FD = "WARMLINE_WRITER_LOCK_FD"  # the lock's descriptor, kept open when the writer starts afresh
WRITER_READY = "writer-ready.txt"  # the writer's process id, written once it has warmed up and takes tasks
WRITER_START_TIMEOUT = 60  # seconds a command waits for the writer it started to warm up: a few on idle cores
# A first start on a fresh home runs the database migrations, which take a while on a small machine and a slow disk.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


class ServerFailed(RuntimeError):
    """The home's Prefect server could not be started; the message says where its log is."""


@dataclass(frozen=True)
class HomeServer:
    """A running server of one home: where it listens and which process it is."""

    pid: int
    port: int
    started_at: float
    writer_pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def running(layout: Layout) -> HomeServer | None:
    """The home's server if its process is alive and answers its health check; None otherwise."""
    server = _recorded(layout)
    if server is None or not _alive(server.pid):
        return None
    return server if _healthy(server.api_url, timeout=2.0) else None


def ensure(layout: Layout, say: Callable[[str], None]) -> HomeServer:
    """The home's running server, started in the background first if there is none (`say` announces that once).

    Two commands started together start one server: the second waits on the lock, then finds the first's."""
    layout.prefect.mkdir(parents=True, exist_ok=True)
    server = running(layout)
    if server and writer_running(layout):
        return server
    with _locked(layout):
        server = running(layout)
        if server:
            return _with_writer(layout, server)
        server = _with_writer(layout, _start(layout))
    say(f"Started a Prefect server for this home at {server.url} (process {server.pid}; its database and log in "
        f"{layout.prefect}), and its writer (process {server.writer_pid}). They keep running for the next warmline "
        "commands; `warmline server stop` stops them.")
    return server


def stop(layout: Layout) -> HomeServer | None:
    """Stop the home's server (its whole process group) and forget it; the server that was stopped, if any."""
    server = _recorded(layout)
    if server is None:
        return None
    with _locked(layout):
        if server.writer_pid and writer_running(layout):
            _end(server.writer_pid)
        if _alive(server.pid) and _is_server_process(server):
            _end(server.pid)
        (layout.prefect / STATE_FILE).unlink(missing_ok=True)
    return server


def _end(pid: int) -> None:
    """SIGTERM to a process group, SIGKILL if it is still there after STOP_TIMEOUT."""
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)


def writer_running(layout: Layout) -> bool:
    """Whether a writer (the home's, or the one inside `warmline serve`) holds this home's writer lock."""
    lock_file = layout.prefect / WRITER_LOCK
    if not lock_file.exists():
        return False
    with open(lock_file, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def hold_writer_lock(layout: Layout, api_url: str):
    """Take the home's writer lock for the life of this process, noting the Prefect API the writer listens on:
    the open lock file, or None if another writer holds it. The lock goes with the process, however it ends."""
    layout.prefect.mkdir(parents=True, exist_ok=True)
    inherited = os.environ.pop(WRITER_LOCK_FD, None)
    if inherited:  # this writer started afresh in the same process (restart_writer): the lock never let go
        lock = os.fdopen(int(inherited), "a")
        os.set_inheritable(lock.fileno(), False)  # restart_writer removed the ready file: warm again first
        return lock
    lock = open(layout.prefect / WRITER_LOCK, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    (layout.prefect / WRITER_API).write_text(api_url)
    (layout.prefect / WRITER_READY).unlink(missing_ok=True)  # an earlier writer's: this one is not warm yet
    return lock


def restart_writer(layout: Layout, lock) -> NoReturn:
    """Start this writer's program afresh in the same process (same process id, so the server's record and
    `warmline server stop` still find it), handing the open writer lock on, so that no other command takes the
    warehouse in between and no second writer starts."""
    (layout.prefect / WRITER_READY).unlink(missing_ok=True)  # not ready from now until the new program is warm
    os.set_inheritable(lock.fileno(), True)
    os.environ[WRITER_LOCK_FD] = str(lock.fileno())
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def mark_writer_ready(layout: Layout) -> None:
    """Say that this process, holding the writer lock, has warmed up and takes tasks from now on."""
    (layout.prefect / WRITER_READY).write_text(str(os.getpid()))


def writer_ready(layout: Layout, pid: int) -> bool:
    try:
        return (layout.prefect / WRITER_READY).read_text().strip() == str(pid)
    except OSError:
        return False


def writer_for(layout: Layout, api_url: str) -> bool:
    """Whether a writer runs for this home and takes its tasks from `api_url`: then a command hands its files to
    it (a writer on another server would never see them, and the command writes itself)."""
    if not writer_running(layout):
        return False
    try:
        return (layout.prefect / WRITER_API).read_text().strip() == api_url
    except OSError:
        return False


def _with_writer(layout: Layout, server: HomeServer) -> HomeServer:
    """The server with its writer, started in the background if no writer holds the home's lock."""
    if writer_running(layout):
        return server
    warmline = Path(sys.executable).with_name("warmline")
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "WARMLINE_HOME": str(layout.home)}
    with open(layout.prefect / WRITER_LOG, "ab") as out:
        process = subprocess.Popen([str(warmline), "writer"], stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, env=env, cwd=layout.home, start_new_session=True)
    # The writer takes its lock first thing, then warms up (validation loaded and run once): wait for both, so
    # that this command hands its work over and a service started now reports itself watching only when a
    # landed file is taken at once. Work handed over earlier would wait in the server's queue all the same.
    deadline = time.monotonic() + WRITER_START_TIMEOUT
    while not writer_ready(layout, process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    server = HomeServer(server.pid, server.port, server.started_at, process.pid)
    _record(layout, server)
    return server


def server_environment(layout: Layout) -> dict[str, str]:
    """The server's own settings: its database under the home, quiet logs, no analytics, loopback only."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({
        "PREFECT_HOME": str(layout.prefect),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": env.get("PREFECT_SERVER_LOGGING_LEVEL", "WARNING"),
        # Batching task-run records keeps SQLite's write lock short after a burst of tasks.
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    })
    # The server opens its database from threads that come and go; with an arena of glibc's malloc for each, it
    # grew with every file served. Two arenas slow that (benchmarks/RESULTS.md).
    env.setdefault("MALLOC_ARENA_MAX", str(SERVICE_ARENAS))
    return env


def _start(layout: Layout) -> HomeServer:
    port = _free_port()
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-background"]
    log = layout.prefect / LOG_FILE
    with open(log, "ab") as out:
        # its own session: the server outlives the command that started it, and Ctrl+C there does not reach it
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=server_environment(layout), cwd=layout.prefect, start_new_session=True)
    server = HomeServer(process.pid, port, time.time())
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"the Prefect server for this home stopped while starting (exit {process.returncode});"
                               f" see {log}")
        if _healthy(server.api_url, timeout=1.0):
            _record(layout, server)
            return server
        time.sleep(0.25)
    _signal_group(process.pid, signal.SIGKILL)
    raise ServerFailed(f"the Prefect server for this home did not answer within {START_TIMEOUT:.0f} s; see {log}")


def _recorded(layout: Layout) -> HomeServer | None:
    try:
        state = json.loads((layout.prefect / STATE_FILE).read_text())
        writer = state.get("writer_pid")
        return HomeServer(int(state["pid"]), int(state["port"]), float(state["started_at"]),
                          int(writer) if writer else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _record(layout: Layout, server: HomeServer) -> None:
    target = layout.prefect / STATE_FILE
    scratch = target.with_suffix(".tmp")
    scratch.write_text(json.dumps({"pid": server.pid, "port": server.port, "started_at": server.started_at,
                                   "writer_pid": server.writer_pid}))
    os.replace(scratch, target)


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    with open(layout.prefect / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _healthy(api_url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of this very process counts as gone
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _is_server_process(server: HomeServer) -> bool:
    """Whether the recorded process is still the server that was started (after a reboot the number may be
    another program's, which must not be stopped)."""
    try:
        command = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _healthy(server.api_url, timeout=1.0)
    return b"server" in command and str(server.port).encode() in command


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
