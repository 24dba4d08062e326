"""Header review: every header seen and how it was read, unread figures in the status and the bulletin, and a
mapping accepted into the reference data with the files that have the header read again from the archive."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
import xlsxwriter

from tests.conftest import ingest_inbox
from transforms import warehouse
from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
from transforms.bulletin.chart import SHORT_MARK, draw_chart
from transforms.bulletin.data import read_bulletin_data
from transforms.core.reference import load_reference
from transforms.day.status import day_status
from transforms.ingest.header_review import ReviewError, accept, affected, headers_read, headers_unread, reading_unit
from transforms.ingest.ingestor import Ingestor
from transforms.read.guarded_reader import SafeReader
from transforms.read.worked_example import DEMO_DATE

AMBIGUOUS = "走访慰问困难群众"


def write_sheet(path, sender: str, rows: list[list], day: dt.date = DEMO_DATE) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("统计表")
    sheet.write_row(0, 0, [f"填报单位：{sender}"])
    sheet.write_row(1, 0, [f"统计截止日期：{day.isoformat()}"])
    for r, row in enumerate(rows, start=2):
        sheet.write_row(r, 0, row)
    book.close()


@pytest.fixture
def lechang_home(demo_home, ingestor):
    """The worked example plus 乐昌市, whose households column is worded ambiguously (户? 人? 人次?)."""
    write_sheet(demo_home.inbox / "乐昌市_20231220.xlsx", "乐昌市民政局", [
        ["镇（街道）", AMBIGUOUS, "巡查次数（次）", "志愿者人数（人）"],
        ["乐城街道", 1200, 6, 30], ["北乡镇", 800, 4, 12], ["合计", 2000, 10, 42]])
    ingest_inbox(ingestor, DEMO_DATE)
    return demo_home


def test_headers_read_and_unread_are_listed_with_how_and_why(lechang_home):
    con = warehouse.connect(lechang_home.warehouse, read_only=True)
    try:
        read, unread = headers_read(con), headers_unread(con)
    finally:
        con.close()
    patrols = next(h for h in read if h["header"] == "巡查次数（次）")
    # the template's column in all six demo files and 乐昌市's: cells with a figure in them
    assert (patrols["indicator"], patrols["how"], patrols["rule"], patrols["files"], patrols["cells"]) == \
        ("patrols_run", "alias", "alias", 7, 6)
    assert [(h["header"], h["reason"], h["candidates"], h["cells"], h["example_cell"], h["example_text"])
            for h in unread] == [
        (AMBIGUOUS, "ambiguous", "households_visited,person_visits,persons_visited", 3, "统计表!B4", "1200"),
        ("志愿者人数（人）", "excluded", "", 3, "统计表!D4", "30")]


def test_status_lists_unread_figures_and_the_bulletin_says_what_may_be_short(lechang_home, ref):
    con = warehouse.connect(lechang_home.warehouse, read_only=True)
    try:
        status = day_status(con, ref, DEMO_DATE)
        data = read_bulletin_data(con, DEMO_DATE)
        written = write_bulletin(con, DEMO_DATE, bulletin_folder(lechang_home.bulletins, DEMO_DATE),
                                 load_wording(lechang_home.reference))
    finally:
        con.close()
    assert [(u.unit_name, u.header, u.reason, u.cells, u.where, u.shortens) for u in status.unread] == [
        ("乐昌市", AMBIGUOUS, "ambiguous", 3, "统计表!B4", True),
        ("乐昌市", "志愿者人数（人）", "excluded", 3, "统计表!D4", False)]
    lechang = next(u for u in status.units if u["unit_code"] == "440281")
    assert lechang["cells_unread"] == 6
    text = written[0].read_text(encoding="utf-8")
    assert ("乐昌市报表中“走访慰问困难群众”的3个数字未能识别，未计入合计，乐昌市的走访慰问户数、走访慰问人次、走访慰问人数"
            "及全市走访慰问户数可能偏少。") in text
    assert "志愿者" not in text  # understood and rightly not counted: nothing to warn the press about
    with written[3].open(encoding="utf-8-sig") as fh:
        short = {(r["figure_id"], r["unread_cells"]) for r in csv.DictReader(fh) if r["unread_cells"]}
    assert short == {("city.households_visited", "3")}
    figure = draw_chart(data, load_wording(lechang_home.reference))
    marked = [t.get_text() for ax in figure.axes for t in ax.texts if t.get_text().endswith(SHORT_MARK)]
    # the city's households (the only headline figure it touches) and 乐昌市's bar, blank but maybe not empty
    assert marked == ["2.4万余户" + SHORT_MARK, "—" + SHORT_MARK]
    assert any("可能偏少" in t.get_text() for t in figure.texts)


def test_accepting_a_header_writes_the_alias_and_rereads_the_files_with_the_change_as_a_revision(
        lechang_home, ingestor, validator):
    con = warehouse.connect(lechang_home.warehouse)
    try:
        unit, candidates, item_types = reading_unit(con, AMBIGUOUS)
        files = affected(con, AMBIGUOUS)
        assert (unit, candidates, item_types, [f.file_name for f in files]) == \
            (None, ["households_visited", "person_visits", "persons_visited"], [], ["乐昌市_20231220.xlsx"])
        done = accept(lechang_home.reference, ingestor.ref, AMBIGUOUS, unit, "households_visited")
        assert (done.alias, done.file.name) == (AMBIGUOUS, "indicators.csv")
        ref = load_reference(lechang_home.reference)
        assert AMBIGUOUS in next(i for i in ref.indicators if i.code == "households_visited").aliases
        with SafeReader(ref) as reader:  # its workers read with the reference data as it is now
            outcomes = Ingestor(lechang_home, ref, validator, reader, quiet_seconds=0).reread(files, con, "test")
        warehouse.prepare(con, ref)
        assert [(o.status, [(f.indicator, float(f.value)) for f in o.facts]) for o in outcomes] == \
            [("loaded", [("households_visited", 2000.0), ("patrols_run", 10.0)])]
        assert con.execute("SELECT count(*), min(status) FROM raw.submissions WHERE file_name = ?",
                           ["乐昌市_20231220.xlsx"]).fetchone() == (1, "loaded")  # one row per file received
        assert con.execute("SELECT indicator, old_value, new_value FROM marts.revisions WHERE unit_code = '440281'"
                           ).fetchall() == [("households_visited", None, 2000.0)]
        assert con.execute("SELECT value FROM marts.city_totals WHERE as_of_date = ? AND indicator = "
                           "'households_visited'", [DEMO_DATE]).fetchone() == (24684.0 + 2000,)
        assert [h["header"] for h in headers_unread(con)] == ["志愿者人数（人）"]
        assert affected(con, AMBIGUOUS) == []
    finally:
        con.close()


def test_an_alias_that_already_means_something_else_is_refused(home, ref):
    with pytest.raises(ReviewError, match="already an alias of patrols_run"):
        accept(home.reference, ref, "巡查次数", None, "households_visited")
    with pytest.raises(ReviewError, match="no indicator 'visits'"):
        accept(home.reference, ref, AMBIGUOUS, None, "visits")
    with pytest.raises(ReviewError, match="item type belongs to items_issued"):
        accept(home.reference, ref, "护膝", None, "items_issued", "护具")


def test_an_item_word_accepted_goes_into_the_item_lexicon_with_its_measure(home, ref):
    done = accept(home.reference, ref, "发放物资 / 护膝（副）", "副", "items_issued", "其他物资")
    assert (done.alias, done.file.name) == ("护膝（副）", "item_types.csv")
    catalogue_ref = load_reference(home.reference)
    other = next(t for t in catalogue_ref.item_types if t.name == "其他物资")
    assert other.aliases[-1] == "护膝（副）"
