"""bulletin.docx: the bulletin's blocks as a Word document in the layout of an official release."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.image.image import Image
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor, Twips

from transforms.bulletin.text import Bulletin
from transforms.day.gate import DRAFT_MARK

# GB/T 9704-2012 (党政机关公文格式): A4 portrait; 天头 (top) 37 mm and 订口 (binding side, left) 28 mm leave a
# 156 × 225 mm 版心, a page of 22 lines of 28 characters (§5.2.2); title 小标宋 二号 (22 pt), body 仿宋 三号
# (16 pt); page numbers 4号 半角宋体 as "— 1 —", odd pages right and even pages left, one character in (§7.5).
# Word substitutes a font the editor's machine lacks, so the names only need to be the usual ones.
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
TOP_MARGIN, BOTTOM_MARGIN, LEFT_MARGIN, RIGHT_MARGIN = Mm(37), Mm(35), Mm(28), Mm(26)
TEXT_WIDTH, TEXT_HEIGHT = Emu(PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN), Emu(PAGE_HEIGHT - TOP_MARGIN - BOTTOM_MARGIN)
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28
PAGE_NUMBER_GAP = Mm(7)  # the dashes of the page number stand 7 mm below the text block
TITLE_FONT, BODY_FONT, PAGE_NUMBER_FONT, LATIN_FONT = "方正小标宋简体", "仿宋_GB2312", "宋体", "Times New Roman"
SIZES = {"title": Pt(22), "dateline": Pt(16), "body": Pt(16), "unit": Pt(16), "notes_head": Pt(14), "note": Pt(14)}
PAGE_NUMBER_SIZE = Pt(14)
DASH = "\u2014"  # 一字线

# Rounded down so that the lines and characters named above still fit the text block.
LINE_PITCH = Twips(TEXT_HEIGHT.twips // LINES_PER_PAGE)  # 579 twips ≈ 28.95 pt ≈ 10.2 mm
CHAR_PITCH_PT = TEXT_WIDTH.twips / 20 / CHARS_PER_LINE  # ≈ 15.79 pt: 28 characters of 16 pt are 2 mm too wide
DRAFT_COLOUR = RGBColor(0xC0, 0x00, 0x00)
BODY_KINDS, NOTE_KINDS = ("body", "unit"), ("notes_head", "note")


def write_docx(bulletin: Bulletin, path: Path, chart: Path | None = None) -> None:
    """Write the bulletin to `path` as .docx: one Word paragraph per block, unit names in bold, and the chart,
    when given, as a picture the width of the text between the last unit's paragraph and the notes."""
    document = Document()
    draft = getattr(bulletin, "draft", False)
    _page_layout(document)
    normal = document.styles["Normal"]
    _font(normal.font, BODY_FONT, SIZES["body"])
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = LINE_PITCH
    normal.paragraph_format.space_before = normal.paragraph_format.space_after = Pt(0)
    _page_numbers(document)
    if draft:
        _draft_headers(document)
    properties = document.core_properties
    title = bulletin.blocks[0].text
    properties.title = title if not draft or title.startswith(DRAFT_MARK) else DRAFT_MARK + title
    properties.author = properties.last_modified_by = "warmline"
    # The day the figures are as of, not the clock: the same warehouse gives the same document properties.
    properties.created = properties.modified = dt.datetime.combine(bulletin.day, dt.time())
    properties.revision = 1
    chart_placed = chart is None
    for block in bulletin.blocks:
        if not chart_placed and block.kind in NOTE_KINDS:
            _picture(document, chart)
            chart_placed = True
        paragraph = document.add_paragraph()
        if block.kind in ("title", "dateline"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif block.kind in BODY_KINDS:
            _indent_two_characters(paragraph)
        for run in block.runs:
            r = paragraph.add_run(run.text)
            r.bold = run.bold or block.kind == "title"
            _font(r.font, TITLE_FONT if block.kind == "title" else BODY_FONT, SIZES[block.kind])
    if not chart_placed:  # a bulletin without notes
        _picture(document, chart)
    document.save(str(path))


def _page_layout(document) -> None:
    """A4 portrait, GB/T 9704 margins, and a grid of 22 lines of 28 characters Word lays the text out on."""
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = TOP_MARGIN, BOTTOM_MARGIN
    section.left_margin, section.right_margin = LEFT_MARGIN, RIGHT_MARGIN
    section.gutter = Mm(0)
    section.footer_distance = Emu(BOTTOM_MARGIN - PAGE_NUMBER_GAP - PAGE_NUMBER_SIZE)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(LINE_PITCH.twips))
    # Word's character pitch is the Normal font size plus charSpace, in 4096ths of a point.
    grid.set(qn("w:charSpace"), str(math.floor((CHAR_PITCH_PT - SIZES["body"].pt) * 4096)))


def _indent_two_characters(paragraph) -> None:
    """First line in by two characters: in grid characters (firstLineChars), which is what Word obeys, and in
    length for readers that know only that."""
    paragraph.paragraph_format.first_line_indent = Twips(round(CHAR_PITCH_PT * 20 * 2))
    paragraph._p.get_or_add_pPr().get_or_add_ind().set(qn("w:firstLineChars"), "200")


def _page_numbers(document) -> None:
    """'— 1 —' in every footer, right on odd pages and left on even ones, each one character in from the edge."""
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    for footer, alignment in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                              (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.alignment = alignment
        spacing = paragraph.paragraph_format
        spacing.line_spacing_rule, spacing.line_spacing = WD_LINE_SPACING.EXACTLY, PAGE_NUMBER_SIZE
        spacing.space_before = spacing.space_after = Pt(0)
        _no_grid(paragraph)
        if alignment == WD_ALIGN_PARAGRAPH.RIGHT:
            spacing.right_indent = PAGE_NUMBER_SIZE
        else:
            spacing.left_indent = PAGE_NUMBER_SIZE
        _page_number_run(paragraph, f"{DASH} ")
        _page_number_run(paragraph, field="begin")
        _page_number_run(paragraph, " PAGE ", instruction=True)
        _page_number_run(paragraph, field="separate")
        _page_number_run(paragraph, "1")  # shown until Word updates the field
        _page_number_run(paragraph, field="end")
        _page_number_run(paragraph, f" {DASH}")


def _page_number_run(paragraph, text: str = "", *, field: str | None = None, instruction: bool = False) -> None:
    """A run of the page number in 4号 宋体: plain text, a field character, or the field's instruction."""
    run = paragraph.add_run()
    font = run.font
    font.size = PAGE_NUMBER_SIZE
    fonts = font.element.get_or_add_rPr().get_or_add_rFonts()
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia"):  # 半角 numerals in 宋体 too
        fonts.set(qn(script), PAGE_NUMBER_FONT)
    if field:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), field)
        run._r.append(char)
    elif instruction:
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = text
        run._r.append(instr)
    else:
        run.text = text


def _draft_headers(document) -> None:
    """草稿（未发布） at the head of every page, odd and even, so no page printed alone passes for the release."""
    section = document.sections[0]
    for header in (section.header, section.even_page_header):
        header.is_linked_to_previous = False
        paragraph = header.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(DRAFT_MARK)
        run.bold = True
        _font(run.font, BODY_FONT, SIZES["body"])
        run.font.color.rgb = DRAFT_COLOUR


def _picture(document, chart: Path) -> None:
    """The chart, centred in a paragraph of its own, the width of the text block (or its height, would it
    otherwise overrun the page)."""
    image = Image.from_file(str(chart))
    width = TEXT_WIDTH
    if image.px_height * TEXT_WIDTH > image.px_width * TEXT_HEIGHT:
        width = Emu(TEXT_HEIGHT * image.px_width // image.px_height)
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # Not the body's exact line height: a picture in an exact-height line is cut to that line.
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _no_grid(paragraph)
    paragraph.add_run().add_picture(str(chart), width=width)


def _no_grid(paragraph) -> None:
    """Keep the paragraph off the document grid: its own line height, not a multiple of the 22-line pitch."""
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    paragraph._p.get_or_add_pPr().insert_element_before(snap, *_AFTER_SNAP_TO_GRID)


# The children w:pPr may have after w:snapToGrid, in the schema's order (a misplaced child makes Word refuse the file).
_AFTER_SNAP_TO_GRID = ("w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                       "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
                       "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")


def _font(font, east_asian: str, size) -> None:
    """Set the Latin and the East Asian font: Word takes Chinese characters from w:eastAsia."""
    font.name = LATIN_FONT
    font.size = size
    font.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)
