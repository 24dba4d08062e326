"""bulletin.docx: the bulletin's blocks as a Word document in the layout of an official release."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from transforms.bulletin_text import Bulletin

# GB/T 9704 (official documents): title in 小标宋 二号 (22 pt), body in 仿宋 三号 (16 pt), indented two
# characters. Word substitutes a font the editor's machine lacks, so the names only need to be the usual ones.
TITLE_FONT, BODY_FONT, LATIN_FONT = "方正小标宋简体", "仿宋_GB2312", "Times New Roman"
SIZES = {"title": Pt(22), "dateline": Pt(16), "body": Pt(16), "unit": Pt(16), "notes_head": Pt(14), "note": Pt(14)}


def write_docx(bulletin: Bulletin, path: Path) -> None:
    """Write the bulletin to `path` as .docx: one Word paragraph per block, unit names in bold."""
    document = Document()
    _font(document.styles["Normal"].font, BODY_FONT, SIZES["body"])
    properties = document.core_properties
    properties.title = bulletin.blocks[0].text
    properties.author = properties.last_modified_by = "warmline"
    # The day the figures are as of, not the clock: the same warehouse gives the same document properties.
    properties.created = properties.modified = dt.datetime.combine(bulletin.day, dt.time())
    properties.revision = 1
    for block in bulletin.blocks:
        paragraph = document.add_paragraph()
        if block.kind in ("title", "dateline"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif block.kind in ("body", "unit"):
            paragraph.paragraph_format.first_line_indent = SIZES["body"] * 2
        for run in block.runs:
            r = paragraph.add_run(run.text)
            r.bold = run.bold or block.kind == "title"
            _font(r.font, TITLE_FONT if block.kind == "title" else BODY_FONT, SIZES[block.kind])
    document.save(str(path))


def _font(font, east_asian: str, size) -> None:
    """Set the Latin and the East Asian font: Word takes Chinese characters from w:eastAsia."""
    font.name = LATIN_FONT
    font.size = size
    font.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)
