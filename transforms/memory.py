"""Give freed heap memory back to the system, where the C library allows it.

A long-lived process that runs each piece of work on whichever thread is free (Prefect's task worker) spreads
its allocations over glibc's per-thread arenas; what DuckDB and the readers free there stays mapped, so the
process's resident size creeps up with the work it has done although nothing is still in use.
"""

from __future__ import annotations

import ctypes


def _find_malloc_trim():
    try:
        libc = ctypes.CDLL(None)
        return libc.malloc_trim if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (musl, macOS): nothing to call, nothing to release
        return None


_malloc_trim = _find_malloc_trim()


def release_free_memory() -> bool:
    """Return the free pages of every malloc arena to the system (glibc's malloc_trim(0), a few ms); whether
    anything was released."""
    return bool(_malloc_trim(0)) if _malloc_trim is not None else False
