"""The standard submission workbook: blank for clerks (`warmline template`), filled for the demo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter

from transforms.core.reference import Reference

SHEET_NAME = "统计表"
LABEL_HEADER = "镇（街道）"
TOTAL_LABEL = "合计"
BLANK_ROWS = 12
NOTES = (
    "填表说明：数字只填阿拉伯数字，单位已在表头；“余”“约”“若干”可照实填写（如 1000余、约370.5万）；"
    "没有数据的格子留空，不要填 0；合计行可不填，系统会按各行相加。",
    "填表人：              审核人：              联系电话：",
)


@dataclass
class FilledRow:
    """One row of a filled workbook: a label and cell texts by header."""

    label: str
    cells: dict[str, object] = field(default_factory=dict)


def write_submission(target: Path, ref: Reference, unit_name: str = "", as_of: dt.date | None = None,
                     rows: list[FilledRow] | None = None, total: FilledRow | None = None) -> Path:
    """Write the standard workbook to `target`; blank when no rows are given."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Text is written as text: a label or sender starting with = stays a string, never becomes a formula.
    workbook = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False})
    # A fixed creation time makes the same content the same bytes, so a re-sent file is seen as a duplicate.
    created = dt.datetime.combine(as_of or ref.campaign.start_date, dt.time(0, 0))
    workbook.set_properties({"created": created, "author": unit_name or "warmline", "title": SHEET_NAME})
    sheet = workbook.add_worksheet(SHEET_NAME)
    title = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
    header = workbook.add_format({"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter",
                                  "border": 1, "bg_color": "#DDEBF7"})
    body = workbook.add_format({"border": 1})
    text = workbook.add_format({"border": 1, "num_format": "@"})  # text cells keep 48万余 as written
    bold = workbook.add_format({"border": 1, "bold": True})
    columns = [c.header for c in ref.template]  # template.csv, left to right
    last_col = len(columns)
    sheet.merge_range(0, 0, 0, last_col, f"{ref.campaign.name}统计表", title)
    sheet.write(1, 0, "填报单位：")
    sheet.write(1, 1, unit_name)
    sheet.write(2, 0, "统计截止日期：")
    sheet.write(2, 1, as_of.isoformat() if as_of else "")
    sheet.write(2, 3, f"（累计数，自{ref.campaign.start_date:%Y年%m月%d日}起）".replace("年0", "年").replace("月0", "月"))
    sheet.write(3, 0, LABEL_HEADER, header)
    for c, head in enumerate(columns, start=1):
        sheet.write(3, c, head, header)
    sheet.set_row(3, 36)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, last_col, 11)
    filled = rows or [FilledRow("") for _ in range(BLANK_ROWS)]
    r = 4
    for row in filled:
        sheet.write(r, 0, row.label, body)
        for c, head in enumerate(columns, start=1):
            _write_cell(sheet, r, c, row.cells.get(head), body, text)
        r += 1
    sheet.write(r, 0, TOTAL_LABEL, bold)
    for c, head in enumerate(columns, start=1):
        _write_cell(sheet, r, c, total.cells.get(head) if total else None, body, text)
    for n, note in enumerate(NOTES):
        sheet.write(r + 2 + n, 0, note)
    sheet.freeze_panes(4, 1)
    workbook.close()
    return target


def _write_cell(sheet, r: int, c: int, value: object, body, text) -> None:
    if value is None:
        sheet.write_blank(r, c, None, body)
    elif isinstance(value, (int, float)):
        sheet.write_number(r, c, value, body)
    else:
        sheet.write_string(r, c, str(value), text)
