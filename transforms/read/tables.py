"""Where a sheet's figures are, and reading them: a wide table (indicators as columns, a row per town) or a list
(one indicator a row), with every header's reading and every figure cell that could not be loaded."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace

from transforms.core.figures import NO_FIGURE, normalise_text, parse_figure
from transforms.core.problems import Problem, ProblemFound, problem
from transforms.read.headers import HeaderCatalogue, HeaderMatch, HeaderMiss
from transforms.read.meta_lines import SEARCH_ROWS, UNIT_KEYS, DATE_KEYS, cell_text, is_note
from transforms.read.parsed import (PART, SUBTOTAL, TOTAL, UNMAPPED, CellFigure, HeaderReading, UnmappedCell)
from transforms.read.workbook import Sheet, cell_ref

LABEL_HEADERS = ("镇", "街道", "乡镇", "单位", "地区", "区域", "名称", "项目", "村", "社区")
SERIAL_HEADERS = ("序号", "编号", "序")
NOTE_HEADERS = ("备注", "说明", "备注说明", "情况说明", "联系人", "联系电话", "填报人", "负责人", "审核人", "电话", "备考")
LIST_NAME_HEADERS = ("指标", "指标名称", "项目", "项目名称", "统计项目", "内容", "工作内容", "统计指标", "名称", "工作项目",
                     "指标项目", "统计内容", "主要指标")
LIST_CATEGORY_HEADERS = ("类别", "分类", "项目类别", "工作类别", "大项", "类型", "板块", "工作类型")
LIST_VALUE_HEADERS = ("数量", "数值", "数据", "累计", "累计数", "累计数量", "完成数", "合计", "数", "本期累计", "累计完成",
                      "累计完成数", "完成情况", "总数", "总计", "实际完成", "完成数量", "统计数", "累计情况", "截至目前累计",
                      "累计值", "数目", "累计完成情况", "本年累计", "活动累计")
LIST_DAILY_HEADERS = ("本日", "当日", "今日", "当天", "本周", "新增", "当日新增", "本日新增", "今日新增", "本期", "本月",
                      "本期新增", "本周新增", "日报")
LIST_UNIT_HEADERS = ("单位", "计量单位", "计量单位名称", "计算单位")
_ENUMERATION = re.compile(r"^(?:[(（]?[一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十\d]{1,3}[、.．])")
NO_HEADER = "no-header"  # a figure in a column with no header text at all
NO_TABLE = "no-table"  # a figure on a sheet where no table was found


def row_role(label: str) -> str:
    if "小计" in label:
        return SUBTOTAL
    if "合计" in label or "总计" in label or label in ("全区", "全县", "全市", "总数"):
        return TOTAL
    return PART


@dataclass(frozen=True)
class Column:
    """A header of a wide table, or a list row's name: what it says (its cells from top to bottom) and how it was
    read. Its text and place are worked out only for the table chosen: most rows looked at are not one."""

    found: HeaderMatch | HeaderMiss | None
    parts: tuple
    where: tuple[int, int]  # the header cell (row, column), zero-based
    unit: str | None = None

    @property
    def match(self) -> HeaderMatch | None:
        return self.found if isinstance(self.found, HeaderMatch) else None

    @functools.cached_property
    def header(self) -> str:
        """As written; a group header and its column joined with ' / '."""
        return _display(self.parts)

    @functools.cached_property
    def cell(self) -> str:
        return cell_ref(*self.where)


@dataclass(frozen=True)
class Table:
    """Where a sheet's figures are: a wide table or a list, and its header's reading."""

    kind: str  # wide | long
    header_row: int  # the last header row; data start below it
    first_header_row: int
    columns: dict[int, Column] = field(default_factory=dict)  # wide: every figure column, read or not
    label_col: int | None = None
    name_col: int = 0  # long: the indicator's name
    value_col: int = 0  # long: the figure
    unit_col: int | None = None  # long: the measure of the figure
    category_col: int | None = None  # long: a group the name belongs to (走访慰问 | 户数)
    other_cols: dict[int, str] = field(default_factory=dict)  # long: value columns not read (本日 …): header text
    skipped: frozenset[int] = frozenset()  # wide: label, 序号 and 备注 columns: no figures in them

    @property
    def mapped(self) -> int:
        return sum(1 for c in self.columns.values() if c.match)

    @property
    def suggested(self) -> int:
        """Headers not read that could be an indicator (ambiguous, contradictory …): a table all the same."""
        return sum(1 for c in self.columns.values() if isinstance(c.found, HeaderMiss) and c.found.candidates)


@dataclass
class SheetReading:
    """A sheet's figure cells, header readings and unmapped cells."""

    cells: list[CellFigure] = field(default_factory=list)
    headers: list[HeaderReading] = field(default_factory=list)
    unmapped: list[UnmappedCell] = field(default_factory=list)


def _norm(value: object) -> str:
    return normalise_text(cell_text(value)) if value is not None else ""


_META = re.compile("|".join(map(re.escape, UNIT_KEYS + DATE_KEYS)))


def _is_meta(text: str) -> bool:
    return _META.search(text) is not None


def _texts(row: list[object]) -> int:
    """How many cells of a row hold text (not numbers): a header row names two columns at least."""
    return sum(1 for v in row if isinstance(v, str) and v.strip() and not v.strip().replace(".", "", 1).isdigit())


def _is_figure_text(value: object) -> bool:
    """A cell that holds a figure, or tries to (一百二十户, 90%): a number, 若干, 48万余, digits; not a town's name."""
    if value is None or _norm(value).lower() in NO_FIGURE:
        return False
    try:
        return parse_figure(value) is not None
    except ProblemFound as exc:
        return exc.problem.rule == "unit-in-cell" or any(ch.isdigit() for ch in _norm(value))


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return value == value
    try:
        figure = parse_figure(value)
    except ProblemFound:
        return False
    return figure is not None and figure.value is not None


def _display(parts: tuple) -> str:
    return " / ".join(cell_text(p).strip() for p in parts if p is not None and cell_text(p).strip())


class TableReader:
    """Finds and reads the table of a sheet against the header catalogue; one instance serves many files."""

    def __init__(self, headers: HeaderCatalogue):
        self.headers = headers

    # -- where the table is ---------------------------------------------------------------------------
    def find(self, sheet: Sheet) -> Table | None:
        """The header row with the most recognised indicators, or a list's header; None if neither.

        A row whose headers name no indicator but could be some (ambiguous, or a measure that contradicts the
        words) is still the table when nothing better is found: its figures are listed, never ignored.
        """
        best: Table | None = None
        best_score = (0, 0, False)
        for r in range(min(len(sheet.rows), SEARCH_ROWS)):
            if best is not None and best_score[2] and r > best.header_row + 2:
                break  # a header with figures under it: the rows below are its data
            if _texts(sheet.rows[r]) < 2:  # a row of figures, a title or a meta line: no header
                continue
            wide = self._wide_header(sheet, r)
            listed = None if wide.mapped else self._list_header(sheet, r)
            if listed:
                return listed
            if not (wide.mapped or wide.suggested) or (wide.mapped, wide.suggested) < best_score[:2]:
                continue
            score = (wide.mapped, wide.suggested, self._data_below(sheet, wide.header_row))
            if score > best_score:
                best, best_score = wide, score
        return best

    @staticmethod
    def _data_below(sheet: Sheet, r: int) -> bool:
        return r + 1 < len(sheet.rows) and any(_is_number(v) for v in sheet.rows[r + 1])

    def _wide_header(self, sheet: Sheet, r: int) -> Table:
        """Row r as the last header row; a row above counts where its cells are merged over row r's.

        Files that carry no merge information (.ods as read, .csv) get the same reading from the layout:
        a header alone above an empty cell spans both rows, a group header spans the empty cells to its right.
        A row of measure words under the headers (户 | 万元 | 床) gives their measures.
        """
        known_merges = bool(sheet.merged)
        above_ok = r > 0 and self._header_row_above(sheet, r - 1)
        groups = (_merged_across(sheet, r - 1) if known_merges else _filled_right(sheet, r - 1)) if above_ok else {}
        spans_down = _merged_down(sheet, r - 1) if above_ok and known_merges else set()
        units = self._units_row(sheet, r + 1)
        width = max(len(sheet.rows[r]), len(sheet.rows[r - 1]) if r > 0 else 0)
        columns: dict[int, Column] = {}
        skipped: set[int] = set()
        first = r
        for c in range(width):
            bottom, above = sheet.cell(r, c), sheet.cell(r - 1, c) if r > 0 else None
            if c in spans_down:  # one header cell merged over both header rows
                parts, where = (above,), (r - 1, c)
            elif _norm(bottom):
                parts, where = ((groups[c], bottom) if c in groups else (bottom,)), (r, c)
            elif above_ok and not known_merges and _norm(above):
                parts, where = (above,), (r - 1, c)
            else:
                continue
            text = _norm(parts[-1])
            if text in SERIAL_HEADERS or text in NOTE_HEADERS or text.startswith("备注") or _is_meta(text):
                skipped.add(c)
                continue
            found = self.headers.read(*parts, unit=units.get(c))
            columns[c] = Column(found, parts, where, units.get(c))
            if isinstance(found, HeaderMatch) and (where[0] < r or len(parts) > 1):
                first = r - 1
        mapped = [c for c, col in columns.items() if col.match]
        if not mapped and not any(isinstance(col.found, HeaderMiss) and col.found.candidates
                                  for col in columns.values()):
            return Table("wide", r, r)
        first_figure = min(mapped) if mapped else min(c for c, col in columns.items() if col.found.candidates)
        label_col = _label_column(sheet, r, first_figure)
        columns.pop(label_col, None)
        if label_col is not None:
            skipped.add(label_col)
        return Table("wide", r + (1 if units else 0), first, columns, label_col=label_col,
                     skipped=frozenset(skipped))

    @staticmethod
    def _header_row_above(sheet: Sheet, r: int) -> bool:
        """Whether row r can be the upper row of a two-row header: not a title (one cell, or merged across the
        whole width) and not a meta line (填报单位, 统计截止日期)."""
        texts = {c: _norm(v) for c, v in enumerate(sheet.rows[r]) if _norm(v)}
        if not texts or any(_is_meta(t) for t in texts.values()):
            return False
        if len(texts) == 1:  # a title: at the left, or a long text naming the table
            (c, text), = texts.items()
            return c > 0 and len(text) <= 12 and not any(w in text for w in ("表", "情况", "统计"))
        return True

    def _units_row(self, sheet: Sheet, r: int) -> dict[int, str]:
        """Row r as a row of measure words under the headers (户 | 万元 | 床): column → measure; {} if it is not."""
        if r >= len(sheet.rows) or any(isinstance(v, (int, float)) for v in sheet.rows[r]):
            return {}  # a row of figures
        texts = {c: cell_text(v).strip() for c, v in enumerate(sheet.rows[r]) if _norm(v)}
        texts = {c: t for c, t in texts.items() if _norm(t) not in LIST_UNIT_HEADERS}
        if not texts or not all(self.headers.is_measure(t) for t in texts.values()):
            return {}
        return {c: _norm(t).strip("()（）") for c, t in texts.items()}

    def _list_header(self, sheet: Sheet, r: int) -> Table | None:
        """Row r as the header of a list: a name column (指标, 项目, 内容) and a value column (数量, 累计数, 本期累计),
        maybe a measure column (单位), a category column, 序号 and 备注; None if it is not one. (A row whose
        headers name indicators is a wide table's header instead: the caller asks that first.)"""
        cells = {c: _norm(v) for c, v in enumerate(sheet.rows[r]) if _norm(v)}
        names = [c for c, t in cells.items() if t in LIST_NAME_HEADERS]
        categories = [c for c, t in cells.items() if t in LIST_CATEGORY_HEADERS]
        values = [c for c, t in cells.items() if t in LIST_VALUE_HEADERS or ("累计" in t and len(t) <= 8)]
        daily = [c for c, t in cells.items() if t in LIST_DAILY_HEADERS and c not in values]
        units = [c for c, t in cells.items() if t in LIST_UNIT_HEADERS]
        values = [c for c in values if c not in names]
        if not values and not daily:
            return None
        if not names:
            # no title over the names: the text column left of the figures that is not 序号 or a measure
            left = [c for c in range(min(values + daily)) if c not in units and cells.get(c, "") not in SERIAL_HEADERS]
            if not left or not (units or any(t in SERIAL_HEADERS for t in cells.values())):
                return None
            names = [left[-1]]
        if len(names) > 1:  # 项目 | 指标: the first is the group of the second
            categories, names = names[:1] + categories, names[1:]
        name = names[0]
        # the cumulative column is read; a daily one (本日, 当日新增) is not the cumulative figure: its cells are
        # listed, and a list with daily figures only has nothing to read
        value = next((c for c in values if "累计" in cells[c]), values[0] if values else None)
        others = {c: cells[c] for c in values + daily if c != value}
        unit = next((c for c in units if c not in (name, value)), None)
        category = next((c for c in categories if c < name), None)
        return Table("long", r, r, name_col=name, value_col=-1 if value is None else value, unit_col=unit,
                     category_col=category, other_cols=others)

    # -- reading ----------------------------------------------------------------------------------
    def read(self, sheet: Sheet, table: Table) -> SheetReading:
        return self._read_wide(sheet, table) if table.kind == "wide" else self._read_long(sheet, table)

    def _data_rows(self, sheet: Sheet, table: Table):
        for r in range(table.header_row + 1, len(sheet.rows)):
            if is_note(_first_text(sheet.rows[r])):
                return
            yield r

    def _read_wide(self, sheet: Sheet, table: Table) -> SheetReading:
        out = SheetReading()
        counts = dict.fromkeys(table.columns, 0)
        mapped = [(c, column.match) for c, column in table.columns.items() if column.match]
        unmapped = [(c, column) for c, column in table.columns.items() if not column.match]
        known = set(table.columns) | set(table.skipped)
        for r in self._data_rows(sheet, table):
            row = sheet.rows[r]
            label = _row_name(sheet, r, table)
            role, shown = row_role(label), label or f"第{r + 1}行"
            for c, match in mapped:
                if c >= len(row) or row[c] is None:
                    continue
                figure = self._cell(sheet, r, c, shown, role, match, row[c])
                if figure and not label and table.label_col is not None and figure.figure is not None:
                    # a row of figures with no name could be a place or the total: counting it as a place would
                    # count a total twice, leaving it out would shorten the sum; the clerk names it
                    figure = replace(figure, figure=None, problem=_unnamed_row(r, table.label_col))
                if figure:
                    out.cells.append(figure)
                    counts[c] += 1
            for c, column in unmapped:
                raw = row[c] if c < len(row) else None
                if _is_figure_text(raw):
                    out.unmapped.append(UnmappedCell(sheet.name, cell_ref(r, c), column.header, column.cell, shown,
                                                     cell_text(raw), _reason(column.found)))
                    counts[c] += 1
            for c in range(len(row)):  # figures in columns with no header at all
                if row[c] is not None and c not in known and _is_number(row[c]):
                    out.unmapped.append(UnmappedCell(sheet.name, cell_ref(r, c), "", None, shown, cell_text(row[c]),
                                                     NO_HEADER))
        for c, column in table.columns.items():
            out.headers.append(_reading(sheet.name, column, counts[c]))
        return out

    def _read_long(self, sheet: Sheet, table: Table) -> SheetReading:
        out = SheetReading()
        category, parent = None, None
        for r in self._data_rows(sheet, table):
            if table.category_col is not None and _norm(sheet.cell(r, table.category_col)):
                category = cell_text(sheet.cell(r, table.category_col)).strip()
            raw_name = cell_text(sheet.cell(r, table.name_col)).strip()
            name = _ENUMERATION.sub("", normalise_text(raw_name))
            value = sheet.cell(r, table.value_col) if table.value_col >= 0 else None
            # the unit column as written: the header reader tells a measure (户, 万元) from other text
            unit = cell_text(sheet.cell(r, table.unit_col)).strip() or None if table.unit_col is not None else None
            others = {c: sheet.cell(r, c) for c in table.other_cols if _is_figure_text(sheet.cell(r, c))}
            if not name:
                unnamed = {**({table.value_col: value} if _is_figure_text(value) else {}), **others}
                for c, raw in unnamed.items():
                    out.unmapped.append(UnmappedCell(sheet.name, cell_ref(r, c), "", None, f"第{r + 1}行",
                                                     cell_text(raw), NO_HEADER))
                continue
            # a 其中 line is read under the line it breaks down (发放物资合计 / 其中：暖贴)
            breakdown = name.startswith("其中")
            parts = tuple(p for p in (category, parent if breakdown else None, name) if p)
            found = self.headers.read(*parts, unit=unit)
            if not breakdown:
                parent = name
            column = Column(found, (category, raw_name) if category else (raw_name,), (r, table.name_col), unit)
            header = column.header
            cells = 0
            if column.match:
                # a list is one record: 发放物资 and its 棉被/棉衣 lines are one figure and its breakdown
                figure = self._cell(sheet, r, table.value_col, normalise_text(raw_name), PART, column.match, value,
                                    record=table.header_row)
                if figure:
                    out.cells.append(figure)
                    cells += 1
            elif _is_figure_text(value):
                out.unmapped.append(UnmappedCell(sheet.name, cell_ref(r, table.value_col), header, column.cell,
                                                 normalise_text(raw_name), cell_text(value), _reason(found)))
                cells += 1
            for c, raw in others.items():  # 本日 beside 累计: not the cumulative figure
                out.unmapped.append(UnmappedCell(sheet.name, cell_ref(r, c), f"{header} / {table.other_cols[c]}",
                                                 cell_ref(table.header_row, c), normalise_text(raw_name),
                                                 cell_text(raw), "excluded"))
            out.headers.append(_reading(sheet.name, column, cells))
        return out

    @staticmethod
    def _cell(sheet: Sheet, r: int, c: int, label: str, role: str, match: HeaderMatch, raw: object,
              record: int | None = None) -> CellFigure | None:
        """The figure cell at (r, c), or None where the cell holds no figure (empty, a dash, 无)."""
        try:
            figure, why_not = parse_figure(raw, match.scale), None
        except ProblemFound as exc:
            figure, why_not = None, exc.problem
        if figure is None and why_not is None:
            return None
        return CellFigure(sheet.name, cell_ref(r, c), r + 1, label, role, match.indicator, match.item_type,
                          cell_text(raw), figure, why_not, record)

    def read_loose_figures(self, sheet: Sheet, skip_rows: int) -> SheetReading:
        """A sheet with no table: its numbers are listed (there is no header to read them by)."""
        out = SheetReading()
        for r in range(skip_rows, len(sheet.rows)):
            if is_note(_first_text(sheet.rows[r])):
                continue
            for c, value in enumerate(sheet.rows[r]):
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                    out.unmapped.append(UnmappedCell(sheet.name, cell_ref(r, c), "", None, _first_text(sheet.rows[r]),
                                                     cell_text(value), NO_TABLE))
        return out


def _reason(found: HeaderMatch | HeaderMiss | None) -> str:
    return found.reason if isinstance(found, HeaderMiss) else "unknown"


def _reading(sheet: str, column: Column, cells: int) -> HeaderReading:
    found = column.found
    if isinstance(found, HeaderMatch):
        return HeaderReading(sheet, column.cell, column.header, found.unit or column.unit, found.indicator,
                             found.item_type, found.how, found.rule, found.words, (), "", "", cells)
    miss = found if isinstance(found, HeaderMiss) else HeaderMiss("unknown")
    return HeaderReading(sheet, column.cell, column.header, miss.unit or column.unit, None, miss.item_type, UNMAPPED,
                         miss.reason, miss.words, miss.candidates, miss.detail, miss.detail_zh, cells)


def _row_name(sheet: Sheet, r: int, table: Table) -> str:
    """A wide table's row name: its label cell, that cell's merged range where it spans rows (镇 over two lines),
    or else a total written in another text cell (合计 in the 序号 column, merged across to the name column)."""
    if table.label_col is None:
        return ""
    label = _norm(sheet.cell(r, table.label_col))
    if label:
        return label
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 < r <= r1 and c0 <= table.label_col <= c1:
            return _norm(sheet.cell(r0, c0))
    texts = (_norm(v) for c, v in enumerate(sheet.rows[r]) if c not in table.columns and isinstance(v, str))
    return next((t for t in texts if t and row_role(t) != PART), "")


def _unnamed_row(r: int, label_col: int) -> Problem:
    return problem("unnamed-row", row=r + 1, label_cell=cell_ref(r, label_col))


def _first_text(row: list[object]) -> str:
    return next((_norm(v) for v in row if v is not None and cell_text(v).strip()), "")


def _label_column(sheet: Sheet, header_row: int, first_figure_col: int) -> int | None:
    """The column naming each row (镇/街道): a labelled one left of the figures, else the first non-序号 one."""
    headers = {c: _norm(sheet.cell(header_row, c)) or _norm(sheet.cell(header_row - 1, c))
               for c in range(first_figure_col)}
    for c, header in headers.items():
        if header and header not in SERIAL_HEADERS and any(k in header for k in LABEL_HEADERS):
            return c
    candidates = [c for c, header in headers.items() if header not in SERIAL_HEADERS]
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
        current = value if value is not None and cell_text(value).strip() else current
        if current is not None:
            filled[c] = current
    return filled


def _merged_down(sheet: Sheet, r: int) -> set[int]:
    """Columns whose cell in row r is merged down into row r + 1 (a header spanning two header rows)."""
    return {c for (r0, c0), (r1, c1) in sheet.merged if r0 == r and r1 >= r + 1 for c in range(c0, c1 + 1)}
