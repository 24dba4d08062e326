"""figures.csv: every figure printed in a bulletin, the query behind it and the workbook cells it came from."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from transforms.bulletin.text import Bulletin
from transforms.core.safe_text import csv_text, redact_personal

COLUMNS = ("figure_id", "text_as_published", "indicator", "item_type", "unit_code", "unit_name", "value",
           "qualifier", "as_of_date", "query", "submission_id", "file_name", "source_unit_code", "source_unit_name",
           "source_cells", "source_text", "source_value", "source_qualifier", "unread_cells")
# unread_cells: figure cells of the counted files that could not be read and may belong to the figure (it may be
# short of them; the bulletin's notes say so). File names and sheet names come from outside: text cells are defused against formulas, and phone and identity
# numbers in a file name are masked (transforms/core/safe_text.py).


def lineage_rows(bulletin: Bulletin) -> list[dict[str, str]]:
    """One row per figure and unit figure behind it (a city-wide sum has one per contributing submission)."""
    rows = []
    for p in bulletin.published:
        figure = {"figure_id": p.figure_id, "text_as_published": p.text, "indicator": p.indicator,
                  "item_type": p.item_type, "unit_code": p.unit_code, "unit_name": p.unit_name,
                  "value": p.value, "qualifier": p.qualifier,
                  "query": f"{p.query}.sql ($day = {bulletin.day.isoformat()})",
                  "unread_cells": p.unread_cells or None}
        if not p.sources:
            rows.append({**figure, "as_of_date": bulletin.day})
        for s in p.sources:
            rows.append({**figure, "as_of_date": s.report_date, "submission_id": s.submission_id,
                         "file_name": redact_personal(s.file_name), "source_unit_code": s.unit_code,
                         "source_unit_name": s.unit_name,
                         "source_cells": s.source_cells, "source_text": s.raw_text, "source_value": s.value,
                         "source_qualifier": s.qualifier})
    return [{column: cell(row.get(column)) for column in COLUMNS} for row in rows]


def cell(value: object) -> str:
    """A CSV cell: numbers without float noise (24684, 370.5), dates ISO, text defused against formulas."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    return csv_text(str(value))


def write_figures_csv(rows: list[dict[str, str]], path: Path) -> None:
    """Write the rows as UTF-8 with a byte-order mark, so Excel shows the Chinese text."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
