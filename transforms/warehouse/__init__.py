"""The DuckDB warehouse: opening it safely, its tables, reference data and the marts views."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import duckdb

from transforms.core.layout import Layout
from transforms.core.reference import Reference, load_reference

SQL_DIR = Path(__file__).parent / "sql"
SCHEMA_DIR = SQL_DIR / "schema"
MARTS_DIR = SQL_DIR / "marts"
MACROS_DIR = SQL_DIR / "macros"
QUERIES_DIR = SQL_DIR / "queries"
# Views in dependency order; each is transforms/warehouse/sql/marts/<name>.sql.
MARTS = ("days", "unit_day", "unit_day_figures", "unit_latest", "city_totals", "city_items_by_type", "headline",
         "overlaps", "completeness", "unit_daily", "revisions", "published_changes")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse for writing and did not let go in time."""


class WarehouseUnwritable(RuntimeError):
    """The warehouse file or its folder cannot be written: read-only, not this user's, or on a full disk."""


_UNWRITABLE = ("Permission denied", "Operation not permitted", "Read-only file system", "No space left on device")


# DuckDB opens a database file three times while connecting (its magic bytes, its headers, then its blocks).
# When the analysts' copy is renamed into place between the second and third, the headers of the old file
# point into the new one and the connect fails with this message; a second connect reads the new file whole.
TORN_READ = "Could not read enough bytes from file"
TORN_READ_RETRIES = 3


def connect(path: Path, read_only: bool = False, wait_seconds: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds its lock (DuckDB itself does not wait): up to
    `wait_seconds`, by default WARMLINE_LOCK_WAIT_SECONDS or 60."""
    if wait_seconds is None:
        wait_seconds = float(os.environ.get("WARMLINE_LOCK_WAIT_SECONDS") or 60)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    torn_reads = 0
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if read_only and torn_reads < TORN_READ_RETRIES and TORN_READ in str(exc):
                torn_reads += 1  # a new copy was renamed in while DuckDB was opening the file: open it again
                continue
            cause = next((c for c in _UNWRITABLE if c in str(exc)), None)
            if cause and not read_only:
                raise WarehouseUnwritable(
                    f"the warehouse {path} cannot be opened for writing ({cause}): check that the file and its "
                    "folder are writable by you (ls -l; lsattr shows an immutable file) and that the disk has room, "
                    "then run the command again — nothing was loaded, and files wait in the inbox") from exc
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise WarehouseBusy(
                        f"the warehouse {path} is in use by another process (waited {wait_seconds:.0f} s); "
                        "wait for the other warmline command to finish and try again") from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def sql(name: str) -> str:
    """The text of transforms/warehouse/sql/queries/<name>.sql."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def rows(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> list[dict]:
    """The rows of query `name` as dicts of plain Python values (no pandas: importing it costs a read-only command
    most of a second). A query written as a template (day_units: a column for each headline indicator) is
    rendered for the reference in ref.indicators first."""
    text = sql(name)
    if "{%" in text or "{{" in text:
        text = _render(text, headline_context(con))
    return as_dicts(con.execute(text, params))


def as_dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    """An executed query's rows as dicts by column name."""
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def headline_context(con: duckdb.DuckDBPyConnection) -> dict:
    """What the SQL templates are rendered with: the headline indicators' codes, in catalogue order."""
    return {"headline": [code for (code,) in con.execute(sql("headline_indicators")).fetchall()]}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and raw tables if missing; safe to run on every start."""
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        if not path.name.startswith("ref_"):
            con.execute(path.read_text(encoding="utf-8"))


class WarehouseOutdated(RuntimeError):
    """The warehouse is missing, or was made by an older warmline and lacks a table: says what to run."""


def open_read_only(path: Path, run_first: str = "warmline run") -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse at `path`, for the commands that only look; WarehouseOutdated when
    there is none yet (`run_first` is the command that makes it) or it lacks a table."""
    if not path.exists():
        raise WarehouseOutdated(f"no warehouse in {path.parent} yet; run `{run_first}` first")
    con = connect(path, read_only=True)
    try:
        ensure_tables_exist(con)
    except WarehouseOutdated:
        con.close()
        raise
    return con


def set_up(layout: Layout) -> list[Path]:
    """`warmline init`: the home's folders and the shipped reference data where missing, then the warehouse's
    tables and views; safe to run again. What it created."""
    created = layout.create()
    ref = load_reference(layout.reference)  # read after create(): it may be the shipped copy just made
    con = connect(layout.warehouse)
    try:
        prepare(con, ref)
    finally:
        con.close()
    return created


def ensure_tables_exist(con: duckdb.DuckDBPyConnection) -> None:
    """On a read-only connection to a warehouse made by an older warmline: refuse with what to run, rather than
    fail on the first table it lacks."""
    have = {name for (name,) in con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
    wanted = {f"raw.{p.stem.removeprefix('raw_')}" for p in SCHEMA_DIR.glob("raw_*.sql")}
    if wanted - have:
        raise WarehouseOutdated(f"the warehouse lacks {', '.join(sorted(wanted - have))}, made by an older warmline: run "
                           "`warmline init` (safe to run again) to add them")


def refresh_reference(con: duckdb.DuckDBPyConnection, ref: Reference) -> None:
    """Replace the ref.* tables with data/reference/ as it is now, so an edit there takes effect."""
    for path in sorted(SCHEMA_DIR.glob("ref_*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    expected = set(ref.campaign.expected_units)
    # one insert a table (an executemany is one statement a row)
    _insert_rows(con, "ref.units", [(u.code, u.name, u.level, u.code in expected, i) for i, u in enumerate(ref.units)])
    _insert_rows(con, "ref.indicators",
                 [(i.code, i.name_zh, i.name_en, i.unit, i.headline, n) for n, i in enumerate(ref.indicators)])
    _insert_rows(con, "ref.overlaps",
                 [(o.unit_code, o.indicator, u, o.reason) for o in ref.campaign.overlaps for u in o.includes])
    c = ref.campaign
    con.execute("INSERT INTO ref.campaign VALUES (?, ?, ?, ?, ?, ?)",
                [c.name, c.city, c.start_date, c.end_date, str(c.timezone), c.daily_deadline])


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert `rows` (in the table's column order: INSERT … SELECT * matches by position) with one statement."""
    if not rows:
        return
    # one VALUES list of parameters: no Arrow table to build (importing pyarrow costs a command half a second)
    row = "(" + ", ".join("?" * len(rows[0])) + ")"
    con.execute(f"INSERT INTO {table} VALUES " + ", ".join([row] * len(rows)), [v for r in rows for v in r])


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the marts macros and views from their .sql files. A view's file is a Jinja template, as dbt's
    models are: marts.headline has a column for each headline indicator of the reference in ref.indicators."""
    for path in sorted(MACROS_DIR.glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    context = headline_context(con)
    for name in MARTS:
        body = _render((MARTS_DIR / f"{name}.sql").read_text(encoding="utf-8"), context)
        con.execute(f"CREATE OR REPLACE VIEW marts.{name} AS\n{body}")


def _render(template: str, context: dict) -> str:
    """A SQL template rendered with Jinja, as dbt renders its models. The headline codes it is given are safe as
    column names: the reference keeps indicator codes to lower-case letters, digits and _."""
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(template).render(
        context)


def prepare(con: duckdb.DuckDBPyConnection, ref: Reference) -> None:
    """Everything a run needs before it reads or writes: tables, reference data, views."""
    con.execute("BEGIN")
    try:
        ensure_schema(con)
        refresh_reference(con, ref)
        build_marts(con)
        con.execute("COMMIT")
    except Exception:
        rollback(con)
        raise


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if the failure left one: a COMMIT that failed (the disk full, say) has
    ended it already, and the error to report is the one that ended it, not 'no transaction is active'."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass


def record_rollup_day(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Remember that the daily flow computed `day`, so the marts' calendar reaches it."""
    con.execute("INSERT OR REPLACE INTO raw.rollup_days VALUES (?, now())", [day])
