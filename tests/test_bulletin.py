"""The press bulletin: official number writing, the text of the worked example, Word, chart, figures.csv."""

import csv
import dataclasses
import datetime as dt
import re
import warnings

import pytest

from tests.conftest import ingest_inbox
from transforms import warehouse
from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
from transforms.bulletin.chart import ChartFontError, cjk_font_family, draw_chart, write_chart
from transforms.bulletin.data import BulletinError, SourceFigure, UnitReport, read_bulletin_data
from transforms.bulletin.lineage import cell
from transforms.bulletin.official_numbers import official_number
from transforms.bulletin.text import compose
from transforms.core.layout import SHIPPED_REFERENCE
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE

# value, qualifier, unit word, headline?, as printed
NUMBER_CASES = [
    # the worked example's city-wide sums (headline)
    (24684, "exact", "户", True, "2.4万余户"),            # cut to 0.1万, so 余; never 2.5万
    (4185000, "approx", "元", True, "约418.5万元"),        # approx sum (约370.5万 + 48万余) keeps 约
    (5584, "at_least", "件（套）", True, "5584余件（套）"),  # at_least sum, below 1万: as reported
    (371, "at_least", "次", True, "371余次"),              # at_least sum (321 + 50余)
    # the same figures in a unit paragraph keep the reported digits
    (24684, "exact", "户", False, "24684户"),
    (5584, "at_least", "件", False, "5584余件"),
    (371, "at_least", "次", False, "371余次"),
    # as the article writes them
    (17882, "exact", "户", False, "17882户"),
    (480000, "at_least", "元", False, "48万余元"),
    (480000, "at_least", "元", True, "48万余元"),
    (3705000, "approx", "元", False, "约370.5万元"),
    (9600, "at_least", "人次", False, "9600余人次"),
    (1000, "at_least", "套", False, "1000余套"),
    (50, "at_least", "次", False, "50余次"),
    (321, "exact", "次", False, "321次"),
    (1312, "exact", "人次", False, "1312人次"),
    (None, "unspecified", "份", False, "若干份"),
    # never rounded up, and a cut exact figure is never shown as exact
    (29999, "exact", "户", True, "2.9万余户"),
    (29999, "approx", "户", True, "约2.9万户"),
    (1312, "exact", "人次", True, "1312人次"),  # below 1万: the press writes it as reported
    (10000, "exact", "户", True, "1万户"),
    (100, "exact", "次", True, "100次"),
    (45, "exact", "人次", True, "45人次"),
    (4185432, "exact", "元", True, "418.5万余元"),
    (4185432, "exact", "元", False, "418.54万余元"),
    (125432, "exact", "人次", False, "12.54万余人次"),
    (99999, "exact", "户", False, "99999户"),
    (8500, "exact", "元", True, "8500元"),
    (1234.56, "exact", "元", False, "1234.56元"),
    (1234.56, "exact", "元", True, "1234余元"),
    (150_000_000, "exact", "元", False, "1.5亿元"),
    (12000.000000000002, "exact", "户", True, "1.2万户"),  # float noise of a sum is not a cut
    (0, "exact", "次", False, "0次"),
]


@pytest.mark.parametrize(("value", "qualifier", "unit", "headline", "printed"), NUMBER_CASES)
def test_official_number_writes_figures_as_officials_do(value, qualifier, unit, headline, printed):
    assert official_number(value, qualifier, unit, headline=headline) == printed


@pytest.mark.parametrize(("value", "qualifier"), [(-5, "exact"), (None, "exact"), (5, None)])
def test_official_number_refuses_negative_or_missing_figures(value, qualifier):
    with pytest.raises(ValueError):
        official_number(value, qualifier, "户")


DEMO_BULLETIN = """\
# 韶关市“寒冬送温暖”专项行动进展情况

（截至2023年12月20日）

韶关市“寒冬送温暖”专项行动自12月15日开展以来，截至12月20日，全市累计走访慰问困难群众2.4万余户，发放慰问金、救助资金约418.5万元，发放防寒物资5584余件（套），开展街面巡查371余次。

**市民政局**：累计派出38个工作组，走访慰问困难群众17882户，发放慰问金、救助资金48万余元，发放防寒物资2824件（套），走访困境儿童、留守儿童等2982人，开展街面巡查321次，出动工作人员1312人次，出动车辆327车次，街面救助45人次。

**市救助管理站**：累计发放防寒物资31件（套），开展街面巡查50余次，出动工作人员174人次，出动车辆50车次，街面救助15人次，劝导入站3人。

**浈江区**：累计巡查探访困难群众420人次，发放棉衣183件、棉被90床及食品若干份。

**始兴县**：累计发放慰问金、救助资金约370.5万元，救助惠及困难群众9600余人次。

**翁源县**：累计走访慰问困难群众6802户，涉及困难群众11490人，发放防寒物资1456件（套），救助惠及困难群众1633人次。

**南雄市**：累计发放棉衣1000余件，督导检查敬老院等机构18个。

注：

1. 本期应报送单位12个，报送当日数据6个；武江区、曲江区、仁化县、乳源瑶族自治县、新丰县、乐昌市未报送数据，未计入全市合计。
2. 浈江区的食品报为“若干”，未计入全市发放物资合计。
3. “余”表示实际数不少于所列数，“约”表示估计数；全市合计按各单位截至当日的最新报送数据汇总，数字只舍不入。
"""

FILES = ["bulletin.md", "bulletin.docx", "chart.png", "figures.csv"]


def publish(layout, day=DEMO_DATE, folder=None):
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        target = folder or bulletin_folder(layout.bulletins, day)
        return write_bulletin(con, day, target, load_wording(layout.reference))
    finally:
        con.close()


def bulletin_data(layout, day=DEMO_DATE):
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return read_bulletin_data(con, day)
    finally:
        con.close()


def test_demo_bulletin_reads_like_the_press_release(demo_home):
    written = publish(demo_home)
    folder = demo_home.bulletins / "2023-12-20"
    assert written == [folder / name for name in FILES]
    assert (folder / "bulletin.md").read_text(encoding="utf-8") == DEMO_BULLETIN
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no scratch files left behind


def test_same_warehouse_gives_byte_identical_bulletin(demo_home, tmp_path):
    first, second = publish(demo_home, folder=tmp_path / "a"), publish(demo_home, folder=tmp_path / "b")
    for a, b in zip(first, second):
        if a.name in ("bulletin.md", "chart.png", "figures.csv"):
            assert a.read_bytes() == b.read_bytes(), a.name


def test_docx_reads_back_as_the_bulletin_paragraphs(demo_home):
    from docx import Document

    publish(demo_home)
    document = Document(str(demo_home.bulletins / "2023-12-20" / "bulletin.docx"))
    paragraphs = [p.text for p in document.paragraphs if p.text]  # the chart's paragraph holds a picture only
    expected = [line.removeprefix("# ").replace("**", "") for line in DEMO_BULLETIN.splitlines() if line]
    assert paragraphs == expected
    unit = next(p for p in document.paragraphs if p.text.startswith("市民政局："))
    assert [(r.text, bool(r.bold)) for r in unit.runs][0] == ("市民政局", True)
    assert document.core_properties.title == "韶关市“寒冬送温暖”专项行动进展情况"


def test_every_number_in_the_bulletin_has_a_row_in_figures_csv(demo_home):
    publish(demo_home)
    folder = demo_home.bulletins / "2023-12-20"
    rows = list(csv.DictReader((folder / "figures.csv").open(encoding="utf-8-sig", newline="")))
    text = (folder / "bulletin.md").read_text(encoding="utf-8")
    for published in sorted({r["text_as_published"] for r in rows}, key=len, reverse=True):
        assert published in text, published
        text = text.replace(published, "")
    text = re.sub(r"(\d{4}年)?\d{1,2}月\d{1,2}日", "", text)  # dates
    text = re.sub(r"(?m)^\d+\. ", "", text)  # note numbers
    assert re.findall(r"\d+", text) == []


def test_figures_csv_traces_a_city_figure_to_each_workbook_cell(demo_home):
    publish(demo_home)
    rows = list(csv.DictReader((demo_home.bulletins / "2023-12-20" / "figures.csv").open(encoding="utf-8-sig")))
    funds = [{k: r[k] for k in ("text_as_published", "value", "qualifier", "query", "file_name", "source_unit_code",
                                "source_cells", "source_text", "source_value", "source_qualifier")}
             for r in rows if r["figure_id"] == "city.funds_disbursed"]
    query = "bulletin_headline.sql ($day = 2023-12-20)"
    assert funds == [
        {"text_as_published": "约418.5万元", "value": "4185000", "qualifier": "approx", "query": query,
         "file_name": "始兴县_寒冬送温暖统计表_20231220.xlsx", "source_unit_code": "440222",
         "source_cells": "统计表!F5", "source_text": "约370.5万", "source_value": "3705000", "source_qualifier": "approx"},
        {"text_as_published": "约418.5万元", "value": "4185000", "qualifier": "approx", "query": query,
         "file_name": "市民政局_寒冬送温暖统计表_20231220.xlsx", "source_unit_code": "440200901",
         "source_cells": "统计表!F8", "source_text": "48万余", "source_value": "480000", "source_qualifier": "at_least"},
    ]
    items = [r for r in rows if r["figure_id"] == "city.items_issued"]
    assert sum(float(r["source_value"]) for r in items) == 5584
    food = next(r for r in rows if r["figure_id"] == "440204.items_issued.食品")
    assert (food["text_as_published"], food["value"], food["source_cells"], food["source_text"]) == \
        ("若干份", "", "统计表!I5", "若干")
    assert {r["as_of_date"] for r in rows} == {"2023-12-20"}


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("约418.5万元", "约418.5万元"), (24684.0, "24684"), (370.5, "370.5"), (None, ""), (DEMO_DATE, "2023-12-20"),
])
def test_figures_csv_cells_are_defused_against_formulas(value, written):
    assert cell(value) == written


def test_units_missing_and_carried_forward_are_footnoted(demo_home, ingestor, ref):
    later = dt.date(2023, 12, 21)
    write_submission(demo_home.inbox / "翁源县_20231221.xlsx", ref, "翁源县民政局", later,
                     [FilledRow("县民政局及各镇", {"走访慰问户数（户）": 7015})])
    ingest_inbox(ingestor, later)
    publish(demo_home, later)
    lines = (demo_home.bulletins / "2023-12-21" / "bulletin.md").read_text(encoding="utf-8").splitlines()
    assert "**市民政局**（数据截至12月20日）：累计派出38个工作组，走访慰问困难群众17882户，发放慰问金、救助资金48万余元，" \
           "发放防寒物资2824件（套），走访困境儿童、留守儿童等2982人，开展街面巡查321次，出动工作人员1312人次，" \
           "出动车辆327车次，街面救助45人次。" in lines
    assert "**翁源县**：累计走访慰问困难群众7015户。" in lines
    assert lines[lines.index("注：") + 2:] == [
        "1. 本期应报送单位12个，报送当日数据1个，沿用此前数据5个；武江区、曲江区、仁化县、乳源瑶族自治县、新丰县、乐昌市未报送数据，"
        "未计入全市合计。",
        "2. 市民政局、市救助管理站、浈江区、始兴县、南雄市数据截至12月20日（当日未报送，沿用最近一次报送的数据，已计入全市合计）。",
        "3. 浈江区的食品报为“若干”，未计入全市发放物资合计。",
        "4. “余”表示实际数不少于所列数，“约”表示估计数；全市合计按各单位截至当日的最新报送数据汇总，数字只舍不入。",
    ]
    assert "全市累计走访慰问困难群众2.4万余户" in lines[4]  # 17882 carried + 7015 = 24897


def test_bulletin_of_a_day_not_computed_says_what_to_run(demo_home):
    with pytest.raises(BulletinError) as raised:
        publish(demo_home, dt.date(2023, 12, 22))
    assert str(raised.value) == ("no figures for 2023-12-22 in the warehouse: the day is outside the campaign or has "
                                 "not been computed; run `warmline run --date 2023-12-22` first")
    assert not (demo_home.bulletins / "2023-12-22").exists()


def test_an_indicator_without_a_phrase_is_worded_from_the_catalogue(demo_home, tmp_path):
    phrases = (SHIPPED_REFERENCE / "bulletin_phrases.csv").read_text(encoding="utf-8")
    (tmp_path / "bulletin_phrases.csv").write_text(
        "\n".join(line for line in phrases.splitlines() if not line.startswith("facilities_inspected,")) + "\n",
        encoding="utf-8")
    text = compose(bulletin_data(demo_home), load_wording(tmp_path))
    nanxiong = next(b.text for b in text.blocks if b.text.startswith("南雄市"))
    assert nanxiong == "南雄市：累计发放棉衣1000余件，检查机构数18个。"


def test_items_total_beyond_its_types_is_printed_before_them(demo_home):
    def fact(value, qualifier, item_type=None):
        return SourceFigure("440229", "翁源县", DEMO_DATE, "items_issued", item_type, value, qualifier, 0, "s1",
                            "翁源县.xlsx", "统计表!K5", str(value))

    unit = UnitReport("440229", "翁源县", "county", True, "reported", DEMO_DATE, "s1", "翁源县.xlsx",
                      (fact(3000, "exact"), fact(90, "exact", "棉被"), fact(183, "at_least", "棉衣")))
    bulletin = compose(dataclasses.replace(bulletin_data(demo_home), units=(unit,)), load_wording(SHIPPED_REFERENCE))
    assert [b.text for b in bulletin.blocks if b.kind == "unit"] == [
        "翁源县：累计发放防寒物资3000件（套），其中棉衣183余件、棉被90床。"]
    assert [p.figure_id for p in bulletin.published if p.unit_code == "440229"] == [
        "440229.items_issued", "440229.items_issued.棉衣", "440229.items_issued.棉被"]


def test_chart_labels_are_drawn_with_a_font_that_has_their_chinese_glyphs(demo_home, tmp_path):
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager
    from matplotlib.text import Text

    data, family = bulletin_data(demo_home), cjk_font_family()
    figure = draw_chart(data, load_wording(demo_home.reference))
    texts = [t for t in figure.findobj(Text) if t.get_text()]
    labels = "".join(t.get_text() for t in texts)
    for expected in ("全市走访慰问户数（户）", "市民政局", "乳源瑶族自治县", "未报送", "约418.5万元", "截至2023年12月20日"):
        assert expected in labels
    chinese = {ch for ch in labels if ord(ch) > 0x2000}
    assert {t.get_fontfamily()[0] for t in texts if set(t.get_text()) & chinese} == {family}
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    font = TTFont(path, fontNumber=getattr(path, "face_index", 0), lazy=True)
    assert sorted(ch for ch in chinese if ord(ch) not in font.getBestCmap()) == []

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_chart(data, load_wording(demo_home.reference), tmp_path / "chart.png")
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_in_a_font_without_chinese_glyphs_is_refused(demo_home, tmp_path):
    with pytest.raises(ChartFontError) as raised:
        write_chart(bulletin_data(demo_home), load_wording(demo_home.reference), tmp_path / "chart.png",
                    font_family="DejaVu Sans")
    assert "missing from font(s) DejaVu Sans" in str(raised.value)
    assert str(raised.value).endswith("install the Debian package fonts-noto-cjk: apt-get install -y fonts-noto-cjk")
    assert not (tmp_path / "chart.png").exists()


def test_bulletin_command_writes_the_day_and_prints_the_files(demo_home):
    from tests.test_cli import warmline

    result = warmline(demo_home.home, "bulletin", "--date", "2023-12-20")
    assert result.returncode == 0, result.stderr
    folder = demo_home.bulletins / "2023-12-20"
    assert result.stdout.splitlines() == [*(f"wrote {folder / name}" for name in FILES),
                                          f"Bulletin: {folder}/ ({', '.join(FILES)}) — published."]
    assert (folder / "bulletin.md").read_text(encoding="utf-8") == DEMO_BULLETIN
    missing = warmline(demo_home.home, "bulletin", "--date", "2023-12-22")
    assert (missing.returncode, missing.stderr.strip()) == (
        1, "Error: bulletin for 2023-12-22 not written: no figures for 2023-12-22 in the warehouse: the day is "
           "outside the campaign or has not been computed; run `warmline run --date 2023-12-22` first")


def test_a_day_before_any_report_says_so_and_still_has_a_chart(home, ingestor):
    day = dt.date(2023, 12, 16)
    ingest_inbox(ingestor, day)
    written = publish(home, day)
    assert (home.bulletins / "2023-12-16" / "bulletin.md").read_text(encoding="utf-8").splitlines()[4:9] == [
        "韶关市“寒冬送温暖”专项行动自12月15日开展以来，截至12月16日，各单位尚未报送统计数据。",
        "",
        "注：",
        "",
        "1. 本期应报送单位12个，报送当日数据0个；市民政局、市救助管理站、武江区、浈江区、曲江区、始兴县、仁化县、翁源县、"
        "乳源瑶族自治县、新丰县、乐昌市、南雄市未报送数据，未计入全市合计。",
    ]
    assert [p.stat().st_size > 0 for p in written] == [True] * 4
