import datetime as dt
from decimal import Decimal

import pytest

from transforms.core.figures import AT_LEAST, EXACT, UNSPECIFIED
from transforms.read.parser import SubmissionParser, parse_date
from transforms.read.unit_facts import unit_facts
from transforms.read.workbook import Sheet, cell_ref

START, END = dt.date(2023, 12, 15), dt.date(2024, 3, 15)


@pytest.fixture(scope="module")
def parser(ref):
    return SubmissionParser(ref)


def facts_of(parser, rows, file_name="x.xlsx", merged=None):
    parsed = parser.parse([Sheet("统计表", rows, merged or [])], file_name)
    facts, issues = unit_facts(parsed.cells)
    return parsed, {(f.indicator, f.item_type): (f.value, f.qualifier, f.parts_unspecified) for f in facts}, issues


@pytest.mark.parametrize("text, expected", [
    ("2023-12-20", dt.date(2023, 12, 20)),
    ("2023年12月20日", dt.date(2023, 12, 20)),
    ("2023.12.20", dt.date(2023, 12, 20)),
    ("20231220", dt.date(2023, 12, 20)),
    ("12月20日", dt.date(2023, 12, 20)),
    ("1月5日", dt.date(2024, 1, 5)),
    ("截至２０２３年１２月２０日", dt.date(2023, 12, 20)),
    (dt.datetime(2023, 12, 20, 0, 0), dt.date(2023, 12, 20)),
    ("明天", None),
])
def test_dates_as_officials_write_them(text, expected):
    assert parse_date(text, START, END) == expected


def test_cell_ref_is_a1_style():
    assert [cell_ref(0, 0), cell_ref(6, 3), cell_ref(0, 25), cell_ref(0, 26), cell_ref(9, 701)] == \
        ["A1", "D7", "Z1", "AA1", "ZZ10"]


def test_meta_lines_give_unit_and_date(parser):
    parsed, facts, _ = facts_of(parser, [
        ["寒冬送温暖统计表", None, None],
        ["填报单位：浈江区民政局", None, None],
        ["统计截止日期", "2023年12月20日", None],
        ["镇（街道）", "走访慰问户数（户）", "巡查次数（次）"],
        ["犁市镇", 10, 2],
    ])
    assert (parsed.unit_code, parsed.as_of_date) == ("440204", dt.date(2023, 12, 20))
    assert (parsed.unit_source, parsed.date_source) == ("统计表!A2", "统计表!B3")


def test_total_row_is_not_double_counted(parser):
    _, facts, issues = facts_of(parser, [
        ["填报单位：", "翁源县"], ["统计截止日期：", "2023-12-20"],
        ["镇（街道）", "走访慰问户数（户）"],
        ["龙仙镇", 100], ["坝仔镇", 50], ["合计", 150],
    ])
    assert facts[("households_visited", None)] == (Decimal(150), EXACT, 0)
    assert issues == []


def test_subtotal_row_is_never_added(parser):
    _, facts, _ = facts_of(parser, [
        ["填报单位：翁源县"], ["统计截止日期：2023-12-20"],
        ["镇（街道）", "走访慰问户数（户）"],
        ["龙仙镇", 100], ["坝仔镇", 50], ["小计", 150], ["官渡镇", 7],
    ])
    assert facts[("households_visited", None)] == (Decimal(157), EXACT, 0)


def test_total_that_disagrees_with_parts_is_an_error_at_the_total_cell(parser):
    _, _, issues = facts_of(parser, [
        ["填报单位：翁源县"], ["统计截止日期：2023-12-20"],
        ["镇（街道）", "走访慰问户数（户）"],
        ["龙仙镇", 100], ["坝仔镇", 50], ["合计", 160],
    ])
    assert [(i.rule, i.sheet, i.cell, i.raw_text) for i in issues] == [("total-mismatch", "统计表", "B6", "160")]
    assert "160" in issues[0].message_zh and "150" in issues[0].message_zh


def test_items_by_type_and_all_types(parser):
    _, facts, _ = facts_of(parser, [
        ["填报单位：浈江区"], ["统计截止日期：2023-12-20"],
        ["镇（街道）", "棉衣（件）", "棉被（床）", "食品（份）"],
        ["救助小组", 183, 90, "若干"],
    ])
    assert facts == {
        ("items_issued", "棉衣"): (Decimal(183), EXACT, 0),
        ("items_issued", "棉被"): (Decimal(90), EXACT, 0),
        ("items_issued", "食品"): (None, UNSPECIFIED, 1),
        ("items_issued", None): (Decimal(273), EXACT, 1),
    }


def test_all_types_column_wins_over_typed_columns_in_its_row(parser):
    _, facts, _ = facts_of(parser, [
        ["填报单位：南雄市"], ["统计截止日期：2023-12-20"],
        ["镇（街道）", "棉衣（件）", "物资合计（件）"],
        ["雄州街道", 10, 40], ["水口镇", "1000余", None],
    ])
    assert facts[("items_issued", None)] == (Decimal(1040), AT_LEAST, 0)
    assert facts[("items_issued", "棉衣")] == (Decimal(1010), AT_LEAST, 0)


def test_unknown_header_is_a_warning_not_dropped_silently(parser):
    parsed, _, _ = facts_of(parser, [
        ["填报单位：南雄市"], ["统计截止日期：2023-12-20"],
        ["镇（街道）", "走访慰问户数（户）", "志愿者人数（人）"],
        ["雄州街道", 10, 3],
    ])
    assert [(i.rule, i.severity, i.cell, i.raw_text) for i in parsed.issues] == \
        [("excluded-header", "warning", "C3", "志愿者人数（人）")]
    assert [(u.cell, u.header, u.raw_text, u.reason) for u in parsed.unmapped] == \
        [("C4", "志愿者人数（人）", "3", "excluded")]


def test_unit_and_date_from_file_name_when_the_sheet_has_none(parser):
    parsed, _, _ = facts_of(parser, [["镇（街道）", "走访慰问户数（户）"], ["城南", 1]], "仁化县_2023-12-21.xlsx")
    assert (parsed.unit_code, parsed.as_of_date, parsed.unit_source) == ("440224", dt.date(2023, 12, 21),
                                                                         "文件名 file name")


def test_sheet_and_file_name_that_disagree_are_an_error_not_a_guess(parser):
    parsed, _, _ = facts_of(parser, [
        ["填报单位：浈江区"], ["统计截止日期：2023-12-20"], ["镇（街道）", "走访慰问户数（户）"], ["城南", 1],
    ], "武江区_2023-12-21.xlsx")
    assert (parsed.unit_code, parsed.as_of_date) == (None, None)
    assert [(i.rule, i.severity) for i in parsed.issues] == [("conflicting-unit", "error"), ("conflicting-date", "error")]
    assert "统计表!A1 “浈江区”" in parsed.issues[0].message_zh
    assert "文件名 “武江区_2023-12-21”" in parsed.issues[0].message_zh
    assert "file name “武江区_2023-12-21”" in parsed.issues[0].message_en


def test_file_name_that_agrees_with_the_sheet_is_fine(parser):
    parsed, _, _ = facts_of(parser, [
        ["填报单位：浈江区民政局"], ["统计截止日期：2023-12-20"], ["镇（街道）", "走访慰问户数（户）"], ["城南", 1],
    ], "浈江区_寒冬送温暖统计表_20231220.xlsx")
    assert (parsed.unit_code, parsed.as_of_date, parsed.issues) == ("440204", dt.date(2023, 12, 20), [])


def test_notes_below_the_table_end_it(parser):
    parsed, facts, _ = facts_of(parser, [
        ["填报单位：翁源县"], ["统计截止日期：2023-12-20"],
        ["镇（街道）", "走访慰问户数（户）"],
        ["龙仙镇", 100], ["填表人：张三", 13800138000],
    ])
    assert facts[("households_visited", None)] == (Decimal(100), EXACT, 0)


def test_two_row_header_with_merged_group_and_vertical_merges(parser):
    rows = [
        ["浈江区寒冬送温暖统计表", None, None, None, None],
        ["填报单位：浈江区民政局", None, None, None, None],
        ["截至2023年12月20日", None, None, None, None],
        ["镇（街道）", "走访慰问户数\n（户）", "发放物资", None, None],
        [None, None, "棉被（床）", "棉衣（件）", "合计"],
        ["犁市镇", 10, 3, 4, 7],
        ["花坪镇", 5, 1, None, 1],
        ["合计", 15, 4, 4, 8],
        ["填表人：李四", None, "审核人：王五", None, None],
    ]
    merged = [((0, 0), (0, 4)), ((3, 0), (4, 0)), ((3, 1), (4, 1)), ((3, 2), (3, 4))]
    parsed, facts, issues = facts_of(parser, rows, merged=merged)
    assert (parsed.unit_code, parsed.as_of_date, parsed.issues, issues) == ("440204", dt.date(2023, 12, 20), [], [])
    assert facts == {
        ("households_visited", None): (Decimal(15), EXACT, 0),
        ("items_issued", "棉被"): (Decimal(4), EXACT, 0),
        ("items_issued", "棉衣"): (Decimal(4), EXACT, 0),
        ("items_issued", None): (Decimal(8), EXACT, 0),
    }
    assert {c.cell for c in parsed.cells if c.row_role == "total"} == {"B8", "C8", "D8", "E8"}


def test_long_list_one_indicator_a_row_with_units(parser):
    parsed, facts, _ = facts_of(parser, [
        ["填报单位：始兴县民政局"], ["统计截止日期：2023.12.20"],
        ["序号", "指标", "数量", "单位", "备注"],
        [1, "发放救助资金", "370.5", "万元", "约数"],
        [2, "惠及人次", "9600余", "人次", None],
        [3, "志愿者人数", 200, "人", None],
        [4, "巡查次数", None, "次", "未开展"],
    ])
    assert facts == {
        ("funds_disbursed", None): (Decimal("3705000.0"), EXACT, 0),
        ("beneficiaries", None): (Decimal(9600), AT_LEAST, 0),
    }
    assert [(i.rule, i.cell, i.raw_text) for i in parsed.issues] == [("excluded-header", "B6", "志愿者人数")]
    assert [(u.cell, u.header, u.raw_text) for u in parsed.unmapped] == [("C6", "志愿者人数", "200")]


def test_summary_sheet_is_the_total_of_town_sheets(parser):
    def town(name, households):
        return Sheet(name, [["填报单位：翁源县"], ["统计截止日期：2023-12-20"],
                            ["镇（街道）", "走访慰问户数（户）"], [name, households]])

    parsed = parser.parse([town("汇总", 150), town("龙仙镇", 100), town("坝仔镇", 50), Sheet("说明", [["填表说明"]])],
                          "x.xlsx")
    facts, issues = unit_facts(parsed.cells)
    assert [(f.indicator, f.value, f.source_cells) for f in facts] == [("households_visited", Decimal(150), ("汇总!B4",))]
    assert issues == []
    parsed = parser.parse([town("汇总", 160), town("龙仙镇", 100), town("坝仔镇", 50)], "x.xlsx")
    _, issues = unit_facts(parsed.cells)
    assert [(i.rule, i.sheet, i.cell) for i in issues] == [("total-mismatch", "汇总", "B4")]


def test_sheets_without_a_summary_add_up(parser):
    sheets = [Sheet(n, [["填报单位：翁源县"], ["统计截止日期：2023-12-20"], ["镇", "巡查次数（次）"], [n, v]])
              for n, v in (("龙仙镇", 3), ("坝仔镇", "4余"))]
    facts, _ = unit_facts(parser.parse(sheets, "x.xlsx").cells)
    assert [(f.indicator, f.value, f.qualifier) for f in facts] == [("patrols_run", Decimal(7), AT_LEAST)]
