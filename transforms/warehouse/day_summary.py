"""What a day looks like in the warehouse: headline, every indicator, every expected unit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from transforms.warehouse import sql


@dataclass(frozen=True)
class DaySummary:
    """The day's figures as plain rows (dicts), ready to print, publish or compare."""

    day: dt.date
    headline: dict | None
    totals: list[dict]
    units: list[dict]

    @property
    def missing(self) -> list[dict]:
        return [u for u in self.units if u["day_status"] == "missing"]


def _rows(con: duckdb.DuckDBPyConnection, name: str, day: dt.date) -> list[dict]:
    cursor = con.execute(sql(name), {"day": day})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def day_summary(con: duckdb.DuckDBPyConnection, day: dt.date) -> DaySummary:
    """Read day `day` from the marts."""
    headline = _rows(con, "day_headline", day)
    return DaySummary(day, headline[0] if headline else None, _rows(con, "day_city_totals", day),
                      _rows(con, "day_units", day))
