"""The lines above a table that say who sent it and as of when (填报单位, 统计截止日期, 截至X月X日)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from transforms.core.figures import normalise_text
from transforms.core.problems import Problem, problem
from transforms.core.reference import Reference
from transforms.read.workbook import Sheet, cell_ref

UNIT_KEYS = ("填报单位", "报送单位", "填表单位", "单位名称", "报送部门", "填报部门")
DATE_KEYS = ("统计截止日期", "统计截至日期", "统计截止时间", "统计截至时间", "截止日期", "截至日期", "统计日期", "统计时间",
             "数据截至", "数据截止", "截止时间", "截至时间", "报送日期", "填报日期", "截至", "截止")
NOTE_KEYS = ("填表说明", "填表人", "审核人", "备注", "联系电话", "负责人", "说明", "注：", "注:")
SEARCH_ROWS = 30  # meta lines, and a table's header, are looked for this far down a sheet
_FULL_DATE = re.compile(r"(20\d{2})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})")
_COMPACT_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_KEYS = tuple(sorted(UNIT_KEYS + DATE_KEYS, key=len, reverse=True))
_SEPARATORS = " :：\t"


def parse_date(value: object, campaign_start: dt.date, campaign_end: dt.date) -> dt.date | None:
    """A date as officials write it; '12月20日' takes the campaign year that puts it inside the campaign."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None:
        return None
    text = normalise_text(str(value))
    for pattern in (_FULL_DATE, _COMPACT_DATE):
        match = pattern.search(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
    match = _MONTH_DAY.search(text)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        for year in range(campaign_start.year, campaign_end.year + 1):
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                return None
            if campaign_start <= candidate <= campaign_end:
                return candidate
        try:
            return dt.date(campaign_start.year, month, day)
        except ValueError:
            return None
    return None


def cell_text(value: object) -> str:
    """A cell as text; a whole number read as a float (12.0) without its '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_note(label: str) -> bool:
    """Whether a row starting with `label` is a note under the table (填表人, 备注 …), which ends the table."""
    return any(label.startswith(k) for k in NOTE_KEYS)


@dataclass(frozen=True)
class MetaValue:
    """A value read from a meta line: what it means, the text it was read from, and where."""

    meaning: object
    raw: str
    where: str


def _key_spans(text: str) -> list[tuple[int, int, str]]:
    """Each meta key in a cell's text (longest first, no overlaps), in the order written."""
    spans: list[tuple[int, int, str]] = []
    for key in _KEYS:
        start = text.find(key)
        while start >= 0:
            end = start + len(key)
            if not any(a < end and start < b for a, b, _ in spans):
                spans.append((start, end, key))
            start = text.find(key, end)
    return sorted(spans)


def _segments(sheet: Sheet, r: int, c: int) -> list[tuple[str, object, str]]:
    """(key, value, where) of each meta line in cell (r, c): several may share one cell (填报单位：X　统计截止日期：Y);
    the last key's value may sit in the next filled cell to the right instead."""
    raw = cell_text(sheet.cell(r, c))
    text = normalise_text(raw)
    spans = _key_spans(text)
    found = []
    for n, (start, end, key) in enumerate(spans):
        stop = spans[n + 1][0] if n + 1 < len(spans) else len(text)
        value = text[end:stop].strip(_SEPARATORS)
        if value:
            # the text as written, when the cell holds one key only: keeps the spaces a clerk typed
            shown = raw[raw.find(key) + len(key):].strip(_SEPARATORS) if len(spans) == 1 and key in raw else value
            found.append((key, shown, cell_ref(r, c)))
        elif n + 1 == len(spans):
            for cc in range(c + 1, len(sheet.rows[r])):
                if cell_text(sheet.cell(r, cc)).strip():
                    found.append((key, sheet.cell(r, cc), cell_ref(r, cc)))
                    break
    return found


def read_meta(sheet: Sheet, header_row: int | None, ref: Reference) -> tuple[list[MetaValue], list[MetaValue],
                                                                               list[Problem]]:
    """The units and dates written above the table (or in the first rows of a sheet without one), and an issue
    for each that cannot be read."""
    campaign = ref.campaign
    units: list[MetaValue] = []
    dates: list[MetaValue] = []
    issues: list[Problem] = []
    last = header_row if header_row is not None else min(len(sheet.rows), SEARCH_ROWS)
    taken: set[str] = set()  # a value to the right of its key is not read again as a cell of its own
    for r in range(last):
        for c, value in enumerate(sheet.rows[r]):
            if value is None or cell_ref(r, c) in taken:
                continue
            for key, raw, where in _segments(sheet, r, c):
                taken.add(where)
                if key in UNIT_KEYS:
                    unit = ref.find_unit(cell_text(raw))
                    if unit:
                        units.append(MetaValue(unit.code, cell_text(raw), f"{sheet.name}!{where}"))
                    else:
                        issues.append(problem("unknown-unit", variant="written", sheet=sheet.name, cell=where,
                                              raw_text=cell_text(raw), text=cell_text(raw)))
                elif key in ("截至", "截止") and not any(ch.isdigit() for ch in normalise_text(cell_text(raw))):
                    continue  # "数据截至当日" in a note: no date written, nothing to read
                else:
                    day = parse_date(raw, campaign.start_date, campaign.end_date)
                    if day:
                        dates.append(MetaValue(day, cell_text(raw), f"{sheet.name}!{where}"))
                    else:
                        issues.append(problem("bad-date", sheet=sheet.name, cell=where, raw_text=cell_text(raw),
                                              text=cell_text(raw)))
    return units, dates, issues
