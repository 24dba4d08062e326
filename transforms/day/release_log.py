"""Recording that a day was published: when, whether forced past blocking checks and why, and the figures as they
stood with the text the bulletin printed for each."""

from __future__ import annotations

import datetime as dt

import duckdb

from transforms.day.gate import GateDecision
from transforms.warehouse import rollback, rows, sql


def record_publication(con: duckdb.DuckDBPyConnection, decision: GateDecision, printed: dict[str, str]) -> None:
    """Keep the day's city totals as published and the text each was printed as (`printed`, by indicator), so a
    later correction is called out only when what was printed no longer holds."""
    now = dt.datetime.now(dt.timezone.utc)
    blocking = "\n".join(f"{r.check}: {r.message_en}" for r in decision.blocking) if decision.forced else ""
    con.execute("BEGIN")
    try:
        con.execute("INSERT INTO raw.publications (as_of_date, published_at, forced, blocking_checks, force_reason) "
                    "VALUES (?, ?, ?, ?, ?)", [decision.day, now, decision.forced, blocking or None,
                                               decision.force_reason if decision.forced else None])
        con.execute(sql("record_published_figures"),
                    {"day": decision.day, "published_at": now, "printed_indicators": list(printed),
                     "printed_texts": list(printed.values())})
        con.execute("COMMIT")
    except Exception:
        rollback(con)
        raise


def corrections_since_publication(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[dict]:
    """City figures of days before `day` that changed after they were published."""
    return rows(con, "corrections_before_day", {"day": day})
