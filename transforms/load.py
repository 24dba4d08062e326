"""Record one submission's outcome in the warehouse in a single transaction: all of it or none of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from transforms.submission import CellFigure, Issue
from transforms.unit_facts import UnitFact
from transforms.warehouse import sql as warehouse_sql

LOADED, SUPERSEDED, DUPLICATE, REJECTED = "loaded", "superseded", "duplicate", "rejected"


@dataclass(frozen=True)
class Receipt:
    """One file received: who it is (content hash), when it landed, where its archived copy is."""

    submission_id: str
    file_name: str
    sha256: str
    received_at: dt.datetime
    archive_path: str


@dataclass
class Outcome:
    """What became of a received file, with everything needed to record and report it."""

    receipt: Receipt
    status: str
    reason: str | None = None
    unit_code: str | None = None
    as_of_date: dt.date | None = None
    cells: list[CellFigure] = field(default_factory=list)
    facts: list[UnitFact] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    report_path: str | None = None
    processed_at: dt.datetime | None = None  # set for files recorded in a batch; otherwise the time of recording

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


def find_receipt(con: duckdb.DuckDBPyConnection, submission_id: str) -> tuple | None:
    """(status, reason, unit_code, as_of_date, report_path) of a receipt already recorded, else None."""
    # fetchall: a fetchone() would leave DuckDB's streamed result open and block the connection's next register()
    rows = con.execute(
        "SELECT status, reason, unit_code, as_of_date, report_path FROM raw.submissions WHERE submission_id = ?",
        [submission_id]).fetchall()
    return rows[0] if rows else None


def find_same_content(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple | None:
    """(submission_id, file_name, status) of the first receipt of the same bytes, else None."""
    rows = con.execute(
        "SELECT submission_id, file_name, status FROM raw.submissions "
        "WHERE sha256 = ? AND status <> 'duplicate' ORDER BY received_at, submission_id LIMIT 1",
        [sha256]).fetchall()
    return rows[0] if rows else None


def duplicate_reason(con: duckdb.DuckDBPyConnection, sha256: str) -> str | None:
    """Why a file is a duplicate: the first receipt of the same bytes, by name, id and status; None if there is none."""
    same = find_same_content(con, sha256)
    if not same:
        return None
    first_id, first_name, first_status = same
    return f"same content as {first_name} ({first_id}, {first_status})"


def _figures_table(submission_id: str, cells: list[CellFigure]) -> pa.Table:
    good = [c for c in cells if c.figure is not None]
    return pa.table({
        "submission_id": pa.array([submission_id] * len(good), pa.string()),
        "sheet": pa.array([c.sheet for c in good], pa.string()),
        "cell": pa.array([c.cell for c in good], pa.string()),
        "row_label": pa.array([c.row_label for c in good], pa.string()),
        "row_role": pa.array([c.row_role for c in good], pa.string()),
        "indicator": pa.array([c.indicator for c in good], pa.string()),
        "item_type": pa.array([c.item_type for c in good], pa.string()),
        "value": pa.array([float(c.figure.value) if c.figure.value is not None else None for c in good], pa.float64()),
        "qualifier": pa.array([c.figure.qualifier for c in good], pa.string()),
        "raw_text": pa.array([c.raw_text for c in good], pa.string()),
    })


def record(con: duckdb.DuckDBPyConnection, outcome: Outcome) -> None:
    """Write the receipt, and for a loaded file its figures and facts, then settle supersession; one transaction."""
    r = outcome.receipt
    con.execute("BEGIN")
    try:
        con.execute(warehouse_sql("record_submission"), _submission_row(outcome))
        if outcome.issues:
            con.executemany(
                "INSERT INTO raw.issues VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.submission_id, i.severity, i.rule, i.sheet, i.cell, i.raw_text, i.message_zh, i.message_en)
                 for i in outcome.issues])
        if outcome.status == LOADED:
            figures = _figures_table(r.submission_id, outcome.cells)  # noqa: F841 (read by DuckDB by name)
            con.execute("INSERT INTO raw.figures SELECT * FROM figures")
            con.executemany(
                "INSERT INTO raw.facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.submission_id, outcome.unit_code, outcome.as_of_date, f.indicator, f.item_type,
                  float(f.value) if f.value is not None else None, f.qualifier, f.parts_unspecified,
                  " + ".join(f.source_cells), f.raw_text) for f in outcome.facts])
            settle_supersession(con, outcome.unit_code, outcome.as_of_date)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if outcome.status == LOADED:
        outcome.status, outcome.reason = find_receipt(con, r.submission_id)[:2]


def settle_supersession(con: duckdb.DuckDBPyConnection, unit_code: str, as_of_date: dt.date) -> None:
    """Of a unit's accepted files for one date, the last received is loaded and the others superseded."""
    rows = con.execute(
        "SELECT submission_id, file_name FROM raw.submissions "
        "WHERE unit_code = ? AND as_of_date = ? AND status IN ('loaded', 'superseded') "
        "ORDER BY received_at DESC, submission_id DESC", [unit_code, as_of_date]).fetchall()
    if not rows:
        return
    (current_id, current_file), older = rows[0], rows[1:]
    con.execute("UPDATE raw.submissions SET status = 'loaded', reason = NULL WHERE submission_id = ?", [current_id])
    for submission_id, _ in older:
        con.execute(
            "UPDATE raw.submissions SET status = 'superseded', reason = ? WHERE submission_id = ?",
            [f"superseded by {current_file} ({current_id}), a later file for the same unit and date", submission_id])


_FACTS = ("submission_id", "unit_code", "as_of_date", "indicator", "item_type", "value", "qualifier",
          "parts_unspecified", "source_cells", "raw_text")
_FACT_TYPES = (pa.string(), pa.string(), pa.date32(), pa.string(), pa.string(), pa.float64(), pa.string(), pa.int32(),
               pa.string(), pa.string())
_ISSUES = ("submission_id", "severity", "rule", "sheet", "cell", "raw_text", "message_zh", "message_en")


def _submission_row(outcome: Outcome) -> dict:
    r = outcome.receipt
    return {"submission_id": r.submission_id, "file_name": r.file_name, "sha256": r.sha256,
            "received_at": r.received_at, "unit_code": outcome.unit_code, "as_of_date": outcome.as_of_date,
            "status": outcome.status, "reason": outcome.reason, "archive_path": r.archive_path,
            "report_path": outcome.report_path, "processed_at": outcome.processed_at,
            "figures_read": sum(1 for c in outcome.cells if c.figure is not None), "warnings": len(outcome.warnings)}


def _columns(names: tuple[str, ...], rows: list[tuple], types: tuple | None = None) -> pa.Table:
    columns = list(zip(*rows)) if rows else [() for _ in names]
    return pa.table({n: pa.array(list(c), t) for n, c, t in zip(names, columns, types or [pa.string()] * len(names))})


def record_many(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome]) -> None:
    """record() of many outcomes in one transaction and in their order: each receipt, then its supersession settled,
    as if recorded one after the other; issues, figures and facts inserted once each, through Arrow.

    A duplicate whose reason is not yet known (the same bytes came earlier in the batch) gets it here, from the
    rows written before it. All or nothing: on an error nothing of the batch is written.
    """
    statement = warehouse_sql("record_submission")
    issues, facts, figures, settled = [], [], [], []
    con.execute("BEGIN")
    try:
        for outcome in outcomes:
            if outcome.status == DUPLICATE and outcome.reason is None:
                outcome.reason = duplicate_reason(con, outcome.receipt.sha256)
            con.execute(statement, _submission_row(outcome))
            sid = outcome.receipt.submission_id
            issues += [(sid, i.severity, i.rule, i.sheet, i.cell, i.raw_text, i.message_zh, i.message_en)
                       for i in outcome.issues]
            if outcome.status == LOADED:
                figures.append(_figures_table(sid, outcome.cells))
                facts += [(sid, outcome.unit_code, outcome.as_of_date, f.indicator, f.item_type,
                           float(f.value) if f.value is not None else None, f.qualifier, f.parts_unspecified,
                           " + ".join(f.source_cells), f.raw_text) for f in outcome.facts]
                settle_supersession(con, outcome.unit_code, outcome.as_of_date)
                settled.append((outcome, find_receipt(con, sid)[:2]))  # as it stood once recorded, like record()
        for name, table in (("issues", _columns(_ISSUES, issues) if issues else None),
                            ("figures", pa.concat_tables(figures) if figures else None),
                            ("facts", _columns(_FACTS, facts, _FACT_TYPES) if facts else None)):
            if table is not None and table.num_rows:
                con.register(f"batch_{name}", table)
                try:
                    con.execute(warehouse_sql(f"record_batch_{name}"))
                finally:
                    con.unregister(f"batch_{name}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    for outcome, (status, reason) in settled:
        outcome.status, outcome.reason = status, reason
