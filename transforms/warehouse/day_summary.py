"""What a day looks like in the warehouse: headline, every indicator, every expected unit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from transforms.warehouse import rows


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


def day_summary(con: duckdb.DuckDBPyConnection, day: dt.date) -> DaySummary:
    """Read day `day` from the marts."""
    headline = rows(con, "day_headline", {"day": day})
    return DaySummary(day, headline[0] if headline else None, rows(con, "day_city_totals", {"day": day}),
                      rows(con, "day_units", {"day": day}))
