"""Turn the sheets of one submitted file into its sender, its as-of date and every figure cell it holds."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from transforms.figures import Figure, FigureError, FigureProblem, normalise_text, parse_figure
from transforms.headers import UNIT_WORDS, HeaderCatalogue, HeaderMatch, split_header, unit_scale
from transforms.reference import Reference
from transforms.workbook import Sheet, cell_ref

ERROR, WARNING = "error", "warning"
PART, TOTAL, SUBTOTAL = "part", "total", "subtotal"

_UNIT_KEYS = ("填报单位", "报送单位", "填表单位", "单位名称")
_DATE_KEYS = ("统计截止日期", "统计截至日期", "截止日期", "截至日期", "统计日期", "统计时间", "数据截至", "截止时间", "截至",
              "截止")
_NOTE_KEYS = ("填表说明", "填表人", "审核人", "备注", "联系电话", "负责人", "说明", "注：", "注:")
_LABEL_HEADERS = ("镇", "街道", "乡镇", "单位", "地区", "区域", "名称", "项目", "序号")
_FULL_DATE = re.compile(r"(20\d{2})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})")
_COMPACT_DATE = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_LONG_NAME_HEADERS = ("指标", "指标名称", "项目", "项目名称", "统计项目", "内容")
_LONG_VALUE_HEADERS = ("数量", "数值", "数据", "累计", "累计数", "累计数量", "完成数", "合计", "数")
_LONG_UNIT_HEADERS = ("单位", "计量单位", "计量单位名称")
_HEADER_SEARCH_ROWS = 30


@dataclass(frozen=True)
class Issue:
    """One problem found in a submission, located and explained for the clerk (Chinese first) and in English."""

    rule: str
    severity: str
    message_zh: str
    message_en: str
    sheet: str | None = None
    cell: str | None = None
    raw_text: str | None = None


@dataclass(frozen=True)
class CellFigure:
    """A figure cell as read: where it is, what it counts, and its parsed value or the problem with it."""

    sheet: str
    cell: str
    row: int  # the Excel row number, 1-based
    row_label: str
    row_role: str
    indicator: str
    item_type: str | None
    raw_text: str
    figure: Figure | None
    problem: FigureProblem | None = None
    record: int | None = None  # cells rolled up together; a long list is one record, a wide table a record a row

    @property
    def record_key(self) -> int:
        return self.record if self.record is not None else self.row


@dataclass
class ParsedSubmission:
    """What one file says: sender, as-of date (each with where it was read), figure cells and issues."""

    unit_code: str | None = None
    as_of_date: dt.date | None = None
    unit_source: str | None = None
    date_source: str | None = None
    cells: list[CellFigure] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


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


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_after_key(sheet: Sheet, r: int, c: int, key: str) -> tuple[object, str] | None:
    """The value of a meta line: the rest of the cell after '填报单位：', else the next filled cell to the right."""
    text = _text(sheet.cell(r, c))
    rest = text[text.find(key) + len(key):].lstrip(" :：\t")
    if rest.strip():
        return rest, cell_ref(r, c)
    for cc in range(c + 1, len(sheet.rows[r])):
        if sheet.cell(r, cc) is not None and _text(sheet.cell(r, cc)).strip():
            return sheet.cell(r, cc), cell_ref(r, cc)
    return None


def _is_note(label: str) -> bool:
    return any(label.startswith(k) for k in _NOTE_KEYS)


def _row_role(label: str) -> str:
    if "小计" in label:
        return SUBTOTAL
    if "合计" in label or "总计" in label or label in ("全区", "全县", "全市", "总数"):
        return TOTAL
    return PART


@dataclass(frozen=True)
class _Column:
    """A figure column of a wide table: what it counts and where its header is."""

    match: HeaderMatch
    header: str


@dataclass(frozen=True)
class _Table:
    """Where the figures of a sheet are: a wide table (indicators as columns) or a long list (one a row)."""

    kind: str
    header_row: int  # the last header row; data starts below it
    first_header_row: int
    columns: dict[int, _Column] = field(default_factory=dict)  # wide: figure columns
    unknown: dict[int, str] = field(default_factory=dict)  # wide: header cells that match no indicator
    label_col: int | None = None
    name_col: int = 0  # long: the indicator's name
    value_col: int = 0  # long: the figure
    unit_col: int | None = None  # long: the unit of the figure


class SubmissionParser:
    """Parses the sheets of one file against the reference data; one instance serves many files."""

    def __init__(self, ref: Reference):
        self.ref = ref
        self.headers = HeaderCatalogue(ref)

    def parse(self, sheets: list[Sheet], file_name: str) -> ParsedSubmission:
        out = ParsedSubmission()
        units: list[tuple[str, str, str]] = []  # (unit_code, raw text, where)
        dates: list[tuple[dt.date, str, str]] = []
        for sheet in sheets:
            table = self._find_table(sheet)
            self._read_meta(sheet, table.first_header_row if table else None, units, dates, out)
            if table and table.kind == "wide":
                out.cells.extend(self._read_wide(sheet, table, out))
            elif table:
                out.cells.extend(self._read_long(sheet, table, out))
        self._read_file_name(file_name, units, dates, out)
        out.unit_code, out.unit_source = self._settle("unit", units, out)
        out.as_of_date, out.date_source = self._settle("date", dates, out)
        return out

    # -- where the table is ---------------------------------------------------------------------
    def _find_table(self, sheet: Sheet) -> _Table | None:
        """The header row with the most recognised indicators, or a long list's header; None if neither."""
        best: _Table | None = None
        for r in range(min(len(sheet.rows), _HEADER_SEARCH_ROWS)):
            long = self._long_header(sheet, r)
            if long:
                return long
            wide = self._wide_header(sheet, r)
            if wide.columns and (best is None or len(wide.columns) > len(best.columns)):
                best = wide
        return best

    def _wide_header(self, sheet: Sheet, r: int) -> _Table:
        """Row r as the last header row; a row above counts where its cells are merged over row r's.

        Files that carry no merge information (.ods as read, .csv) get the same reading from the layout:
        a header alone above an empty cell spans both rows, a group header spans the empty cells to its right.
        """
        known_merges = bool(sheet.merged)
        groups = (_merged_across(sheet, r - 1) if known_merges else _filled_right(sheet, r - 1)) if r > 0 else {}
        spans_down = _merged_down(sheet, r - 1) if r > 0 and known_merges else set()
        columns, unknown, first = {}, {}, r
        width = max(len(sheet.rows[r]), len(sheet.rows[r - 1]) if r > 0 else 0)
        for c in range(width):
            bottom, above = sheet.cell(r, c), sheet.cell(r - 1, c) if r > 0 else None
            if c in spans_down:  # one header cell merged over both header rows
                header, match = _text(above), self.headers.match(above)
                first = r - 1
            elif bottom is not None and _text(bottom).strip():
                header, match = _text(bottom), self.headers.match(bottom)
                if match is None and c in groups:  # 发放物资 over 合计 | 棉被 | 棉衣
                    match = self.headers.match(groups[c], bottom)
                    if match:
                        header, first = _text(groups[c]) + header, r - 1
            elif not known_merges and above is not None and self.headers.match(above):
                header, match, first = _text(above), self.headers.match(above), r - 1
            else:
                continue
            if match:
                columns[c] = _Column(match, header)
            else:
                unknown[c] = header
        if not columns:
            return _Table("wide", r, r)
        columns, units_row = _apply_units_row(sheet, r + 1, columns)
        label_col = _label_column(sheet, r, min(columns))
        unknown = {c: h for c, h in unknown.items() if c != label_col and normalise_text(h) not in ("序号", "")}
        return _Table("wide", r + units_row, first, columns, unknown, label_col)

    def _long_header(self, sheet: Sheet, r: int) -> _Table | None:
        cells = {c: normalise_text(_text(v)) for c, v in enumerate(sheet.rows[r]) if v is not None}
        name = next((c for c, t in cells.items() if t in _LONG_NAME_HEADERS), None)
        value = next((c for c, t in cells.items() if t in _LONG_VALUE_HEADERS and c != name), None)
        if name is None or value is None or self._wide_header(sheet, r).columns:
            return None
        unit = next((c for c, t in cells.items() if t in _LONG_UNIT_HEADERS and c not in (name, value)), None)
        return _Table("long", r, r, name_col=name, value_col=value, unit_col=unit)

    # -- meta lines: sender and date ------------------------------------------------------------
    def _read_meta(self, sheet: Sheet, header_row: int | None, units: list, dates: list, out: ParsedSubmission) -> None:
        """填报单位 and 统计截止日期 lines above the table: each value found, or an issue where it cannot be read."""
        campaign = self.ref.campaign
        readers = (
            (_UNIT_KEYS, units, lambda raw: (u.code if (u := self.ref.find_unit(_text(raw))) else None), (
                "unknown-unit",
                "填报单位“{raw}”不在单位名录中，请填写单位全称（如“浈江区民政局”）",
                "the reporting unit '{raw}' is not in the list of units — write its full name (e.g. 浈江区民政局)")),
            (_DATE_KEYS, dates, lambda raw: parse_date(raw, campaign.start_date, campaign.end_date), (
                "bad-date",
                "统计截止日期“{raw}”无法识别，请写成 2023-12-20 或 2023年12月20日",
                "the as-of date '{raw}' cannot be read — write it as 2023-12-20 or 2023年12月20日")),
        )
        last = header_row if header_row is not None else min(len(sheet.rows), _HEADER_SEARCH_ROWS)
        for r in range(last):
            for c, value in enumerate(sheet.rows[r]):
                text = normalise_text(_text(value))
                for keys, found_values, read, (rule, zh, en) in readers:
                    key = next((k for k in keys if k in text), None) if text else None
                    found = _value_after_key(sheet, r, c, key) if key else None
                    if not found:
                        continue
                    raw, where = found
                    meaning = read(raw)
                    if meaning:
                        found_values.append((meaning, _text(raw), f"{sheet.name}!{where}"))
                    else:
                        out.issues.append(Issue(rule, ERROR, zh.format(raw=_text(raw)), en.format(raw=_text(raw)),
                                                sheet.name, where, _text(raw)))
                    break  # a cell is one meta line: 填报单位 before 日期

    def _read_file_name(self, file_name: str, units: list, dates: list, out: ParsedSubmission) -> None:
        # Read even when the sheet says it too: a file name that disagrees with the sheet is a rejection.
        stem = Path(file_name).stem
        unit = self.ref.find_unit(stem)
        if unit:
            units.append((unit.code, stem, "文件名 file name"))
        day = parse_date(stem, self.ref.campaign.start_date, self.ref.campaign.end_date)
        if day:
            dates.append((day, stem, "文件名 file name"))

    def _settle(self, what: str, found: list, out: ParsedSubmission) -> tuple[object, str | None]:
        """One value from all sources, or an issue: sources that disagree are a rejection, never a guess."""
        values = {v for v, _, _ in found}
        if len(values) == 1:
            return found[0][0], found[0][2]  # the first source read: the sheet before the file name
        if len(values) > 1:
            listing = "; ".join(f"{where} “{raw}”" for _, raw, where in found)
            zh_what, en_what = ("填报单位", "reporting unit") if what == "unit" else ("统计截止日期", "as-of date")
            in_sheet = next(((where, raw) for _, raw, where in found if "!" in where), None)
            sheet, _, cell = in_sheet[0].partition("!") if in_sheet else (None, None, None)
            out.issues.append(Issue(
                f"conflicting-{what}", ERROR,
                f"{zh_what}前后不一致（{listing}），请统一为同一{zh_what}",
                f"the file gives different {en_what}s ({listing}) — make them agree",
                sheet, cell or None, in_sheet[1] if in_sheet else listing))
        return None, None

    # -- figures ---------------------------------------------------------------------------------
    def _read_wide(self, sheet: Sheet, table: _Table, out: ParsedSubmission) -> list[CellFigure]:
        for c, header in table.unknown.items():
            out.issues.append(_unknown_header(sheet.name, cell_ref(table.header_row, c), header))
        cells = []
        for r in range(table.header_row + 1, len(sheet.rows)):
            label = normalise_text(_text(sheet.cell(r, table.label_col))) if table.label_col is not None else ""
            if _is_note(_first_text(sheet.rows[r])):
                break
            for c, column in table.columns.items():
                raw = sheet.cell(r, c)
                cell = self._cell(sheet, r, c, label or f"第{r + 1}行", _row_role(label), column.match, raw)
                if cell:
                    cells.append(cell)
        return cells

    def _read_long(self, sheet: Sheet, table: _Table, out: ParsedSubmission) -> list[CellFigure]:
        cells = []
        for r in range(table.header_row + 1, len(sheet.rows)):
            name = sheet.cell(r, table.name_col)
            if _is_note(_first_text(sheet.rows[r])):
                break
            if name is None or not _text(name).strip():
                continue
            unit = _text(sheet.cell(r, table.unit_col)).strip() if table.unit_col is not None else ""
            match = self.headers.match(f"{_text(name)}（{unit}）" if unit else name)
            if match is None:
                out.issues.append(_unknown_header(sheet.name, cell_ref(r, table.name_col), _text(name)))
                continue
            # A long list is one record: 发放物资 and its 棉被/棉衣 breakdown lines are not added together.
            cell = self._cell(sheet, r, table.value_col, normalise_text(_text(name)), PART, match,
                              sheet.cell(r, table.value_col), record=table.header_row)
            if cell:
                cells.append(cell)
        return cells

    def _cell(self, sheet: Sheet, r: int, c: int, label: str, role: str, match: HeaderMatch, raw: object,
              record: int | None = None) -> CellFigure | None:
        """The figure cell at (r, c), or None where the cell holds no figure (empty, a dash, 无)."""
        try:
            figure, problem = parse_figure(raw, match.scale), None
        except FigureError as exc:
            figure, problem = None, exc.problem
        if figure is None and problem is None:
            return None
        return CellFigure(sheet.name, cell_ref(r, c), r + 1, label, role, match.indicator, match.item_type,
                          _text(raw), figure, problem, record)


def _first_text(row: list[object]) -> str:
    return next((normalise_text(_text(v)) for v in row if v is not None and _text(v).strip()), "")


def _unknown_header(sheet: str, cell: str, header: str) -> Issue:
    return Issue(
        "unknown-header", WARNING,
        f"表头“{header}”不是已知指标，该列未导入；如需导入请使用标准表头或在指标目录中添加别名",
        f"the header '{header}' matches no indicator and was not loaded — use a standard header or add an "
        "alias to data/reference/indicators.csv",
        sheet, cell, header)


def _label_column(sheet: Sheet, header_row: int, first_figure_col: int) -> int | None:
    """The column naming each row (镇/街道): a labelled one left of the figures, else the first non-序号 one."""
    headers = {c: normalise_text(_text(sheet.cell(header_row, c)) or _text(sheet.cell(header_row - 1, c)))
               for c in range(first_figure_col)}
    for c, header in headers.items():
        if header and header != "序号" and any(k in header for k in _LABEL_HEADERS):
            return c
    candidates = [c for c, header in headers.items() if header != "序号"]
    return candidates[0] if candidates else None


def _merged_across(sheet: Sheet, r: int) -> dict[int, object]:
    """Group headers in row r: a cell merged across several columns, its value spread over each of them."""
    filled: dict[int, object] = {}
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 <= r <= r1 and c1 > c0 and sheet.cell(r0, c0) is not None:
            for c in range(c0, c1 + 1):
                filled[c] = sheet.cell(r0, c0)
    return filled


def _filled_right(sheet: Sheet, r: int) -> dict[int, object]:
    """Row r's texts spread right over the empty cells after them: group headers where merges are unknown."""
    filled, current = {}, None
    for c, value in enumerate(sheet.rows[r]):
        current = value if value is not None and _text(value).strip() else current
        if current is not None:
            filled[c] = current
    return filled


def _apply_units_row(sheet: Sheet, r: int, columns: dict[int, _Column]) -> tuple[dict[int, _Column], int]:
    """A row of units under the header (户 | 万元 | 床): its scales apply to the columns, and it is no data."""
    if r >= len(sheet.rows):
        return columns, 0
    texts = {c: split_header(f"x({_text(sheet.cell(r, c))})")[1] for c in columns if sheet.cell(r, c) is not None}
    if not texts or not all(t and (t in UNIT_WORDS or t[1:] in UNIT_WORDS) for t in texts.values()):
        return columns, 0
    scaled = {c: _Column(replace(col.match, scale=unit_scale(texts[c]), unit=texts[c]) if c in texts else col.match,
                         col.header) for c, col in columns.items()}
    return scaled, 1


def _merged_down(sheet: Sheet, r: int) -> set[int]:
    """Columns whose cell in row r is merged down into row r + 1 (a header spanning two header rows)."""
    return {c for (r0, c0), (r1, c1) in sheet.merged if r0 == r and r1 >= r + 1 for c in range(c0, c1 + 1)}
