"""Read a submitted file (xlsx, xls, ods, csv) into plain grids of cell values, one per sheet."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

from transforms.core.safe_text import CONTROL_CHARACTER

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
SUPPORTED_SUFFIXES = WORKBOOK_SUFFIXES | CSV_SUFFIXES
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # what Excel writes on Chinese Windows; gb18030 is a superset of GBK
# A submission is a table per town or street, not a household list: a sheet longer than this is refused.
MAX_SHEET_ROWS = 10_000
# Cells from A1 to a sheet's last used cell: the grid read into memory (32 bytes a cell in calamine, more in
# Python); five million keeps a sheet well under a few hundred MB.
MAX_SHEET_CELLS = 5_000_000
MAX_WORKBOOK_CELLS = 10_000_000  # all sheets together
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: .xls, and every password-protected workbook
MAX_SHEET_COLUMNS = 16_384  # Excel's own: column XFD
# Excel's own limit on one cell's text: longer text was not typed into a spreadsheet.
MAX_CELL_CHARACTERS = 32_767
# A control character (safe_text.CONTROL_CHARACTER) written as an .xlsx escape (_x202E_) the reader leaves as it
# is: Excel shows the character itself.
_ESCAPED_CONTROL = re.compile("_x(00[01][0-9A-Fa-f]|007[Ff]|00[89][0-9A-Fa-f]|061[Cc]|200[EeFf]|202[A-Ea-e]|206[6-9])_")


@dataclass
class Sheet:
    """One sheet as a grid anchored at A1: rows[r][c] is the cell at row r+1, column c+1; empty cells are None."""

    name: str
    rows: list[list[object]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)

    def cell(self, r: int, c: int) -> object:
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return None


class UnreadableFile(ValueError):
    """The file cannot be opened as a workbook or CSV; the message says why in the clerk's words."""

    def __init__(self, message_zh: str, message_en: str, rule: str = "unreadable-file"):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
        self.rule = rule


def cell_ref(r: int, c: int) -> str:
    """A1-style reference of zero-based row r, column c."""
    letters = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{r + 1}"


def _clean(value: object) -> object:
    return None if value == "" else value


def read_sheets(content: bytes, file_name: str) -> list[Sheet]:
    """All sheets of a submitted file's bytes; raises UnreadableFile with a reason a clerk understands."""
    suffix = Path(file_name).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [_read_csv(content, file_name)]
    if suffix not in WORKBOOK_SUFFIXES:
        raise UnreadableFile(
            f"不支持的文件类型“{suffix or '无扩展名'}”，请提交 Excel 工作簿（.xlsx/.xls）或 CSV 文件",
            f"unsupported file type '{suffix or 'none'}' — send an Excel workbook (.xlsx/.xls) or a CSV file",
        )
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets, cells = [], 0
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows, columns = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
            cells += rows * columns
            problem = sheet_size_problem(name, rows, columns) or workbook_size_problem(cells)
            if problem:
                raise problem
            grid = [[_clean(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
            problem = cell_value_problem(name, grid)
            if problem:
                raise problem
            sheets.append(Sheet(name, grid, list(sheet.merged_cell_ranges or [])))
        if content.startswith(OLE_MAGIC):
            problem = legacy_error_cells_problem(content)
            if problem:
                raise problem
        return sheets
    except UnreadableFile:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several error types for damaged files, and panics
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise UnreadableFile(*ENCRYPTED, rule="encrypted-file") from exc
        raise UnreadableFile(
            f"文件已损坏或不是有效的表格文件，无法打开，请在 Excel 中重新保存后再提交",
            f"the file is damaged or not a valid spreadsheet ({type(exc).__name__}: {exc}) — re-save it in Excel and send it again",
        ) from exc


def _read_csv(content: bytes, file_name: str) -> Sheet:
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(
            "CSV 文件编码无法识别，请另存为“CSV UTF-8”格式",
            "the CSV file's encoding is neither UTF-8 nor GB18030 — save it as 'CSV UTF-8'",
        )
    name = Path(file_name).stem
    lines = csv.reader(io.StringIO(text, newline=""))  # lines end in \r\n, \n or a lone \r (old Mac exports)
    try:
        rows = [[_clean(v.strip()) for v in row] for row in lines]
    except csv.Error as exc:  # the module's own limit (128 KiB a field) is reached only by a far longer field
        if "field limit" not in str(exc):
            raise
        raise _text_too_long(name, f"第 {lines.line_num} 行", f"line {lines.line_num}", None) from None
    problem = sheet_size_problem(name, len(rows), max((len(r) for r in rows), default=0)) or \
        cell_value_problem(name, rows)
    if problem:
        raise problem
    return Sheet(name, rows)


ENCRYPTED = (
    "文件设置了打开密码，系统无法读取。请在 Excel 中取消密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码）后再提交",
    "the file is password-protected — remove the password in Excel (File → Info → Protect Workbook → "
    "Encrypt with Password, clear it) and send it again",
)


def formula_error_message(sheet: str, cell: str) -> tuple[str, str]:
    """What the clerk reads about a cell holding a formula's error value: (Chinese, English)."""
    return (f"工作表“{sheet}”的 {cell} 单元格是公式错误值（如 #DIV/0!、#REF!、#VALUE!），算不出数字。"
            "请在 Excel 中修正这个公式（或直接填写数字）后再提交",
            f"sheet '{sheet}', cell {cell} holds a formula error (such as #DIV/0!, #REF!, #VALUE!) instead of a "
            "figure — fix the formula in Excel (or type the figure) and send the file again")


def legacy_error_cells_problem(content: bytes) -> UnreadableFile | None:
    """A legacy .xls cell holding a formula's error value, which the reader sees as an empty cell: read again
    with xlrd, which keeps the error (a few ms for a summary table), the first named and the rest counted."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=content, on_demand=True)
    except Exception:  # what calamine read, xlrd may not (a newer BIFF quirk): the figures stand as read
        return None
    try:
        found = [(sheet.name, cell_ref(r, c)) for sheet in (book.sheet_by_index(i) for i in range(book.nsheets))
                 for r in range(sheet.nrows) for c, cell in enumerate(sheet.row(r)) if cell.ctype == xlrd.XL_CELL_ERROR]
    except Exception:
        return None
    finally:
        book.release_resources()
    if not found:
        return None
    zh, en = formula_error_message(*found[0])
    if len(found) > 1:
        zh, en = zh + f"（另有 {len(found) - 1:,} 个这样的单元格）", en + f" (and {len(found) - 1:,} more such cells)"
    return UnreadableFile(zh, en, rule="formula-error")


def cell_value_problem(name: str, grid: list[list[object]]) -> UnreadableFile | None:
    """The first cell no spreadsheet program would hold, named, or None. A number that is none (NaN, infinity:
    written by scripts, never by Excel) would read as a blank figure; text with control characters would read
    as another header or reach a terminal; text past Excel's cell limit was not typed by a clerk. What the
    sender meant cannot be known, so the file is refused."""
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if type(value) is float and not math.isfinite(value):
                where = cell_ref(r, c)
                return UnreadableFile(
                    f"工作表“{name}”的 {where} 单元格存的是无效数字（{value}），不是一个数。请在 Excel 中重新填写这个数字后再提交",
                    f"sheet '{name}', cell {where} holds an invalid number ({value}), not a figure — type the figure "
                    "again in Excel and send the file again", rule="not-a-number")
            if type(value) is str:
                if len(value) > MAX_CELL_CHARACTERS:
                    where = cell_ref(r, c)
                    return _text_too_long(name, f"{where} 单元格", f"cell {where}", len(value))
                control = CONTROL_CHARACTER.search(value) or _ESCAPED_CONTROL.search(value)
                if control:
                    where = cell_ref(r, c)
                    code = f"U+{control.group(1).upper()}" if control.re is _ESCAPED_CONTROL else \
                        f"U+{ord(control.group()):04X}"
                    return UnreadableFile(
                        f"工作表“{name}”的 {where} 单元格含有看不见的控制字符（{code}），这样的文字读出来会与所见不同。"
                        "请在 Excel 中重新输入这个单元格的文字后再提交",
                        f"sheet '{name}', cell {where} holds an invisible control character ({code}), so its text "
                        "does not read as it looks — type that cell's text again in Excel and send the file again",
                        rule="control-character")
    return None


def _text_too_long(name: str, where_zh: str, where_en: str, length: int | None) -> UnreadableFile:
    found_zh, found_en = (f"有 {length:,} 个字符", f"holds {length:,} characters") if length else \
        ("有一格的文字过长", "holds a cell of text")
    return UnreadableFile(
        f"工作表“{name}”{where_zh}{found_zh}，超过 Excel 单元格的上限（{MAX_CELL_CHARACTERS:,} 个字符），不是填写出来的统计表。"
        "请检查该处内容，只保留统计表后再提交",
        f"sheet '{name}', {where_en} {found_en}, more than Excel's limit of {MAX_CELL_CHARACTERS:,} a cell, "
        "which no filled-in table has — check what is there, keep only the table and send it again",
        rule="text-too-long")


def sheet_size_problem(name: str, rows: int, columns: int) -> UnreadableFile | None:
    """Why a sheet of `rows` x `columns` (from A1) is too big to read, or None when it is not."""
    if rows * columns > MAX_SHEET_CELLS:
        where = cell_ref(rows - 1, columns - 1)
        return UnreadableFile(
            f"工作表“{name}”的数据区域过大（从 A1 到 {where}，{rows * columns:,} 个单元格，上限 {MAX_SHEET_CELLS:,}）。"
            "请删除表格以外远处的内容后再提交",
            f"sheet '{name}' spans too large an area (A1 to {where}, {rows * columns:,} cells; the limit is "
            f"{MAX_SHEET_CELLS:,}) — delete whatever lies far outside the table and send it again",
            rule="sheet-too-large")
    if columns > MAX_SHEET_COLUMNS:
        return UnreadableFile(
            f"工作表“{name}”有 {columns:,} 列，超过 Excel 的上限（{MAX_SHEET_COLUMNS:,} 列），不是从 Excel 保存的统计表。"
            "请在 Excel 中打开、只保留统计表后再提交",
            f"sheet '{name}' has {columns:,} columns, more than Excel's {MAX_SHEET_COLUMNS:,}, so it was not saved "
            "from a spreadsheet — open it in Excel, keep only the table and send that",
            rule="too-many-columns")
    if rows > MAX_SHEET_ROWS:
        return UnreadableFile(
            f"工作表“{name}”超过 {MAX_SHEET_ROWS:,} 行，不像汇总表。请提交按镇（街道）汇总的统计表，不要提交到户、到人的明细",
            f"sheet '{name}' has more than {MAX_SHEET_ROWS:,} rows, more than a summary table can have — "
            "send the table summed per town or street, not a list of households or people",
            rule="too-many-rows")
    return None


def workbook_size_problem(cells: int) -> UnreadableFile | None:
    """Why sheets spanning `cells` cells together are too big to read, or None when they are not."""
    if cells <= MAX_WORKBOOK_CELLS:
        return None
    return UnreadableFile(
        f"各工作表的数据区域合计 {cells:,} 个单元格，超过上限（{MAX_WORKBOOK_CELLS:,}）。请只保留统计表，删除多余的工作表后再提交",
        f"the sheets together span {cells:,} cells (the limit is {MAX_WORKBOOK_CELLS:,}) — keep only the "
        "table, delete the other sheets and send it again",
        rule="sheet-too-large")
