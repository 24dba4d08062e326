"""What the daily flow last did for a day, so that a run with nothing new since reuses it instead of redoing it.

A day's checks, bulletin and publication depend only on the warehouse (every file recorded, the publications,
the calendar), the reference data, the suites and the code. When none of these changed since the last run of
the same day, the same run would write byte-identical files and find the same checks: the stored result is
used instead, which spares the checks, the bulletin and the analysts' copy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

import duckdb

from transforms.core.layout import Layout
from transforms.day.checks import CheckResult
from transforms.warehouse import sql

_PROJECT = Path(__file__).resolve().parents[2]
_SUITES = _PROJECT / "expectations"
_CODE = (_PROJECT / "transforms", _PROJECT / "flows")  # a change to either may change what the roll-up writes


def _state_file(layout: Layout, day: dt.date) -> Path:
    return layout.warehouse.parent / "rollup_state" / f"{day.isoformat()}.json"


def fingerprint(con: duckdb.DuckDBPyConnection, layout: Layout, day: dt.date, force: bool) -> str:
    """A digest of everything the day's roll-up depends on; equal digests mean the same outputs."""
    digest = hashlib.sha256(f"{day.isoformat()}|{force}|".encode())
    digest.update(repr(con.execute(sql("rollup_inputs")).fetchall()).encode())
    files = [*sorted(layout.reference.glob("*")), *sorted(_SUITES.glob("*.json")),
             *(path for code in _CODE for pattern in ("*.py", "*.sql") for path in sorted(code.rglob(pattern)))]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class DayState:
    """The result of the last run of a day: its checks, whether it was published (and forced), its bulletin."""

    checks: list[CheckResult]
    published: bool
    forced: bool
    bulletin: list[Path]


def remember(layout: Layout, day: dt.date, digest: str, state: DayState) -> None:
    """Keep the result of this run of `day` under the digest of its inputs (written atomically)."""
    target = _state_file(layout, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {"fingerprint": digest, "checks": [dataclasses.asdict(c) for c in state.checks],
            "published": state.published, "forced": state.forced, "bulletin": [str(p) for p in state.bulletin]}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".state-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False)
    os.replace(tmp, target)


def recall(layout: Layout, day: dt.date, digest: str) -> DayState | None:
    """The last run's result of `day` when its inputs had this digest and its outputs are still there; else None."""
    try:
        body = json.loads(_state_file(layout, day).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    bulletin = [Path(p) for p in body.get("bulletin", [])]
    if body.get("fingerprint") != digest or not layout.analytics.exists() or not all(p.exists() for p in bulletin):
        return None
    try:
        checks = [CheckResult(**c) for c in body["checks"]]
    except (KeyError, TypeError):
        return None
    return DayState(checks, bool(body["published"]), bool(body["forced"]), bulletin)
