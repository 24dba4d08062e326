"""Read a submitted file (xlsx, xls, ods, csv) into plain grids of cell values, one per sheet."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
SUPPORTED_SUFFIXES = WORKBOOK_SUFFIXES | CSV_SUFFIXES
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # what Excel writes on Chinese Windows; gb18030 is a superset of GBK


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

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


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
        sheets = []
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows = [[_clean(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
            sheets.append(Sheet(name, rows, list(sheet.merged_cell_ranges or [])))
        return sheets
    except Exception as exc:  # calamine raises several error types for damaged files
        raise UnreadableFile(
            f"文件已损坏或不是有效的表格文件，无法打开（{type(exc).__name__}），请在 Excel 中重新保存后再提交",
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
    rows = [[_clean(v.strip()) for v in row] for row in csv.reader(io.StringIO(text))]
    return Sheet(Path(file_name).stem, rows)
