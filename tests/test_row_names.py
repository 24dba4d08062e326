"""A wide table's rows are counted by their names: a total written in the 序号 column is the total, a name merged
over two rows names both, and a row of figures with no name is refused at its cell instead of being counted as a
place (which would count a total twice) or left out (which would shorten the sum)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import xlsxwriter

from tests.conftest import ingest_inbox
from tests.test_ingest import land

DAY = dt.date(2023, 12, 20)


def _workbook(path, rows, merges=()):
    """浈江区's sheet: 序号 | 镇（街道） | 走访慰问户数（户）, then `rows`; `merges` as (r0, c0, r1, c1, text)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("统计表")
    sheet.write(0, 0, "填报单位：浈江区")
    sheet.write(1, 0, "统计截止日期：2023-12-20")
    for c, head in enumerate(("序号", "镇（街道）", "走访慰问户数（户）")):
        sheet.write(2, c, head)
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    for r0, c0, r1, c1, text in merges:
        sheet.merge_range(r0, c0, r1, c1, text)
    book.close()
    return path


def _ingest(home, ingestor, path):
    land(home, path, dt.datetime(2023, 12, 20, 16, 0))
    (outcome,) = ingest_inbox(ingestor, DAY)
    return outcome


def _households(outcome) -> list[tuple[str, str, Decimal]]:
    return sorted((f.indicator, f.item_type or "", Decimal(f.value)) for f in outcome.facts)


def test_a_total_written_in_the_serial_column_is_the_total_not_a_third_town(home, ingestor, tmp_path):
    path = _workbook(tmp_path / "浈江区_合计在序号列.xlsx",
                     [(1, "犁市镇", 30), (2, "花坪镇", 40), (None, None, 70)], merges=[(5, 0, 5, 1, "合计")])
    outcome = _ingest(home, ingestor, path)
    assert outcome.status == "loaded", outcome.reason
    assert _households(outcome) == [("households_visited", "", Decimal(70))]  # 30 + 40, not 140
    roles = {(c.cell, c.row_label, c.row_role) for c in outcome.cells}
    assert ("C6", "合计", "total") in roles


def test_a_name_merged_over_two_rows_names_both(home, ingestor, tmp_path):
    path = _workbook(tmp_path / "浈江区_合并单元格.xlsx", [(1, None, 30), (None, None, 5), (2, "花坪镇", 40)],
                     merges=[(3, 1, 4, 1, "犁市镇"), (3, 0, 4, 0, 1)])
    outcome = _ingest(home, ingestor, path)
    assert outcome.status == "loaded", outcome.reason
    assert _households(outcome) == [("households_visited", "", Decimal(75))]
    assert [c.row_label for c in outcome.cells] == ["犁市镇", "犁市镇", "花坪镇"]


def test_a_row_of_figures_without_a_name_is_refused_at_its_name_cell(home, ingestor, tmp_path):
    path = _workbook(tmp_path / "浈江区_无名称.xlsx", [(1, "犁市镇", 30), (2, "花坪镇", 40), (3, None, 70)])
    outcome = _ingest(home, ingestor, path)
    assert outcome.status == "rejected"
    errors = [(i.rule, i.sheet, i.cell, i.raw_text) for i in outcome.issues if i.severity == "error"]
    assert errors == [("unnamed-row", "统计表", "C6", "70")]
    report = (home.home / outcome.report_path).read_text(encoding="utf-8")
    assert "第6行有数字，但B6没有填写名称" in report
    assert "write its name in B6, or 合计 for the total row" in report
