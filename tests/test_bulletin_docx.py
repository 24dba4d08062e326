"""bulletin.docx in the GB/T 9704 layout: A4, its margins, a 22 × 28 grid, fonts, page numbers, chart, draft mark.

Every test saves a document and reads the file back with python-docx, so what is asserted is what Word opens.
"""

from __future__ import annotations

import datetime as dt

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import RGBColor
from PIL import Image

from transforms.bulletin.text import Block, Bulletin, Run
from transforms.bulletin.word import write_docx

DAY = dt.date(2023, 12, 20)
DRAFT_MARK = "草稿（未发布）"
TITLE = "韶关市“寒冬送温暖”专项行动进展情况"
LAST_UNIT = "南雄市：累计发放棉衣1000余件，督导检查敬老院等机构18个。"


def bulletin(draft: bool = False) -> Bulletin:
    """A bulletin shaped like the worked example's (composing one needs a warehouse; the layout does not)."""
    blocks = (
        Block("title", (Run(f"{DRAFT_MARK if draft else ''}{TITLE}"),)),
        Block("dateline", (Run("（截至2023年12月20日）"),)),
        Block("body", (Run("韶关市“寒冬送温暖”专项行动自12月15日开展以来，截至12月20日，全市累计走访慰问困难群众2.4万余户。"),)),
        Block("unit", (Run("市民政局", bold=True), Run("：累计走访慰问困难群众17882户。"))),
        Block("unit", (Run("南雄市", bold=True), Run("：累计发放棉衣1000余件，督导检查敬老院等机构18个。"))),
        Block("notes_head", (Run("注："),)),
        Block("note", (Run("1. 本期应报送单位12个，报送当日数据6个。"),)),
    )
    return Bulletin(DAY, blocks, (), draft=draft)


@pytest.fixture
def chart(tmp_path):
    """A small landscape PNG standing in for chart.png (16:10, as the chart is drawn)."""
    path = tmp_path / "chart.png"
    Image.new("RGB", (160, 100), "white").save(path)
    return path


def saved(tmp_path, draft: bool = False, chart=None):
    path = tmp_path / ("draft.docx" if draft else "bulletin.docx")
    if chart is None:
        write_docx(bulletin(draft), path)  # the two-argument call of before the chart
    else:
        write_docx(bulletin(draft), path, chart)
    return Document(str(path))


def doc_grid(document):
    return document.sections[0]._sectPr.find(qn("w:docGrid"))


def east_asian_font(font) -> str | None:
    return font.element.rPr.rFonts.get(qn("w:eastAsia"))


def field_instructions(paragraph) -> list[str]:
    return [i.text.strip() for i in paragraph._p.iter(qn("w:instrText"))] + \
        [f.get(qn("w:instr")).strip() for f in paragraph._p.iter(qn("w:fldSimple"))]


def test_page_is_a4_portrait_with_gb9704_margins(tmp_path):
    section = saved(tmp_path).sections[0]
    assert (round(section.page_width.mm, 1), round(section.page_height.mm, 1)) == (210.0, 297.0)
    margins = {"top": section.top_margin.mm, "bottom": section.bottom_margin.mm,
               "left": section.left_margin.mm, "right": section.right_margin.mm}
    assert margins == {"top": pytest.approx(37, abs=0.1), "bottom": pytest.approx(35, abs=0.1),
                       "left": pytest.approx(28, abs=0.1), "right": pytest.approx(26, abs=0.1)}
    assert section.gutter.mm == 0


def test_grid_lays_out_22_lines_of_28_characters(tmp_path):
    document = saved(tmp_path)
    section, grid = document.sections[0], doc_grid(document)
    assert grid.get(qn("w:type")) == "linesAndChars"
    assert grid.get(qn("w:linePitch")) == "579"  # 225 mm / 22 lines, in twips, rounded down
    text_height = section.page_height.twips - section.top_margin.twips - section.bottom_margin.twips
    assert text_height // int(grid.get(qn("w:linePitch"))) == 22
    # Word's character pitch: the Normal style's size plus charSpace (4096ths of a point)
    pitch_pt = document.styles["Normal"].font.size.pt + int(grid.get(qn("w:charSpace"))) / 4096
    text_width_pt = (section.page_width.twips - section.left_margin.twips - section.right_margin.twips) / 20
    assert int(text_width_pt // pitch_pt) == 28
    normal = document.styles["Normal"].paragraph_format
    assert normal.line_spacing_rule == WD_LINE_SPACING.EXACTLY and normal.line_spacing.twips == 579


def test_body_is_fangsong_16pt_and_title_xiaobiaosong_22pt(tmp_path):
    document = saved(tmp_path)
    normal = document.styles["Normal"].font
    assert normal.size.pt == 16 and east_asian_font(normal) == "仿宋_GB2312"
    title = document.paragraphs[0]
    assert title.text == TITLE and title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert [(r.font.size.pt, east_asian_font(r.font)) for r in title.runs] == [(22, "方正小标宋简体")]
    unit = next(p for p in document.paragraphs if p.text.startswith("市民政局："))
    assert [(r.text, bool(r.bold)) for r in unit.runs] == [("市民政局", True), ("：累计走访慰问困难群众17882户。", False)]
    indent = unit._p.pPr.ind
    assert indent.get(qn("w:firstLineChars")) == "200"  # two characters
    assert [p.text for p in document.paragraphs] == [b.text for b in bulletin().blocks]  # one paragraph a block


def test_footers_carry_a_page_field_between_dashes_right_on_odd_pages_left_on_even(tmp_path):
    document = saved(tmp_path)
    section = document.sections[0]
    assert document.settings.odd_and_even_pages_header_footer
    for footer, alignment in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                              (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        assert not footer.is_linked_to_previous
        (paragraph,) = footer.paragraphs
        assert field_instructions(paragraph) == ["PAGE"]
        assert paragraph.text == "— 1 —"  # the field's last shown value between the dashes
        assert paragraph.alignment == alignment
        assert {(r.font.size.pt, east_asian_font(r.font)) for r in paragraph.runs} == {(14, "宋体")}


def test_chart_is_a_text_width_picture_between_the_units_and_the_notes(tmp_path, chart):
    document = saved(tmp_path, chart=chart)
    (picture,) = document.inline_shapes
    assert picture.width.mm == pytest.approx(156, abs=0.1)
    assert picture.height.mm == pytest.approx(156 * 100 / 160, abs=0.1)
    texts = [p.text for p in document.paragraphs]
    at = next(n for n, p in enumerate(document.paragraphs) if p._p.findall(".//" + qn("w:drawing")))
    assert (texts[at - 1], texts[at], texts[at + 1]) == (LAST_UNIT, "", "注：")
    # not held to the body's exact 28.95 pt line, which would cut the picture to one line
    assert document.paragraphs[at].paragraph_format.line_spacing_rule != WD_LINE_SPACING.EXACTLY


def test_without_a_chart_there_is_no_picture(tmp_path):
    assert len(saved(tmp_path).inline_shapes) == 0


def test_draft_says_so_in_the_header_of_every_page_and_in_its_title(tmp_path, chart):
    document = saved(tmp_path, draft=True, chart=chart)
    section = document.sections[0]
    for header in (section.header, section.even_page_header):
        assert not header.is_linked_to_previous
        (paragraph,) = header.paragraphs
        assert paragraph.text == DRAFT_MARK and paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER
        assert [(bool(r.bold), r.font.color.rgb) for r in paragraph.runs] == [(True, RGBColor(0xC0, 0x00, 0x00))]
    assert document.core_properties.title == DRAFT_MARK + TITLE  # marked once, though the title block has it
    assert document.paragraphs[0].text == DRAFT_MARK + TITLE


def test_release_has_no_draft_mark(tmp_path):
    document = saved(tmp_path)
    section = document.sections[0]
    headers = "".join(p.text for h in (section.header, section.even_page_header) for p in h.paragraphs)
    assert DRAFT_MARK not in headers
    assert document.core_properties.title == TITLE


def test_draft_title_property_is_marked_even_when_the_title_block_is_not(tmp_path):
    path = tmp_path / "bulletin.docx"
    unmarked = bulletin(draft=False)
    write_docx(Bulletin(unmarked.day, unmarked.blocks, (), draft=True), path)
    assert Document(str(path)).core_properties.title == DRAFT_MARK + TITLE


def test_core_properties_are_of_the_day_not_the_clock(tmp_path):
    properties = saved(tmp_path).core_properties
    midnight = dt.datetime(2023, 12, 20, tzinfo=dt.timezone.utc)  # python-docx reads the stamps back as UTC
    assert (properties.author, properties.created, properties.modified, properties.revision) == \
        ("warmline", midnight, midnight, 1)
