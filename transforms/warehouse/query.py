"""Ad-hoc read-only queries for analysts (`warmline sql`): open the published copy, run, write CSV or Parquet."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Callable

import duckdb

from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.safe_text import csv_text

CHUNK_ROWS = 10_000


class QueryFailed(Exception):
    """DuckDB refused the query; the message is DuckDB's, on one line."""


def one_line(exc: BaseException) -> str:
    """DuckDB's message on one line, without the 'LINE 1: … ^^^' pointer that only makes sense over several."""
    text = str(exc).split("\n\nLINE ")[0]
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def open_for_reading(layout: Layout, wait_seconds: float = 10.0) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """The analysts' copy read-only, or the warehouse read-only while no copy has been published yet."""
    for path in (layout.analytics, layout.warehouse):
        if path.exists():
            return warehouse.connect(path, read_only=True, wait_seconds=wait_seconds), path
    raise FileNotFoundError(f"no warehouse in {layout.warehouse.parent}")


def run(con: duckdb.DuckDBPyConnection, text: str) -> duckdb.DuckDBPyConnection:
    """Run `text` and return the pending result (read it with `fetch`); QueryFailed on error."""
    try:
        return con.execute(text)
    except duckdb.Error as exc:
        raise QueryFailed(one_line(exc)) from None


def columns(result: duckdb.DuckDBPyConnection) -> list[str]:
    """Column names of a pending result; empty for a statement that returns none."""
    return [d[0] for d in result.description or []]


def csv_cell(value: object) -> object:
    """A value as a CSV cell: text that a spreadsheet would run as a formula gets a leading ', and control
    characters and direction overrides (in a file name from outside, say) are written as escapes."""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 24684, not 24684.0: counts are stored as DOUBLE
    return value


def fetch(result: duckdb.DuckDBPyConnection, size: int = CHUNK_ROWS) -> list[tuple]:
    """The next `size` rows of a pending result; QueryFailed if DuckDB fails while producing them."""
    try:
        return result.fetchmany(size)
    except duckdb.Error as exc:  # results stream: an error can surface while rows are read
        raise QueryFailed(one_line(exc)) from None


def write_csv(con: duckdb.DuckDBPyConnection, text: str, target: Path) -> int:
    """Write the rows as UTF-8 CSV with a BOM (so Excel reads the Chinese), header first; returns the row count."""
    result = run(con, text)
    rows = 0
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([csv_cell(c) for c in columns(result)])
        while chunk := fetch(result):
            writer.writerows([csv_cell(v) for v in row] for row in chunk)
            rows += len(chunk)
    return rows


def write_parquet(con: duckdb.DuckDBPyConnection, text: str, target: Path) -> int:
    """Write the rows as Parquet with their column types (DuckDB's own writer); returns the row count."""
    try:
        relation = con.sql(text)
        if relation is None:
            raise QueryFailed("the statement returns no rows to write")
        relation.to_parquet(str(target))
    except duckdb.Error as exc:
        raise QueryFailed(one_line(exc)) from None
    import pyarrow.parquet as pq  # only for --out FILE.parquet: 0.4 s that printing rows does not need

    return pq.ParquetFile(target).metadata.num_rows


WRITERS: dict[str, Callable[[duckdb.DuckDBPyConnection, str, Path], int]] = {
    ".csv": write_csv, ".parquet": write_parquet}


def writer_for(target: Path) -> Callable[[duckdb.DuckDBPyConnection, str, Path], int]:
    """The writer for the file's extension; ValueError naming the supported ones otherwise."""
    try:
        return WRITERS[target.suffix.lower()]
    except KeyError:
        raise ValueError(f"--out {target}: cannot write {target.suffix or 'a file without an extension'}; "
                         f"use a file name ending in {' or '.join(WRITERS)}") from None


def write_query_result(con: duckdb.DuckDBPyConnection, text: str, target: Path) -> int:
    """Run `text` and write its rows to `target` by its extension, whole or not at all (written aside, renamed)."""
    write = writer_for(target)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        rows = write(con, text, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


def cell_text(value: object) -> str:
    """A value as the table shows it: NULL for no value, counts without a needless .0."""
    if value is None:
        return "NULL"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
