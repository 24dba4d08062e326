"""Read a submitted file (xlsx, xls, ods, csv) into plain grids of cell values, one per sheet."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

from transforms.core.problems import Problem, ProblemFound, problem
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
    """All sheets of a submitted file's bytes; raises ProblemFound with a reason a clerk understands."""
    suffix = Path(file_name).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [_csv_sheet(content, file_name)]
    if suffix not in WORKBOOK_SUFFIXES:
        raise ProblemFound(problem("unreadable-file", variant="unsupported-type" if suffix else "no-suffix",
                                   suffix=suffix))
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets, cells = [], 0
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows, columns = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
            cells += rows * columns
            _refuse(sheet_size_problem(name, rows, columns) or workbook_size_problem(cells))
            grid = [[_clean(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
            _refuse(cell_value_problem(name, grid))
            sheets.append(Sheet(name, grid, list(sheet.merged_cell_ranges or [])))
        if content.startswith(OLE_MAGIC):
            _refuse(legacy_error_cells_problem(content))
        return sheets
    except ProblemFound:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine raises several error types for damaged files, and panics
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise ProblemFound(problem("encrypted-file")) from exc
        raise ProblemFound(problem("unreadable-file", variant="invalid",
                                   detail_en=f"{type(exc).__name__}: {exc}")) from exc


def _refuse(found: Problem | None) -> None:
    """Stop reading at a problem that makes the file unreadable."""
    if found:
        raise ProblemFound(found)


def _csv_sheet(content: bytes, file_name: str) -> Sheet:
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ProblemFound(problem("unreadable-file", variant="csv-encoding"))
    name = Path(file_name).stem
    lines = csv.reader(io.StringIO(text, newline=""))  # lines end in \r\n, \n or a lone \r (old Mac exports)
    try:
        rows = [[_clean(v.strip()) for v in row] for row in lines]
    except csv.Error as exc:  # the module's own limit (128 KiB a field) is reached only by a far longer field
        if "field limit" not in str(exc):
            raise
        raise ProblemFound(problem("text-too-long", variant="csv-line", sheet_name=name, line=lines.line_num,
                                   limit=MAX_CELL_CHARACTERS)) from None
    _refuse(sheet_size_problem(name, len(rows), max((len(r) for r in rows), default=0)) or
            cell_value_problem(name, rows))
    return Sheet(name, rows)


def legacy_error_cells_problem(content: bytes) -> Problem | None:
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
    (sheet, cell), more = found[0], len(found) - 1
    return problem("formula-error", variant="first-of-several" if more else None, sheet_name=sheet, cell_name=cell,
                   more=more)


def cell_value_problem(name: str, grid: list[list[object]]) -> Problem | None:
    """The first cell no spreadsheet program would hold, named, or None. A number that is none (NaN, infinity:
    written by scripts, never by Excel) would read as a blank figure; text with control characters would read
    as another header or reach a terminal; text past Excel's cell limit was not typed by a clerk. What the
    sender meant cannot be known, so the file is refused."""
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if type(value) is float and not math.isfinite(value):
                return problem("not-a-number", variant="stored", sheet_name=name, cell_name=cell_ref(r, c),
                               value=value)
            if type(value) is str:
                if len(value) > MAX_CELL_CHARACTERS:
                    return problem("text-too-long", variant="cell", sheet_name=name, cell_name=cell_ref(r, c),
                                   length=len(value), limit=MAX_CELL_CHARACTERS)
                control = CONTROL_CHARACTER.search(value) or _ESCAPED_CONTROL.search(value)
                if control:
                    code = f"U+{control.group(1).upper()}" if control.re is _ESCAPED_CONTROL else \
                        f"U+{ord(control.group()):04X}"
                    return problem("control-character", sheet_name=name, cell_name=cell_ref(r, c), code=code)
    return None


def sheet_size_problem(name: str, rows: int, columns: int) -> Problem | None:
    """Why a sheet of `rows` x `columns` (from A1) is too big to read, or None when it is not."""
    if rows * columns > MAX_SHEET_CELLS:
        return problem("sheet-too-large", variant="sheet", sheet_name=name, last_cell=cell_ref(rows - 1, columns - 1),
                       cells=rows * columns, limit=MAX_SHEET_CELLS)
    if columns > MAX_SHEET_COLUMNS:
        return problem("too-many-columns", sheet_name=name, columns=columns, limit=MAX_SHEET_COLUMNS)
    if rows > MAX_SHEET_ROWS:
        return problem("too-many-rows", sheet_name=name, limit=MAX_SHEET_ROWS)
    return None


def workbook_size_problem(cells: int) -> Problem | None:
    """Why sheets spanning `cells` cells together are too big to read, or None when they are not."""
    if cells <= MAX_WORKBOOK_CELLS:
        return None
    return problem("sheet-too-large", variant="workbook", cells=cells, limit=MAX_WORKBOOK_CELLS)
