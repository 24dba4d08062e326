"""Publish the warehouse for analysts: a read-only DuckDB copy that older DuckDB versions open, and the marts as Parquet.

Analysts never open the warehouse itself: while the pipeline holds it for writing, DuckDB refuses every other
process, even read-only. After each load the writer copies everything into data/warehouse/analytics.duckdb.tmp
and renames it over analytics.duckdb. A rename is atomic, so a new reader finds either the previous copy or
the new one, both complete; a reader that has the previous copy open keeps reading it (its inode lives on
until it closes). Publishing always runs on the warehouse's writer connection, which DuckDB's lock makes the
only one, so two publishers never race on the .tmp file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms import warehouse
from transforms.layout import Layout

# The storage format of the analysts' copy: the oldest DuckDB 2.0 writes. Measured (benchmarks/publish_analytics.md):
# DuckDB 1.1 to 2.0 read a 'v1.0.0' file correctly; 1.0 cannot read it; 'v1.5.0' is refused by 1.4 (the LTS), and
# DuckDB 1.3.2 reads a 'v1.3.0' file written by 2.0 but returns NULL for every value of a dictionary-compressed column.
STORAGE_VERSION = "v1.0.0"
SNAPSHOT = "analytics_snapshot"  # the name the copy is attached under while it is written


class PublishFailed(RuntimeError):
    """The analysts' copy could not be written; the previous copy, if any, is still in place."""


@dataclass(frozen=True)
class Published:
    """What one publication wrote and how long it took."""

    analytics: Path
    parquet: tuple[Path, ...]
    seconds: float


def _tmp(target: Path) -> Path:
    return target.with_name(target.name + ".tmp")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def publish_analytics(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """Copy the whole warehouse of `con` (its writer connection) to `target` atomically, in STORAGE_VERSION format."""
    tmp = _tmp(target)
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):  # from a publication that crashed half-way
        leftover.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"DETACH DATABASE IF EXISTS {SNAPSHOT}")
    con.execute(f"ATTACH ? AS {SNAPSHOT} (STORAGE_VERSION '{STORAGE_VERSION}')", [str(tmp)])
    try:
        con.execute(f"COPY FROM DATABASE {_quoted(source)} TO {SNAPSHOT}")
    except BaseException:
        con.execute(f"DETACH DATABASE IF EXISTS {SNAPSHOT}")
        tmp.unlink(missing_ok=True)
        raise
    con.execute(f"DETACH {SNAPSHOT}")  # checkpoints the copy: no .wal is left beside it
    # Read-only on disk: an analyst who forgets -readonly gets "Permission denied" instead of taking a write
    # lock that would shut every other analyst out of the copy until the next publication.
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return target


def marts_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the marts views in the database of `con`, sorted."""
    return [name for (name,) in con.execute(warehouse.sql("marts_views")).fetchall()]


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[Path, ...]:
    """Write each marts view to <folder>/<view>.parquet, each file replaced atomically; remove files of views gone."""
    folder.mkdir(parents=True, exist_ok=True)
    views = marts_views(con)
    written = []
    for view in views:
        target = folder / f"{view}.parquet"
        tmp = _tmp(target)
        tmp.unlink(missing_ok=True)
        con.sql(f"SELECT * FROM marts.{_quoted(view)}").to_parquet(str(tmp))
        os.replace(tmp, target)
        written.append(target)
    # The folder is generated: a file no view writes any more would silently go stale.
    for stale in folder.iterdir():
        if stale.is_file() and (stale.suffix == ".tmp" or (stale.suffix == ".parquet" and stale.stem not in views)):
            stale.unlink()
    return tuple(written)


def _inputs(con: duckdb.DuckDBPyConnection) -> str:
    return repr(con.execute(warehouse.sql("rollup_inputs")).fetchall())


def publication_due(layout: Layout, min_interval: float) -> bool:
    """Whether a load should publish: always without an interval; with one, once the copy is that many seconds
    old (or missing). Publishing copies the whole warehouse, so its cost grows with it (benchmarks/RESULTS.md)."""
    if min_interval <= 0 or not layout.analytics.exists():
        return True
    return time.time() - layout.analytics.stat().st_mtime >= min_interval


def publication_stale(layout: Layout, con: duckdb.DuckDBPyConnection) -> bool:
    """Whether loads recorded in the warehouse of `con` are not in the analysts' copy yet (the copy holds the
    same raw tables, so the same question asked of both tells)."""
    try:
        copy = duckdb.connect(str(layout.analytics), read_only=True)
    except (duckdb.Error, OSError):
        return True
    try:
        return _inputs(copy) != _inputs(con)
    except duckdb.Error:
        return True
    finally:
        copy.close()


def publish(layout: Layout, con: duckdb.DuckDBPyConnection | None = None) -> Published:
    """Publish analytics.duckdb and the Parquet marts from the warehouse's writer connection (opened if not given)."""
    started = time.perf_counter()
    own = con is None
    try:
        if own:
            con = warehouse.connect(layout.warehouse)
        analytics = publish_analytics(con, layout.analytics)
        parquet = export_parquet(con, layout.parquet)
    except (duckdb.Error, OSError) as exc:
        raise PublishFailed(
            f"publish failed for {layout.analytics.relative_to(layout.home)}: {' '.join(str(exc).split())}; "
            "the warehouse itself is up to date and analysts still see the previous copy. Re-run: warmline run"
        ) from exc
    finally:
        if own and con is not None:
            con.close()
    return Published(analytics, parquet, time.perf_counter() - started)
