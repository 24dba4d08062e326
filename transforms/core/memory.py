"""Keep a long-lived process's heap from creeping up with the work it has done, where the C library allows it.

A long-lived process that runs each piece of work on whichever thread is free (Prefect's task worker) spreads
its allocations over glibc's per-thread arenas (up to eight per core); what DuckDB and the readers free there
stays mapped, so the process's resident size creeps up with the work it has done although nothing is still in
use. Fewer arenas, and freed pages handed back after each piece of work, keep it flat (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
SERVICE_ARENAS = 2  # for the service's long-lived processes (the writer, the Prefect server): a task at a time


def _libc_function(name: str):
    try:
        libc = ctypes.CDLL(None)
        return getattr(libc, name) if hasattr(libc, name) else None
    except OSError:  # not glibc (musl, macOS): nothing to call, nothing to release
        return None


_malloc_trim = _libc_function("malloc_trim")
_mallopt = _libc_function("mallopt")


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the system (glibc's malloc_trim(0), a few ms); whether
    anything was released."""
    return bool(_malloc_trim(0)) if _malloc_trim is not None else False


def limit_malloc_arenas(arenas: int = SERVICE_ARENAS) -> bool:
    """Let threads started from now on share at most `arenas` malloc arenas (glibc's mallopt(M_ARENA_MAX), as
    the MALLOC_ARENA_MAX variable does at a process's start); whether the C library took it."""
    return bool(_mallopt(M_ARENA_MAX, arenas)) if _mallopt is not None else False


def resident_mib() -> float | None:
    """This process's resident memory (VmRSS) in MiB; None where /proc does not say (not Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
