"""Figures a unit's counted file holds that were not loaded: what the status lists, and what the bulletin says may
be short because of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from transforms.warehouse import sql

# why a cell was not loaded → (Chinese, English)
REASONS = {
    "unknown": ("表头不是已知指标", "the header is no known indicator"),
    "ambiguous": ("表头可能是几项指标之一", "the header could be several indicators"),
    "contradictory": ("计量单位与表头文字不符", "the measure contradicts the header's words"),
    "weak": ("表头没有计量单位，无法确认", "no measure: too weak to decide"),
    "unfamiliar": ("表头含未识别的词，需确认", "the header has a word the reader does not know: to be confirmed"),
    "excluded": ("不属于累计统计的数字（采购、当日、比率等）", "not a figure of the count (bought, one day's, a rate …)"),
    "breakdown": ("“其中”分项，已含在总数中", "a breakdown (其中) already in another figure"),
    "no-header": ("所在列没有表头", "in a column without a header"),
    "no-table": ("所在工作表没有可识别的统计表", "on a sheet with no recognised table"),
}
# Reasons that can leave a catalogue figure out of the totals; excluded and breakdown figures are understood and
# rightly not counted.
SHORTENING = ("unknown", "ambiguous", "contradictory", "weak", "unfamiliar", "no-header", "no-table")


@dataclass(frozen=True)
class Unread:
    """Figures under one header of a unit's counted file that were not loaded."""

    unit_code: str
    unit_name: str
    submission_id: str
    file_name: str
    sheet: str
    header: str
    reason: str
    candidates: tuple[str, ...]
    detail: str
    cells: int
    first_cell: str
    first_text: str

    @property
    def shortens(self) -> bool:
        """Whether a figure the catalogue counts may be among these cells."""
        return self.reason in SHORTENING

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.first_cell}"


def day_unread(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[Unread]:
    """Every header whose figures were not loaded, in each unit's file that counts on `day`."""
    cursor = con.execute(sql("day_unread"), {"day": day})
    names = [d[0] for d in cursor.description]
    found = []
    for row in cursor.fetchall():
        r = dict(zip(names, row))
        found.append(Unread(r["unit_code"], r["unit_name"], r["submission_id"], r["file_name"], r["sheet"],
                            r["header"], r["reason"], tuple(c for c in r["candidates"].split(",") if c), r["detail"],
                            r["cells"], r["first_cell"], r["first_text"]))
    return found


def may_be_short(unread: list[Unread]) -> dict[str, dict[str, int]]:
    """unit_code → {indicator: cells}: the indicators a unit's figure (and so the city's) may be short of, with the
    number of unread cells that could belong to it."""
    short: dict[str, dict[str, int]] = {}
    for u in unread:
        if u.shortens:
            for code in u.candidates:
                short.setdefault(u.unit_code, {}).setdefault(code, 0)
                short[u.unit_code][code] += u.cells
    return short
