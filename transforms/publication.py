"""Recording that a day was published: when, whether forced past blocking checks, and the figures as they stood."""

from __future__ import annotations

import datetime as dt

import duckdb

from transforms.checks import CheckResult
from transforms.warehouse import sql


def record_publication(con: duckdb.DuckDBPyConnection, day: dt.date, forced: bool,
                       blocking: list[CheckResult]) -> None:
    """Keep the day's city totals as published, so a later correction to them can be called out."""
    now = dt.datetime.now(dt.timezone.utc)
    con.execute("BEGIN")
    try:
        con.execute("INSERT INTO raw.publications VALUES (?, ?, ?, ?)",
                    [day, now, forced, "\n".join(f"{r.check}: {r.message_en}" for r in blocking) or None])
        con.execute(sql("record_published_figures"), {"day": day, "published_at": now})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def corrections_since_publication(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[dict]:
    """City figures of days before `day` that changed after they were published."""
    cursor = con.execute(sql("corrections_before_day"), {"day": day})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
