"""Publish the warehouse for analysts: a read-only DuckDB copy that older DuckDB versions open, and the marts as Parquet.

Analysts never open the warehouse itself: while the pipeline holds it for writing, DuckDB refuses every other
process, even read-only. After each load the writer makes data/warehouse/analytics.duckdb.tmp (a file copy of
the previous copy brought up to date, or a whole new copy when there is none or its shape differs) and renames
it over analytics.duckdb. A rename is atomic, so a new reader finds either the previous copy or
the new one, both complete; a reader that has the previous copy open keeps reading it (its inode lives on
until it closes). Publishing always runs on the warehouse's writer connection, which DuckDB's lock makes the
only one, so two publishers never race on the .tmp file.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms import warehouse
from transforms.core.layout import Layout

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
    updated: bool = False  # the analysts' copy was brought up to date from the previous one, not written anew


def _tmp(target: Path) -> Path:
    return target.with_name(target.name + ".tmp")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# Tables that only ever gain rows, each with its submission (load.record_many): a publication copies the rows of
# submissions the copy does not have yet. Every other table is small (a row a file at most) and copied whole.
APPEND_ONLY = ("raw.figures", "raw.facts", "raw.issues")


def publish_analytics(con: duckdb.DuckDBPyConnection, target: Path) -> bool:
    """Copy the whole warehouse of `con` (its writer connection) to `target` atomically, in STORAGE_VERSION format.
    Whether it was brought up to date from the previous copy (True) or written anew (False).

    When the previous copy has the same tables, views and macros, it is copied as a file and brought up to date:
    the rows of new submissions appended, the small tables replaced. DuckDB's COPY FROM DATABASE rewrites
    everything and its time grew with the warehouse; the file copy does not (benchmarks/RESULTS.md). Anything unexpected (no copy, another schema, counts that do not match) writes it anew."""
    tmp = _tmp(target)
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):  # from a publication that crashed half-way
        leftover.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"DETACH DATABASE IF EXISTS {SNAPSHOT}")
    updated = target.exists() and _updated_copy(con, source, target, tmp)
    if not updated:
        _new_copy(con, source, tmp)
    # Read-only on disk: an analyst who forgets -readonly gets "Permission denied" instead of taking a write
    # lock that would shut every other analyst out of the copy until the next publication.
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return updated


def _new_copy(con: duckdb.DuckDBPyConnection, source: str, tmp: Path) -> None:
    con.execute(f"ATTACH ? AS {SNAPSHOT} (STORAGE_VERSION '{STORAGE_VERSION}')", [str(tmp)])
    try:
        con.execute(f"COPY FROM DATABASE {_quoted(source)} TO {SNAPSHOT}")
    except BaseException:
        con.execute(f"DETACH DATABASE IF EXISTS {SNAPSHOT}")
        tmp.unlink(missing_ok=True)
        raise
    con.execute(f"DETACH {SNAPSHOT}")  # checkpoints the copy: no .wal is left beside it


def _columns(con: duckdb.DuckDBPyConnection, database: str, kind: str) -> list:
    """Every column of the database's tables or views (`kind`), with its type: the shape a copy must share."""
    relations = ("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = $db" if kind == "tables"
                 else "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = $db AND NOT internal")
    return con.execute(
        "SELECT schema_name, table_name, column_index, column_name, data_type FROM duckdb_columns() "
        f"WHERE database_name = $db AND (schema_name, table_name) IN ({relations}) ORDER BY ALL",
        {"db": database}).fetchall()


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY ALL",
        [database]).fetchall()]


def _updated_copy(con: duckdb.DuckDBPyConnection, source: str, target: Path, tmp: Path) -> bool:
    """Copy `target` to `tmp` and bring it up to date with `source`; False (and no tmp) when it cannot be."""
    try:
        shutil.copyfile(target, tmp)
        os.chmod(tmp, 0o644)
        con.execute(f"ATTACH ? AS {SNAPSHOT}", [str(tmp)])  # an existing file keeps its storage version
    except (duckdb.Error, OSError):
        con.execute(f"DETACH DATABASE IF EXISTS {SNAPSHOT}")
        tmp.unlink(missing_ok=True)
        return False
    began = False
    try:
        tables = _tables(con, source)
        same = _columns(con, source, "tables") == _columns(con, SNAPSHOT, "tables") and \
            all(t in tables for t in APPEND_ONLY)
        if same:
            src = _quoted(source)
            con.execute("BEGIN")
            began = True
            # receipts new or changed since the copy (a supersession changes an old one's status), then the new
            con.execute(f"CREATE TEMP TABLE publish_changed AS SELECT submission_id, hash(w) FROM {src}.raw.submissions w "
                        f"EXCEPT SELECT submission_id, hash(c) FROM {SNAPSHOT}.raw.submissions c")
            con.execute("CREATE TEMP TABLE publish_new AS SELECT submission_id FROM publish_changed "
                        f"EXCEPT SELECT submission_id FROM {SNAPSHOT}.raw.submissions")
            for table in APPEND_ONLY:
                con.execute(f"INSERT INTO {SNAPSHOT}.{table} SELECT * FROM {src}.{table} "
                            "WHERE submission_id IN (SELECT submission_id FROM publish_new)")
            con.execute(f"DELETE FROM {SNAPSHOT}.raw.submissions "
                        "WHERE submission_id IN (SELECT submission_id FROM publish_changed)")
            con.execute(f"INSERT INTO {SNAPSHOT}.raw.submissions SELECT * FROM {src}.raw.submissions "
                        "WHERE submission_id IN (SELECT submission_id FROM publish_changed)")
            # the other tables are small; only those that changed are rewritten (a rewrite leaves free blocks)
            for table in tables:
                if table not in (*APPEND_ONLY, "raw.submissions") and _fingerprint(con, src, table) != \
                        _fingerprint(con, SNAPSHOT, table):
                    con.execute(f"DELETE FROM {SNAPSHOT}.{table}")
                    con.execute(f"INSERT INTO {SNAPSHOT}.{table} SELECT * FROM {src}.{table}")
            _same_views(con, source)
            counts = " UNION ALL ".join(f"SELECT '{t}', (SELECT count(*) FROM {src}.{t}) = "
                                        f"(SELECT count(*) FROM {SNAPSHOT}.{t})" for t in tables)
            same = all(equal for _, equal in con.execute(counts).fetchall()) and \
                _columns(con, source, "views") == _columns(con, SNAPSHOT, "views")  # else: write it anew
            con.execute("COMMIT" if same else "ROLLBACK")
            began = False
            _drop_temporary(con)
    except BaseException:
        if began:
            warehouse.rollback(con)
        _drop_temporary(con)
        con.execute(f"DETACH DATABASE IF EXISTS {SNAPSHOT}")
        tmp.unlink(missing_ok=True)
        raise
    con.execute(f"DETACH {SNAPSHOT}")  # checkpoints the copy
    # Deleted rows leave free blocks DuckDB does not always reuse: a copy grown past twice the warehouse is
    # written anew.
    if same and tmp.stat().st_size > 2 * _database_bytes(con, source) + 2**20:
        same = False
    if not same:
        tmp.unlink(missing_ok=True)
    return same


def _fingerprint(con: duckdb.DuckDBPyConnection, database: str, table: str) -> tuple:
    return con.execute(f"SELECT count(*), sum(hash(t)) FROM {database}.{table} t").fetchall()[0]


def _database_bytes(con: duckdb.DuckDBPyConnection, database: str) -> int:
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = ?", [database]).fetchall()[0][0]
    return os.path.getsize(path)


def _drop_temporary(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("publish_changed", "publish_new"):
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _same_views(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Give the attached copy the warehouse's macros and views, from the same files (warehouse.build_marts), and
    drop the views the warehouse no longer has. Created while the copy is the default database, so that their
    names resolve inside the copy, as they do when an analyst opens it."""
    gone = {name for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = 'marts' AND NOT internal "
        "EXCEPT SELECT view_name FROM duckdb_views() WHERE database_name = ? AND schema_name = 'marts'",
        [SNAPSHOT, source]).fetchall()}
    con.execute(f"USE {SNAPSHOT}")
    try:
        for name in sorted(gone):
            con.execute(f"DROP VIEW marts.{_quoted(name)}")
        warehouse.build_marts(con)
    finally:
        con.execute(f"USE {_quoted(source)}")


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
    old (or missing). The copy costs about the same at any size, but the Parquet marts are exported whole and
    grow with the warehouse (benchmarks/RESULTS.md)."""
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
        updated = publish_analytics(con, layout.analytics)
        parquet = export_parquet(con, layout.parquet)
    except (duckdb.Error, OSError) as exc:
        raise PublishFailed(
            f"publish failed for {layout.analytics.relative_to(layout.home)}: {' '.join(str(exc).split())}; "
            "the warehouse itself is up to date and analysts still see the previous copy. Re-run: warmline run"
        ) from exc
    finally:
        if own and con is not None:
            con.close()
    return Published(layout.analytics, parquet, time.perf_counter() - started, updated)
