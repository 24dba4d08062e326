"""Record one submission's outcome in the warehouse in a single transaction: all of it or none of it."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from transforms.core.problems import WARNING, Problem
from transforms.read.parsed import CrossFieldFinding
from transforms.read.parser import CellFigure, HeaderReading, UnmappedCell
from transforms.read.unit_facts import UnitFact
from transforms.warehouse import rollback
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
    issues: list[Problem] = field(default_factory=list)
    headers: list[HeaderReading] = field(default_factory=list)  # how each header was read
    unmapped: list[UnmappedCell] = field(default_factory=list)  # figure cells not loaded, each with why
    cross_field: list[CrossFieldFinding] = field(default_factory=list)  # rows breaking a rule between figures
    unread_cells: int = 0  # how many: kept once the cells themselves are recorded and dropped from memory
    report_path: str | None = None
    processed_at: dt.datetime | None = None  # set for files recorded in a batch; otherwise the time of recording

    @property
    def warnings(self) -> list[Problem]:
        return [i for i in self.issues if i.severity == WARNING]


def find_same_content(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple | None:
    """(submission_id, file_name, status) of the first receipt of the same bytes, else None."""
    first = first_receipts(con, [sha256]).get(sha256)
    return first[1:] if first else None


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


def rerecord_many(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome], reason: str,
                  when: dt.datetime) -> None:
    """Record files read again from the archive (their receipts recorded before): each one's rows replace what its
    earlier reading recorded, in one transaction; raw.rereads keeps when and why with its state before and after,
    and raw.reread_facts its facts as they stood, so that the change shows as a revision."""
    ids = [o.receipt.submission_id for o in outcomes]
    table = pa.table({"submission_id": pa.array(ids, pa.string()),
                      "reread_at": pa.array([when] * len(ids), pa.timestamp("us", tz="UTC")),
                      "reason": pa.array([reason] * len(ids), pa.string())})
    record_many(con, outcomes, reread=table)


def record(con: duckdb.DuckDBPyConnection, outcome: Outcome) -> None:
    """Write the receipt, and for a loaded file its figures and facts, then decide supersession; one transaction."""
    record_many(con, [outcome])


def decide_supersession(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> None:
    """Of a unit's accepted files for one date, the last received is loaded and the others superseded: for every
    (unit_code, as_of_date) of `pairs`, in one statement."""
    with _registered(con, "batch_pairs", pairs):
        con.execute(warehouse_sql("decide_supersession"))


_FACTS = ("submission_id", "unit_code", "as_of_date", "indicator", "item_type", "value", "qualifier",
          "parts_unspecified", "source_cells", "raw_text")
_FACT_TYPES = (pa.string(), pa.string(), pa.date32(), pa.string(), pa.string(), pa.float64(), pa.string(), pa.int32(),
               pa.string(), pa.string())
_SUBMISSIONS = ("submission_id", "file_name", "sha256", "received_at", "unit_code", "as_of_date", "status", "reason",
                "archive_path", "report_path", "processed_at", "figures_read", "warnings")
_SUBMISSION_TYPES = (pa.string(), pa.string(), pa.string(), pa.timestamp("us", tz="UTC"), pa.string(), pa.date32(),
                     pa.string(), pa.string(), pa.string(), pa.string(), pa.timestamp("us", tz="UTC"), pa.int32(),
                     pa.int32())
_ISSUES = ("submission_id", "severity", "rule", "sheet", "cell", "raw_text", "message_zh", "message_en")
_HEADER_READINGS = ("submission_id", "sheet", "cell", "header", "unit", "indicator", "item_type", "how", "rule", "words",
                    "candidates", "detail", "cells")
_HEADER_READING_TYPES = (pa.string(),) * 12 + (pa.int32(),)
_UNMAPPED_CELLS = ("submission_id", "sheet", "cell", "header", "header_cell", "row_label", "raw_text", "reason")
_CROSS_FIELD_FINDINGS = ("submission_id", "sheet", "row_number", "cells", "rule", "message_zh", "message_en")
_CROSS_FIELD_FINDING_TYPES = (pa.string(), pa.string(), pa.int32()) + (pa.string(),) * 4


def _header_rows(submission_id: str, headers: list[HeaderReading]) -> list[tuple]:
    return [(submission_id, h.sheet, h.cell, h.header, h.unit, h.indicator, h.item_type, h.how, h.rule,
             "、".join(h.words), ",".join(h.candidates), h.detail, h.cells) for h in headers]


def _unmapped_rows(submission_id: str, cells: list[UnmappedCell]) -> list[tuple]:
    return [(submission_id, u.sheet, u.cell, u.header, u.header_cell, u.row_label, u.raw_text, u.reason)
            for u in cells]


def _submission_row(outcome: Outcome) -> dict:
    r = outcome.receipt
    return {"submission_id": r.submission_id, "file_name": r.file_name, "sha256": r.sha256,
            "received_at": r.received_at, "unit_code": outcome.unit_code, "as_of_date": outcome.as_of_date,
            "status": outcome.status, "reason": outcome.reason, "archive_path": r.archive_path,
            "report_path": outcome.report_path, "processed_at": outcome.processed_at,
            "figures_read": sum(1 for c in outcome.cells if c.figure is not None), "warnings": len(outcome.warnings)}


def _submissions_table(rows: list[dict]) -> pa.Table:
    return _columns(_SUBMISSIONS, [tuple(row[k] for k in _SUBMISSIONS) for row in rows], _SUBMISSION_TYPES)


def _columns(names: tuple[str, ...], rows: list[tuple], types: tuple | None = None) -> pa.Table:
    columns = list(zip(*rows)) if rows else [() for _ in names]
    return pa.table({n: pa.array(list(c), t) for n, c, t in zip(names, columns, types or [pa.string()] * len(names))})


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table):
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def _pairs(outcomes: list[Outcome]) -> pa.Table:
    pairs = sorted({(o.unit_code, o.as_of_date) for o in outcomes})
    return pa.table({"unit_code": pa.array([u for u, _ in pairs], pa.string()),
                     "as_of_date": pa.array([d for _, d in pairs], pa.date32())})


def _as_recorded(con: duckdb.DuckDBPyConnection, loaded: list[Outcome]) -> dict[str, tuple]:
    """submission_id → (status, reason, displaced_id) of each loaded outcome as it stood once recorded, in order
    (supersession_as_recorded.sql)."""
    if not loaded:
        return {}
    table = _columns(("submission_id", "unit_code", "as_of_date", "received_at", "file_name", "position"),
                     [(o.receipt.submission_id, o.unit_code, o.as_of_date, o.receipt.received_at, o.receipt.file_name,
                       n) for n, o in enumerate(loaded, start=1)],
                     (pa.string(), pa.string(), pa.date32(), pa.timestamp("us", tz="UTC"), pa.string(), pa.int32()))
    return _by_key(con, "supersession_as_recorded", "batch_loaded", table, 1)


def _by_key(con: duckdb.DuckDBPyConnection, query: str, name: str, table: pa.Table, width: int) -> dict:
    """Rows of a lookup query over a registered key table, by their first `width` columns."""
    with _registered(con, name, table):
        rows = con.execute(warehouse_sql(query)).fetchall()
    return {row[:width] if width > 1 else row[0]: row[width:] for row in rows}


def find_receipts(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> dict[str, tuple]:
    """Receipts already recorded, in one query: submission_id → (status, reason, unit_code, as_of_date,
    report_path)."""
    if not submission_ids:
        return {}
    rows = con.execute(
        "SELECT submission_id, status, reason, unit_code, as_of_date, report_path FROM raw.submissions "
        "WHERE submission_id IN (SELECT unnest(?::VARCHAR[]))", [list(submission_ids)]).fetchall()
    return {row[0]: row[1:] for row in rows}


def first_receipts(con: duckdb.DuckDBPyConnection, shas) -> dict[str, tuple]:
    """find_same_content() of many contents in one query: sha256 → (received_at, submission_id, file_name, status)
    of its first receipt that is not itself a duplicate; contents never recorded are left out."""
    if not shas:
        return {}
    table = pa.table({"sha256": pa.array(sorted(set(shas)), pa.string())})
    return _by_key(con, "first_receipts", "batch_shas", table, 1)


def record_many(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome], reread: pa.Table | None = None) -> None:
    """record() of many outcomes in one transaction, as if recorded one after the other in their order: every
    receipt, issue, figure and fact inserted once per table through Arrow, supersession decided in one statement.

    Each loaded outcome's status and reason become what they were just after it was recorded, and a duplicate
    whose reason is not yet known (the same bytes came earlier, maybe in this batch) gets it from the receipts
    recorded before it: both are worked out here from one lookup each instead of queries per file, which cost
    four milliseconds a file. All or nothing: on an error nothing of the batch is written.

    `reread` (rerecord_many) names receipts read again from the archive: what their earlier reading recorded is
    kept (raw.rereads, raw.reread_facts) and replaced in the same transaction.
    """
    loaded = [o for o in outcomes if o.status == LOADED]
    copies = [o for o in outcomes if o.status == DUPLICATE and o.reason is None]
    issues, facts, figures, rows, decided, headers, unmapped, findings = [], [], [], [], [], [], [], []
    con.execute("BEGIN")
    try:
        if reread is not None:
            with _registered(con, "batch_rereads", reread):
                con.execute(warehouse_sql("record_reread"))
        pairs = _pairs(loaded)
        # each loaded file's state as it stood once recorded (the rule is supersession_as_recorded.sql's), and the
        # first receipt of each copied content
        as_recorded = _as_recorded(con, loaded)
        copied = {o.receipt.sha256 for o in copies}
        first = first_receipts(con, copied)
        status = {row[1]: row[3] for row in first.values()}  # receipt → its status now, as the batch goes on
        for outcome in outcomes:
            r = outcome.receipt
            if outcome.status == DUPLICATE and outcome.reason is None and r.sha256 in first:
                _, first_id, first_name, _ = first[r.sha256]
                outcome.reason = f"same content as {first_name} ({first_id}, {status[first_id]})"
            reason = outcome.reason  # as the row is written: a loaded file's is set just below
            if outcome.status == LOADED:
                now, reason, displaced = as_recorded[r.submission_id]
                if displaced is not None:
                    status[displaced] = SUPERSEDED
                outcome.status = now  # as it stands once recorded (decide_supersession agrees)
                decided.append((outcome, now, reason))
            status[r.submission_id] = outcome.status
            if outcome.status != DUPLICATE and r.sha256 in copied and (
                    r.sha256 not in first or (r.received_at, r.submission_id) < tuple(first[r.sha256][:2])):
                first[r.sha256] = (r.received_at, r.submission_id, r.file_name, outcome.status)
            rows.append({**_submission_row(outcome), "reason": reason})
            issues += [(r.submission_id, i.severity, i.rule, i.sheet, i.cell, i.raw_text, i.message_zh, i.message_en)
                       for i in outcome.issues]
            headers += _header_rows(r.submission_id, outcome.headers)
            unmapped += _unmapped_rows(r.submission_id, outcome.unmapped)
            if outcome.status in (LOADED, SUPERSEDED):
                figures.append(_figures_table(r.submission_id, outcome.cells))
                facts += [(r.submission_id, outcome.unit_code, outcome.as_of_date, f.indicator, f.item_type,
                           float(f.value) if f.value is not None else None, f.qualifier, f.parts_unspecified,
                           " + ".join(f.source_cells), f.raw_text) for f in outcome.facts]
                findings += [(r.submission_id, f.sheet, f.row_number, f.cells, f.rule, f.message_zh, f.message_en)
                             for f in outcome.cross_field]
        for name, table in (("submissions", _submissions_table(rows)),
                            ("issues", _columns(_ISSUES, issues) if issues else None),
                            ("figures", pa.concat_tables(figures) if figures else None),
                            ("facts", _columns(_FACTS, facts, _FACT_TYPES) if facts else None),
                            ("header_readings", _columns(_HEADER_READINGS, headers, _HEADER_READING_TYPES)
                             if headers else None),
                            ("unmapped_cells", _columns(_UNMAPPED_CELLS, unmapped) if unmapped else None),
                            ("cross_field_findings", _columns(_CROSS_FIELD_FINDINGS, findings,
                                                              _CROSS_FIELD_FINDING_TYPES) if findings else None)):
            if table is not None and table.num_rows:
                with _registered(con, f"batch_{name}", table):
                    con.execute(warehouse_sql(f"record_batch_{name}"))
        if loaded:
            decide_supersession(con, pairs)
        if reread is not None:
            with _registered(con, "batch_rereads", reread):
                con.execute(warehouse_sql("reread_recorded"))
        con.execute("COMMIT")
    except Exception:
        rollback(con)
        for outcome in loaded:  # as they were given: nothing of the batch was recorded
            outcome.status = LOADED
        for outcome in copies:
            outcome.reason = None
        raise
    for outcome, now, reason in decided:
        outcome.status, outcome.reason = now, reason
