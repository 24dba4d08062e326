"""The floor for a bulk ingest: the same files read with calamine and inserted into DuckDB in one statement.

    .venv/bin/python benchmarks/bare_floor.py FOLDER DATABASE [--reader calamine|openpyxl]

`--reader openpyxl` reads each workbook with pandas and openpyxl instead (`pandas.read_excel`, every sheet):
the plain script a data team would write first, which validates nothing, to compare warmline with.

No Prefect, no Great Expectations, no archive, no checks: every sheet's non-empty cells below the header row,
with the number read from them where there is one, as one Arrow table and one INSERT. Prints one line,
`files=N cells=M seconds=S` (the time after imports, and the whole process's time is measured by the caller).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import pyarrow as pa
from python_calamine import CalamineWorkbook

HEADER_ROWS = 4  # title, 填报单位, 统计截止日期, indicator headers


def cells_of(path: Path, sheets, out: dict[str, list]) -> None:
    """Append every figure cell of `path` (file, sheet, row, column, text, number) to the columns in `out`;
    `sheets`: (sheet name, its rows as lists of values) as a reader gives them."""
    for sheet, rows in sheets:
        for r, row in enumerate(rows[HEADER_ROWS:], start=HEADER_ROWS + 1):
            for c, value in enumerate(row[1:], start=2):
                if value == "" or value is None:
                    continue
                text = str(value)
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    number = None
                for key, item in zip(("file", "sheet", "row", "col", "text", "value"),
                                     (path.name, sheet, r, c, text, number)):
                    out[key].append(item)


def rows_by_calamine(path: Path):
    book = CalamineWorkbook.from_path(str(path))
    for sheet in book.sheet_names:
        yield sheet, book.get_sheet_by_name(sheet).to_python()


def rows_by_openpyxl(path: Path):
    import pandas as pd

    for sheet, frame in pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl").items():
        yield sheet, frame.astype(object).where(frame.notna(), None).values.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("database", type=Path)
    parser.add_argument("--reader", choices=("calamine", "openpyxl"), default="calamine")
    args = parser.parse_args()
    rows_of = rows_by_openpyxl if args.reader == "openpyxl" else rows_by_calamine
    folder, database = args.folder, args.database
    started = time.perf_counter()
    files = sorted(p for p in folder.iterdir() if p.suffix == ".xlsx")
    columns: dict[str, list] = {k: [] for k in ("file", "sheet", "row", "col", "text", "value")}
    for path in files:
        cells_of(path, rows_of(path), columns)
    read = pa.table(columns)  # noqa: F841 (read by DuckDB by name)
    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE IF NOT EXISTS cells AS SELECT * FROM read LIMIT 0")
    con.execute("INSERT INTO cells SELECT * FROM read")
    con.close()
    print(f"files={len(files)} cells={len(columns['file'])} seconds={time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
