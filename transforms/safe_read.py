"""Read and parse received files in a separate process with memory and time limits.

A crafted workbook can make the spreadsheet reader (calamine, in Rust) abort the whole interpreter, which no
try/except catches (shared/notes/tech-notes.md, section 7). Here that ends only the worker: the file is
refused with the reason, a fresh worker takes the next file, and the run goes on.

The worker is one long-lived `python -m transforms.safe_read` process (about 0.16 s to start, then a
millisecond or two per file), talking over two pipes. It is started with subprocess rather than through
multiprocessing so that it imports nothing of the parent (multiprocessing re-imports the parent's main
module: the warmline script, or Prefect's engine) and so that its exit status and peak memory can be
collected when it dies; a file that overruns the time limit gets the worker killed, which
concurrent.futures cannot do to a running task on Python 3.11.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from transforms.reference import Reference
from transforms.submission import ERROR, Issue, ParsedSubmission, SubmissionParser
from transforms.workbook import UnreadableFile, read_sheets

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
    problem: Issue | None
    seconds: float
    peak_bytes: int | None  # the worker's peak resident memory while it read this file, when known


def _unsafe_read(rule: str, why_zh: str, why_en: str) -> Issue:
    return Issue(rule, ERROR,
                 f"文件无法安全读取：{why_zh}。文件可能已损坏，或含有异常的超大区域；请在 Excel 中打开，删除多余的行和列，"
                 "另存为新文件后再提交",
                 f"the file could not be read safely: {why_en} — it may be damaged or declare a huge area; open it in "
                 "Excel, delete unused rows and columns, save it as a new file and send that")


def out_of_memory(limits: ReadLimits, detail: str = "") -> Issue:
    """The reader needed more memory than it may have."""
    gib = limits.memory_bytes / 2**30
    extra = f" ({detail})" if detail else ""
    return _unsafe_read("read-out-of-memory", f"读取时所需内存超过上限（{gib:g} GB）",
                        f"the reader ran out of memory (limit {gib:g} GiB){extra}")


def timed_out(limits: ReadLimits) -> Issue:
    """The reader did not finish in time."""
    return _unsafe_read("read-timeout", f"读取超过 {limits.seconds:g} 秒仍未完成",
                        f"the reader ran out of time (limit {limits.seconds:g} s)")


def crashed(how: str) -> Issue:
    """The reader process died some other way."""
    return _unsafe_read("read-crashed", f"读取程序异常终止（{how}）", f"the reader stopped ({how})")


class SafeReader:
    """Reads and parses files one at a time in a limited worker process, replaced whenever it dies."""

    def __init__(self, ref: Reference, limits: ReadLimits | None = None):
        self.ref = ref
        self.limits = limits or ReadLimits()
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self.workers_started = 0

    def read(self, content: bytes, file_name: str) -> ReadResult:
        """Read and parse one file's bytes; never raises for what is in the file."""
        with self._lock:
            started = time.monotonic()
            worker = self._send(("read", file_name, content))
            if not worker.conn.poll(self.limits.seconds):
                _, peak, _ = self._stop(kill=True)
                return ReadResult(None, timed_out(self.limits), time.monotonic() - started, peak)
            try:
                kind, payload, seconds, peak = worker.conn.recv()
            except (EOFError, OSError):
                status, peak, said = self._stop()
                return ReadResult(None, self._death(status, said), time.monotonic() - started, peak)
            if peak > RECYCLE_ABOVE:
                self._stop()
            if kind == "parsed":
                return ReadResult(payload, None, seconds, peak)
            if kind == "memory":
                self._stop()  # a worker that ran out of memory may be left in a bad state: a fresh one next time
                return ReadResult(None, out_of_memory(self.limits, "MemoryError"), seconds, peak)
            if kind == "unreadable":
                rule, zh, en = payload
                return ReadResult(None, Issue(rule, ERROR, zh, en), seconds, peak)
            return ReadResult(None, Issue("read-failed", ERROR, f"读取文件时出错（{payload}），请在 Excel 中重新保存后再提交",
                                          f"reading the file failed ({payload}) — re-save it in Excel and send it "
                                          "again"), seconds, peak)

    def close(self) -> None:
        """Stop the worker; a later read starts a new one."""
        with self._lock:
            if self._worker:
                try:
                    self._worker.conn.send(("stop",))
                except OSError:
                    pass
                self._stop(timeout=5)

    def __enter__(self) -> "SafeReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._worker:
                self._stop(kill=True, timeout=1)
        except Exception:  # at interpreter exit; the worker ends by itself when its input closes
            pass

    def _send(self, message: tuple) -> "_Worker":
        for _ in range(2):  # a worker that died while idle is replaced once
            if self._worker is None:
                self._worker = _Worker.start(self.ref, self.limits)
                self.workers_started += 1
            try:
                self._worker.conn.send(message)
                return self._worker
            except OSError:
                self._stop()
        raise RuntimeError("the reader process died twice before it could be given a file")

    def _stop(self, kill: bool = False, timeout: float = 10.0) -> tuple[int | None, int | None, str]:
        """End the worker: (exit status, peak memory in bytes, the first line it wrote to stderr)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return None, None, ""
        return worker.stop(kill, timeout)

    def _death(self, status: int | None, said: str) -> Issue:
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
class _Worker:
    process: subprocess.Popen
    conn: "_Duplex"
    stderr_path: Path

    @classmethod
    def start(cls, ref: Reference, limits: ReadLimits) -> "_Worker":
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        fd, stderr_path = tempfile.mkstemp(prefix="warmline-read-", suffix=".log")
        env = {**os.environ, "RUST_BACKTRACE": "0", "PYTHONPATH": _pythonpath()}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "transforms.safe_read", str(to_child_r), str(from_child_w),
                 str(limits.memory_bytes)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, env=env,
                close_fds=True)
        finally:
            os.close(fd)
            os.close(to_child_r)
            os.close(from_child_w)
        worker = cls(process, _Duplex(from_child_r, to_child_w), Path(stderr_path))
        try:  # a worker that cannot start is the machine's problem, not the file's: fail the run, refuse nothing
            worker.conn.send(("init", ref))
            if worker.conn.poll(STARTUP_SECONDS) and worker.conn.recv() == "ready":
                return worker
        except (EOFError, OSError):
            pass
        _, _, said = worker.stop(kill=True, timeout=1)
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
        said = _first_line(self.stderr_path)
        self.stderr_path.unlink(missing_ok=True)
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
    root = str(Path(__file__).resolve().parent.parent)
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)


def _waits(process: subprocess.Popen, timeout: float) -> bool:
    """True once the process has exited (without reaping it, so that wait4 can read its resource usage)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return False
        time.sleep(0.005)
    return False


def _first_line(path: Path) -> str:
    """What the dying worker said that matters: Rust's abort or panic message, or Python's last word."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
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
    _, ref = conn.recv()
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
            sheets = read_sheets(content, file_name)
            del content
            reply = ("parsed", parser.parse(sheets, file_name))
            del sheets
        except UnreadableFile as exc:
            reply = ("unreadable", (exc.rule, exc.message_zh, exc.message_en))
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
