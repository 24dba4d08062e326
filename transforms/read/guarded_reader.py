"""Read and parse received files in a separate process with memory and time limits.

A crafted workbook can make the spreadsheet reader (calamine, in Rust) abort the whole interpreter, which no
try/except catches (a Rust panic, or a C library running out of memory). Here that ends only the worker: the
file is refused with the reason, a fresh worker takes the next file, and the run goes on.

Each worker is a long-lived `python -m transforms.read.guarded_reader` process (a fraction of a second to start,
then a millisecond or two per file), talking over two pipes. It runs the precheck (transforms/read/precheck.py) before
the reader, so that neither costs the parent anything, and a batch is spread over several workers (by default
two, for the two cores of the machine), each given one file at a time so that its death is always that file's.
A worker is started with subprocess rather than through multiprocessing so that it imports nothing of the
parent (multiprocessing re-imports the parent's main module: the warmline script, or Prefect's engine) and so
that its exit status and peak memory can be collected when it dies; a file that overruns the time limit gets
its worker killed, which concurrent.futures cannot do to a running task on Python 3.11.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import typing
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

from transforms.core.problems import Problem, ProblemFound, problem
from transforms.core.reference import Reference
from transforms.read.parser import ParsedSubmission, SubmissionParser
from transforms.read.precheck import precheck
from transforms.read.workbook import read_sheets

MEMORY_LIMIT = 2 * 2**30  # address space of the worker (RLIMIT_AS); a real submission needs < 200 MB
TIME_LIMIT = 60.0  # seconds of wall time for one file; a real submission takes well under one
STARTUP_SECONDS = 60.0
# A worker that grew past this while reading keeps the memory (the allocator does not give it back): replace it.
RECYCLE_ABOVE = 256 * 2**20


@dataclass(frozen=True)
class ReadLimits:
    """What reading one file may take: the worker's address space in bytes, and wall time in seconds."""

    memory_bytes: int = MEMORY_LIMIT
    seconds: float = TIME_LIMIT


@dataclass
class ReadResult:
    """Reading one file: the parsed submission or the problem that stopped it, and what it cost."""

    parsed: ParsedSubmission | None
    problem: Problem | None  # the first of `problems`
    seconds: float
    peak_bytes: int | None  # the worker's peak resident memory while it read this file, when known
    # Every reason the file was refused: all the precheck found, or the one problem that stopped the reader.
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.problem is not None and not self.problems:
            self.problems = [self.problem]


def out_of_memory(limits: ReadLimits, detail: str) -> Problem:
    """The reader needed more memory than it may have; `detail` is how that showed (MemoryError, Rust's abort)."""
    return problem("read-out-of-memory", gib=limits.memory_bytes / 2**30, detail_en=detail)


def timed_out(limits: ReadLimits) -> Problem:
    """The reader did not finish in time."""
    return problem("read-timeout", seconds=limits.seconds)


def crashed(how: str) -> Problem:
    """The reader process died some other way."""
    # how it died (a signal, an exit status, what the reader said) helps the statistician, not the clerk
    return problem("read-crashed", how_en=how)


class SafeReader:
    """Reads and parses files in up to `workers` limited worker processes, one file each, replaced whenever one dies.

    `precheck=False` sends files straight to the reader (to test the reader's own limits with files the precheck
    would refuse).
    """

    def __init__(self, ref: Reference, limits: ReadLimits | None = None, precheck: bool = True,
                 workers: int | None = None):
        self.ref = ref
        self.limits = limits or ReadLimits()
        self.precheck = precheck
        self.workers = max(1, workers or min(2, os.cpu_count() or 1))  # more workers than cores only wait their turn
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []  # started, and not reading anything: no answer of theirs is pending
        self.workers_started = 0

    def read(self, content: bytes, file_name: str) -> ReadResult:
        """Read and parse one file's bytes; never raises for what is in the file."""
        return self.read_many([(content, file_name)])[0]

    def read_many(self, items: list[tuple[bytes, str]]) -> list[ReadResult]:
        """Read and parse each (bytes, file name), several at a time: the results in the order of `items`, each
        what read() would give for that file alone. A file that times out or kills its worker costs only that
        worker; the next file goes to a new one."""
        with self._lock:
            results: list[ReadResult | None] = [None] * len(items)
            waiting = list(reversed(range(len(items))))  # popped from the end: first item first
            busy: dict[Connection, _InFlight] = {}
            try:
                # All at once before any file's clock runs: a start would otherwise count against another file's time limit.
                self._start(min(self.workers, len(items)) - len(self._idle))
                while waiting or busy:
                    while waiting and len(busy) < self.workers:
                        index = waiting.pop()
                        content, file_name = items[index]
                        worker = self._send(("read", file_name, content))
                        busy[worker.conn._in] = _InFlight(index, worker, time.monotonic())
                    nearest = min(job.started for job in busy.values()) + self.limits.seconds
                    answered = set(wait(list(busy), timeout=max(0.0, nearest - time.monotonic())))
                    now = time.monotonic()
                    for conn, job in list(busy.items()):
                        if conn in answered or now - job.started >= self.limits.seconds:
                            del busy[conn]
                            results[job.index] = self._result(job, overdue=conn not in answered)
            finally:  # only when this process fails (KeyboardInterrupt, a worker that cannot start): answers lost
                for job in busy.values():
                    job.worker.stop(kill=True, timeout=1)
            return results

    def close(self) -> None:
        """Stop the workers; a later read starts new ones."""
        with self._lock:
            workers, self._idle = self._idle, []
            for worker in workers:
                try:
                    worker.conn.send(("stop",))
                except OSError:
                    pass
            for worker in workers:
                worker.stop(kill=False, timeout=5)

    def __enter__(self) -> "SafeReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            for worker in self._idle:
                worker.stop(kill=True, timeout=1)
        except Exception:  # at interpreter exit; the workers end by themselves when their input closes
            pass

    def _start(self, count: int) -> None:
        """Start `count` more idle workers side by side: each spends its start importing, on its own core."""
        launched = [_Worker.launch(self.ref, self.limits, self.precheck) for _ in range(count)]
        try:
            for worker in launched:
                worker.wait_ready()
                self.workers_started += 1
        except BaseException:
            for worker in launched:
                worker.stop(kill=True, timeout=1)
            raise
        self._idle += launched

    def _send(self, message: tuple) -> "_Worker":
        """Give an idle worker the message, or a new worker when none is idle; one that died while idle is replaced."""
        while True:
            fresh = not self._idle
            if fresh:
                self._start(1)
            worker = self._idle.pop()
            try:
                worker.conn.send(message)
                return worker
            except OSError:
                worker.stop(kill=False, timeout=10)
                if fresh:
                    raise RuntimeError("the reader process died before it could be given a file") from None

    def _result(self, job: "_InFlight", overdue: bool) -> ReadResult:
        """What reading the job's file came to, from the worker's answer or from how it ended; the worker goes back
        to the idle ones only when it is fit to read the next file."""
        worker, started = job.worker, job.started
        if overdue:
            _, peak, _ = worker.stop(kill=True, timeout=10)
            return ReadResult(None, timed_out(self.limits), time.monotonic() - started, peak)
        try:
            kind, payload, seconds, peak = worker.conn.recv()
        except (EOFError, OSError):
            status, peak, said = worker.stop(kill=False, timeout=10)
            return ReadResult(None, self._death(status, said), time.monotonic() - started, peak)
        # A worker that ran out of memory may be left in a bad state, and it ends itself after answering.
        if peak > RECYCLE_ABOVE or kind == "memory":
            worker.stop(kill=False, timeout=10)
        else:
            self._idle.append(worker)
        if kind == "parsed":
            return ReadResult(payload, None, seconds, peak)
        if kind == "refused":
            return ReadResult(None, payload[0], seconds, peak, payload)
        if kind == "memory":
            return ReadResult(None, out_of_memory(self.limits, "MemoryError"), seconds, peak)
        if kind == "unreadable":
            return ReadResult(None, payload, seconds, peak)
        # the error's text may name the reader's own files and code: it goes in the English only
        return ReadResult(None, problem("read-failed", detail_en=payload), seconds, peak)

    def _death(self, status: int | None, said: str) -> Problem:
        if "memory allocation" in said or "MemoryError" in said or "out of memory" in said.lower():
            return out_of_memory(self.limits, said)
        if status is not None and status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            return crashed(f"{name}: {said}" if said else name)
        return crashed(f"exit status {status}: {said}" if said else f"exit status {status}")


@dataclass
class _InFlight:
    """A file given to a worker whose answer has not been read yet."""

    index: int  # in read_many's items
    worker: "_Worker"
    started: float  # time.monotonic() when the worker was given the file


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: "_Duplex"
    # What the worker writes to stderr: a file with no name (unlinked from the start), so that nothing is left
    # behind however this process ends; read once the worker has died.
    said: "typing.BinaryIO"

    @classmethod
    def launch(cls, ref: Reference, limits: ReadLimits, precheck: bool) -> "_Worker":
        """Start the process and send it what it needs; wait_ready() then waits for it."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        said = tempfile.TemporaryFile()
        fd = said.fileno()
        env = {**os.environ, "RUST_BACKTRACE": "0", "PYTHONPATH": _pythonpath()}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "transforms.read.guarded_reader", str(to_child_r), str(from_child_w),
                 str(limits.memory_bytes)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, env=env,
                close_fds=True)
        except BaseException:
            said.close()
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        worker = cls(process, _Duplex(from_child_r, to_child_w), said)
        try:
            worker.conn.send(("init", ref, precheck))
        except OSError:
            pass  # it died at once: wait_ready() says so
        return worker

    def wait_ready(self) -> None:
        """Return once the worker can take files. One that cannot start is the machine's problem, not a file's:
        it fails the run (RuntimeError) and refuses nothing."""
        try:
            if self.conn.poll(STARTUP_SECONDS) and self.conn.recv() == "ready":
                return
        except (EOFError, OSError):
            pass
        _, _, said = self.stop(kill=True, timeout=1)
        raise RuntimeError(f"the reader process did not start: {said or 'no message'}")

    def stop(self, kill: bool, timeout: float) -> tuple[int | None, int | None, str]:
        if kill:
            self.process.kill()
        self.conn.close()  # the worker reads the end of its input and exits
        deadline = time.monotonic() + timeout
        try:
            while True:  # wait4 rather than Popen.wait: it also gives the worker's peak memory
                pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    self.process.kill()
                    pid, status, usage = os.wait4(self.process.pid, 0)
                    break
                time.sleep(0.005)
            code, peak = os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024
        except ChildProcessError:  # already reaped
            code, peak = self.process.returncode, None
        self.process.returncode = code
        said = ""
        if not self.said.closed:  # stopped once already: what it said was read then
            self.said.seek(0)
            said = _first_line(self.said.read().decode("utf-8", errors="replace"))
            self.said.close()
        return code, peak, said


class _Duplex:
    """A Connection made of two one-way pipes (what multiprocessing.Pipe gives, without multiprocessing)."""

    def __init__(self, read_fd: int, write_fd: int):
        self._in = Connection(read_fd, writable=False)
        self._out = Connection(write_fd, readable=False)

    def send(self, obj) -> None:
        self._out.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def recv(self):
        return pickle.loads(self._in.recv_bytes())

    def poll(self, timeout: float) -> bool:
        return self._in.poll(timeout)

    def close(self) -> None:
        for conn in (self._in, self._out):
            try:
                conn.close()
            except OSError:
                pass


def _pythonpath() -> str:
    """The worker imports transforms from where this process did, installed or not."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)


def _first_line(text: str) -> str:
    """What the dying worker said that matters: Rust's abort or panic message, or Python's last word."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for n, line in enumerate(lines):
        if line.startswith("memory allocation of"):
            return line[:200]
        if " panicked at " in line and n + 1 < len(lines):
            return f"panic: {lines[n + 1]}"[:200]
    if lines and lines[0].startswith("Traceback"):
        return lines[-1][:200]
    return next((line for line in lines if not line.startswith(("stack backtrace", "note:")) and
                 not line[0].isdigit()), "")[:200]


# ------------------------------------------------------------------------------------------------
# The worker process
# ------------------------------------------------------------------------------------------------
def _peak_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # Linux: resets VmHWM, the peak resident size
            fh.write("5")
    except OSError:
        pass


def _peak_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _limit(memory_bytes: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not write a core file the size of the heap


def _serve(conn: _Duplex, memory_bytes: int) -> None:
    _, ref, checking = conn.recv()
    parser = SubmissionParser(ref)
    _limit(memory_bytes)
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message[0] != "read":
            return
        _, file_name, content = message
        os.ftruncate(2, 0)
        os.lseek(2, 0, os.SEEK_SET)
        _peak_reset()
        started = time.perf_counter()
        try:
            problems = precheck(content, file_name) if checking else []
            if problems:  # the reader never sees a file the precheck refuses: it could abort this process
                reply = ("refused", problems)
            else:
                sheets = read_sheets(content, file_name)
                del content
                reply = ("parsed", parser.parse(sheets, file_name))
                del sheets
        except ProblemFound as exc:
            reply = ("unreadable", exc.problem)
        except MemoryError:
            reply = ("memory", None)
        except RecursionError as exc:
            reply = ("failed", f"RecursionError: {exc}")
        except Exception as exc:  # a parser bug must not stop the run; the file is refused with the reason
            reply = ("failed", f"{type(exc).__name__}: {exc}")
        conn.send((*reply, time.perf_counter() - started, _peak_bytes()))
        if reply[0] == "memory":
            return


if __name__ == "__main__":
    read_fd, write_fd, memory = (int(a) for a in sys.argv[1:4])
    _serve(_Duplex(read_fd, write_fd), memory)
