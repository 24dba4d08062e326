"""Warnings shown where the statistician looks: their text per file in `warmline run`'s output, in `warmline status`
and in status.html; a file with figures not read marked as needing a look; times with their year when it is not this
one; and a file whose as-of date cannot be right warned about and shown on the day it came in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ingest_inbox, write_rows
from tests.test_status import page_row, read_status, row, status
from transforms import warehouse
from transforms.core.display import local_time_text
from transforms.day.status_page import render_status_page
from transforms.read.template import FilledRow, write_submission

SHANGHAI = ZoneInfo("Asia/Shanghai")
SENT = dt.date(2023, 12, 22)  # the day every file of the scenario came in

# 乐昌市's file: a column whose header could be any of three indicators, so its two figures were not read
AMBIGUOUS_ZH = ("表头“走访慰问困难群众”可能是走访慰问户数、走访慰问人次、走访慰问人数，无法确定是哪一项，该列2个数字未导入；"
                "如需导入，请使用标准表头并注明计量单位（如“走访慰问户数（户）”）")
AMBIGUOUS_EN = ("the header '走访慰问困难群众' was not loaded (2 figure(s)): it could be households_visited, "
                "person_visits, persons_visited: which one cannot be told — use a standard header with its measure "
                "(e.g. 走访慰问户数（户）) to have it loaded")
# 翁源县's file: as of 12-25, received on 12-22 (a typo for 12-22)
AFTER_ZH = ("统计截止日期 2023-12-25 晚于收到文件的时间 2023-12-22 10:05，截止日期不可能在报送之后；本文件已计入 2023-12-25。"
            "请核对截至日期，如有误请更正后重新报送")
AFTER_EN = ("the as-of date 2023-12-25 is after the file was received (2023-12-22 10:05): a report cannot run to a "
            "later day, and the file is counted for 2023-12-25 — check the as-of date and send the file again corrected")
AMBIGUOUS_LINE = f"    统计表!B3 “走访慰问困难群众”: {AMBIGUOUS_ZH} — {AMBIGUOUS_EN}"
AFTER_LINE = f"    统计表!B3: {AFTER_ZH} — {AFTER_EN}"


def land(path, hour: int, minute: int = 0) -> None:
    """The file landed in the inbox on SENT at hour:minute, Shanghai time."""
    when = dt.datetime.combine(SENT, dt.time(hour, minute), SHANGHAI)
    os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture
def sent(home, ingestor, ref, tmp_path):
    """Three files received on 2023-12-22 and ingested: 乐昌市's with a header not understood (loaded, a warning, two
    cells not read); 翁源县's as of 12-25 (loaded, with the as-of warning); 南雄市's as of 2024-03-20, after the
    campaign (rejected). Returns the outcomes."""
    lechang = write_rows(home.inbox / "乐昌市_20231222.xlsx", [
        ["填报单位：乐昌市民政局"], ["统计截止日期：2023-12-22"], ["镇（街道）", "走访慰问困难群众", "巡查次数（次）"],
        ["乐城街道", 1200, 6], ["北乡镇", 800, 4]])
    land(lechang, 16, 42)
    for unit, as_of, hour in (("翁源县", dt.date(2023, 12, 25), 10), ("南雄市", dt.date(2024, 3, 20), 11)):
        target = home.inbox / f"{unit}_寒冬送温暖统计表.xlsx"
        write_submission(target, ref, unit, as_of, [FilledRow("全县", {"走访慰问户数（户）": 70})])
        land(target, hour, 5 if unit == "翁源县" else 0)
    return ingest_inbox(ingestor, SENT)


def by_name(outcomes, name):
    (found,) = [o for o in outcomes if o.receipt.file_name == name]
    return found


def test_a_date_after_receipt_is_a_warning_recorded_with_the_file(sent, home):
    wengyuan = by_name(sent, "翁源县_寒冬送温暖统计表.xlsx")
    assert (wengyuan.status, wengyuan.as_of_date) == ("loaded", dt.date(2023, 12, 25))
    con = warehouse.connect(home.warehouse, read_only=True)
    try:
        issues = con.execute("SELECT severity, rule, sheet, cell, message_zh, message_en FROM raw.issues "
                             "WHERE submission_id = ?", [wengyuan.receipt.submission_id]).fetchall()
        warnings = con.execute("SELECT warnings FROM raw.submissions WHERE submission_id = ?",
                               [wengyuan.receipt.submission_id]).fetchone()[0]
    finally:
        con.close()
    assert issues == [("warning", "date-after-receipt", "统计表", "B3", AFTER_ZH, AFTER_EN)]
    assert warnings == 1
    # a date outside the campaign was, and stays, a rejection: no second message about the same date
    nanxiong = by_name(sent, "南雄市_寒冬送温暖统计表.xlsx")
    assert nanxiong.status == "rejected" and [i.rule for i in nanxiong.issues] == ["date-outside-campaign"]


def test_status_of_the_day_received_shows_each_file_its_warnings_and_the_needs_a_look_mark(sent, home):
    lines = status(home, "--date", "2023-12-22")
    # the files whose date cannot be right are in their unit's row on the day they came in
    assert row(lines, "翁源县")[-1] == "loaded (1 warning)"
    assert row(lines, "南雄市")[-1] == "rejected"
    # figures not read: not a clean "loaded"
    assert row(lines, "乐昌市", "440281")[-1] == "需核对 needs a look (1 warning, 2 cells not read)"
    assert row(lines, "2023-12-22 10:05") == ["2023-12-22 10:05", "翁源县_寒冬送温暖统计表.xlsx", "翁源县", "loaded",
                                              "1", "as of 2023-12-25"]
    assert row(lines, "2023-12-22 16:42")[:5] == ["2023-12-22 16:42", "乐昌市_20231222.xlsx", "乐昌市",
                                                  "需核对 needs a look", "1"]
    start = lines.index("Warnings of the files (2), per file:")
    assert lines[start + 1:start + 5] == [
        "  翁源县_寒冬送温暖统计表.xlsx (翁源县, received 2023-12-22 10:05):", AFTER_LINE,
        "  乐昌市_20231222.xlsx (乐昌市, received 2023-12-22 16:42):", AMBIGUOUS_LINE]

    # on the day it claims, the file is there too, with its warning
    later = status(home, "--date", "2023-12-25")
    assert row(later, "翁源县")[-1] == "loaded (1 warning)"
    assert AFTER_LINE in later


def test_status_page_lists_the_warnings_per_file_escaped_with_this_years_times_without_the_year(sent, home, ref):
    result = read_status(home, ref, SENT, None)
    this_winter = dataclasses.replace(result, now=dt.datetime(2023, 12, 23, 9, 0, tzinfo=SHANGHAI))
    page = render_status_page(this_winter, home.bulletins / SENT.isoformat())
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "文件提示 Warnings in the files (2)" in text
    assert (f"翁源县_寒冬送温暖统计表.xlsx 翁源县 · 收到 received 12-22 10:05 · 1 条提示 warning 统计表!B3 — {AFTER_ZH} "
            f"{AFTER_EN}") in text
    assert ("乐昌市_20231222.xlsx 乐昌市 · 收到 received 12-22 16:42 · 1 条提示 warning 统计表!B3 走访慰问困难群众 "
            f"{AMBIGUOUS_ZH}") in text
    assert '<span class="badge needs_look">需核对 needs a look</span> 乐昌市_20231222.xlsx' in page
    # received this year (the year of `now`): no year
    assert page_row(page, "440229") == ("翁源县 440229 未报送 missing — — — — — — — 已入库 loaded 翁源县_寒冬送温暖统计表.xlsx "
                                        "收到 received 12-22 10:05 截至 as of 2023-12-25 loaded (1 warning)")
    # a year that is not this one is shown
    next_winter = dataclasses.replace(result, now=dt.datetime(2024, 12, 1, tzinfo=SHANGHAI))
    assert "收到 received 2023-12-22 10:05</span>" in render_status_page(next_winter, home.bulletins)

    hostile = dataclasses.replace(this_winter, units=[
        {**u, "files": [{**f, "file_name": "<b>x</b>.xlsx", "warning_rows": [
            {**w, "raw_text": '<script>alert("c")</script>', "message_en": "<i>m</i>"} for w in f["warning_rows"]]}
            for f in u["files"]]} for u in this_winter.units])
    page = render_status_page(hostile, home.bulletins)
    assert "<script>" not in page and "<b>x</b>" not in page and "<i>m</i>" not in page
    assert "&lt;script&gt;alert(&quot;c&quot;)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;.xlsx" in page


def test_local_time_text_shows_the_year_only_when_it_is_not_the_current_one():
    now = dt.datetime(2023, 12, 31, 23, 30, tzinfo=SHANGHAI)
    assert local_time_text(dt.datetime(2023, 12, 20, 16, 42), now) == "12-20 16:42"
    assert local_time_text(dt.datetime(2024, 1, 2, 8, 0), now) == "2024-01-02 08:00"
    assert local_time_text(dt.datetime(2023, 12, 20, 16, 42), dt.datetime(2024, 1, 1, 0, 5, tzinfo=SHANGHAI)) == \
        "2023-12-20 16:42"
    assert local_time_text(None, now) == "—"


def test_run_output_lists_the_warnings_of_the_files_it_ingested(sent, home, monkeypatch, capsys):
    from flows.cli import _print_outcomes
    from flows.ingest_submission import outcome_summary

    monkeypatch.setenv("WARMLINE_HOME", str(home.home))
    _print_outcomes([outcome_summary(o) for o in sent])
    printed = capsys.readouterr().out.splitlines()
    lechang = next(line for line in printed if "乐昌市_20231222.xlsx" in line and "│" in line)
    assert re.search(r"│ 需核对 needs a look +│ 1 warning\(s\), 2 figure cell\(s\) not read", lechang), lechang
    start = printed.index("Warnings (2), per file:")
    assert printed[start + 1:start + 5] == [
        "  翁源县_寒冬送温暖统计表.xlsx (440229, as of 2023-12-25, loaded):", AFTER_LINE,
        "  乐昌市_20231222.xlsx (440281, as of 2023-12-22, 需核对 needs a look):", AMBIGUOUS_LINE]
    assert "Files: 2 loaded, 0 superseded, 0 duplicate, 1 rejected" in printed
