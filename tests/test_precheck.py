"""The precheck (transforms/read/precheck.py): refuse what could hurt the reader, before any reader opens it."""

from __future__ import annotations

import runpy
import zlib

import pytest

from tests.conftest import REPO
from tests.fuzz.make_fuzz import (CT, NS, SHARED_STRINGS, compound_file, deflated_spaces, inline, ods, raw_zip,
                                  sheet_xml, xlsx, zip_bytes)
from transforms.read.precheck import precheck
from transforms.read.template import write_submission
from transforms.read.worked_example import write_demo


def rules(content: bytes, name: str = "浈江区.xlsx") -> list[str]:
    return [i.rule for i in precheck(content, name)]


def test_every_workbook_of_the_messy_corpus_and_the_demo_passes(tmp_path, ref):
    """No false alarms: xlsxwriter, xlwt, hand-written ods and CSVs in four encodings, as counties send them."""
    runpy.run_path(str(REPO / "tests" / "fixtures" / "make_fixtures.py"))["main"]([str(tmp_path / "corpus")])
    files = [p for p in (tmp_path / "corpus").iterdir() if p.suffix != ".json"]
    files += write_demo(tmp_path / "demo", ref) + [write_submission(tmp_path / "blank.xlsx", ref)]
    assert len(files) > 40
    assert {p.name: precheck(p.read_bytes(), p.name) for p in files} == {p.name: [] for p in files}


def test_a_formatted_empty_cell_at_the_far_corner_is_no_problem():
    """Whole columns formatted down to row 1,048,576 leave empty <c/> cells; the reader skips them too."""
    sheet = sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>'
                      '<row r="1048576"><c r="XFD1048576" s="1"/></row>')
    assert precheck(xlsx(sheet), "浈江区.xlsx") == []


def test_a_far_corner_cell_is_refused_with_where_it_is():
    sheet = sheet_xml(f'<row r="1">{inline("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    [issue] = precheck(xlsx(sheet), "浈江区.xlsx")
    assert (issue.rule, issue.message_en) == (
        "sheet-too-large", "sheet '统计表' spans too large an area (A1 to XFD1048576, 17,179,869,184 cells; the "
        "limit is 5,000,000) — delete whatever lies far outside the table and send it again")
    assert issue.message_zh.startswith("工作表“统计表”的数据区域过大（从 A1 到 XFD1048576")


def _rows(n: int, cells: str = "") -> str:
    return f'<row r="{n}"><c r="A{n}"><v>1</v></c>{cells}</row>'


SPACES_20MIB, SPACES_CRC = deflated_spaces(20 * 2**20)


@pytest.mark.parametrize(("case", "content", "name", "rule"), [
    ("empty", b"", "a.xlsx", "empty-file"),
    ("html named xls", b"<html><table><tr><td>1</td></tr></table></html>", "a.xls", "not-a-workbook"),
    ("pdf named xlsx", b"%PDF-1.7 ...", "a.xlsx", "not-a-workbook"),
    ("zip cut short", xlsx(sheet_xml(_rows(1)))[:-30], "a.xlsx", "unreadable-file"),
    ("bad checksum", raw_zip([("xl/worksheets/sheet1.xml", zlib.compress(b"<a/>")[2:-4], 4, 12345, 8)]),
     "a.xlsx", "unreadable-file"),
    ("part larger than declared", raw_zip([("xl/worksheets/sheet1.xml", SPACES_20MIB, 1024,
                                            zlib.crc32(b" " * 1024), 8)]), "a.xlsx", "unsafe-file"),
    ("declared 1 GiB", raw_zip([("xl/worksheets/sheet1.xml", b"", 2**30, 0, 8)]), "a.xlsx", "file-too-large"),
    ("inflates 1000:1", raw_zip([("xl/worksheets/sheet1.xml", SPACES_20MIB, 20 * 2**20, SPACES_CRC, 8)]), "a.xlsx",
     "unsafe-file"),
    ("compression method 12", raw_zip([("xl/worksheets/sheet1.xml", b"BZh9", 4, 0, 12)]), "a.xlsx", "unsafe-file"),
    ("20,000 parts", zip_bytes({f"x/{i}.xml": "<a/>" for i in range(20_000)}), "a.xlsx", "unsafe-file"),
    ("DOCTYPE in a sheet", xlsx(sheet_xml(_rows(1), prolog='<!DOCTYPE x [<!ENTITY a "b">]>')), "a.xlsx",
     "unsafe-file"),
    ("ENTITY in shared strings",
     xlsx(sheet_xml(_rows(1)), shared=SHARED_STRINGS.replace("<sst", '<!ENTITY a "b"><sst')), "a.xlsx", "unsafe-file"),
    ("4e9 shared strings", xlsx(sheet_xml(_rows(1)), shared=SHARED_STRINGS.replace('count="1"', 'count="4000000000"')),
     "a.xlsx", "unsafe-file"),
    ("cell beyond XFD", xlsx(sheet_xml(_rows(1, '<c r="XFE1"><v>1</v></c>'))), "a.xlsx", "unsafe-file"),
    ("row beyond 1048576", xlsx(sheet_xml(_rows(1048577))), "a.xlsx", "unsafe-file"),
    ("merge beyond the sheet",
     xlsx(sheet_xml(_rows(1), after='<mergeCells><mergeCell ref="A1:B2000000"/></mergeCells>')), "a.xlsx", "unsafe-file"),
    ("10,001 rows", xlsx(sheet_xml(_rows(10_001))), "a.xlsx", "too-many-rows"),
    ("rows counted without r=", xlsx(sheet_xml(_rows(10_000) + "<row><c><v>1</v></c></row>")), "a.xlsx",
     "too-many-rows"),
    ("a repeated r= (the reader takes the last)", xlsx(sheet_xml(_rows(1, '<c r="B1" r="XFD1048576"><v>1</v></c>'))),
     "a.xlsx", "sheet-too-large"),
    ("400 rows x 16384 columns", xlsx(sheet_xml(_rows(400, '<c r="XFD400"><v>1</v></c>'))), "a.xlsx",
     "sheet-too-large"),
    ("x: namespace prefix", xlsx(sheet_xml("").replace("<sheetData></sheetData>", '<x:sheetData xmlns:x="x">'
                                                       '<x:row r="1"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>'
                                                       "</x:sheetData>")),
     "a.xlsx", "sheet-too-large"),
    ("three sheets of 4M cells",
     zip_bytes({f"xl/worksheets/sheet{i}.xml": sheet_xml(_rows(10_000, '<c r="OJ10000"><v>1</v></c>')) for i in (1, 2, 3)}),
     "a.xlsx", "sheet-too-large"),
    ("ods repeated rows", ods('<table:table-row table:number-rows-repeated="20000"><table:table-cell '
                              'office:value-type="float" office:value="1"/></table:table-row>'), "a.ods",
     "too-many-rows"),
    ("ods repeated columns", ods('<table:table-row table:number-rows-repeated="5000"><table:table-cell '
                                 'table:number-columns-repeated="5000" office:value-type="float" office:value="1"/>'
                                 "</table:table-row>"), "a.ods", "sheet-too-large"),
    ("ods with a password", ods("", manifest_extra="<manifest:encryption-data/>"), "a.ods", "encrypted-file"),
    ("xlsx with a password", compound_file({"EncryptionInfo": b"\x04\x00", "EncryptedPackage": b"x"}), "a.xlsx",
     "encrypted-file"),
    ("csv in UTF-16", "填报单位,浈江区\n".encode("utf-16"), "a.csv", "csv-encoding"),
    ("csv in Big5", ("填報單位：湞江區民政局\n統計截止日期,2023-12-20\n鎮（街道）,走訪慰問戶數（戶）\n".encode("big5",
                                                                                   errors="replace")), "a.csv",
     "csv-encoding"),
    ("csv of bytes", bytes(range(128, 256)) * 10, "a.csv", "csv-encoding"),
])
def test_a_file_that_could_hurt_the_reader_is_refused(case, content, name, rule):
    assert rules(content, name) == [rule]


def test_sound_variants_pass():
    ods_ok = ods('<table:table-row><table:table-cell office:value-type="string"><text:p>填报单位</text:p>'
                 '</table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1048575">'
                 '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>')
    assert [rules(c, n) for c, n in [
        (ods_ok, "a.ods"),  # LibreOffice's empty tail of repeated rows
        ("填报单位,浈江区\n镇（街道）,走访慰问户数（户）\n犁市镇,12\n".encode("gbk"), "a.csv"),
        ("填报单位,浈江区\n𠮷,1\n".encode("gb18030"), "a.csv"),
        (xlsx(sheet_xml(_rows(10_000))), "a.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "a.xls"),  # a legacy workbook: its reader is isolated
        (b"PK\x03\x04", "a.docx"),  # not a type warmline reads: the reader says which are
    ]] == [[]] * 6


def test_every_refusal_says_what_to_do_in_chinese_then_english():
    for content, name in [(b"", "a.xlsx"), (b"<html>", "a.xls"), (xlsx(sheet_xml(_rows(10_001))), "a.xlsx"),
                          (xlsx(sheet_xml(_rows(1), prolog="<!DOCTYPE x>")), "a.xlsx"), ("x".encode("utf-16"), "a.csv"),
                          (compound_file({"EncryptionInfo": b"\x04"}), "a.xlsx")]:
        [issue] = precheck(content, name)
        assert issue.severity == "error" and "请" in issue.message_zh and " — " in issue.message_en, issue


def test_the_declared_content_types_are_not_trusted():
    """A part named like a picture is still inflated and looked at."""
    sheet = sheet_xml(_rows(1, '<c r="XFD1048576"><v>1</v></c>'))
    assert rules(zip_bytes({"[Content_Types].xml": CT, "xl/media/image1.png": sheet})) == ["sheet-too-large"]
    assert NS in sheet


def test_formula_errors_are_refused_each_with_its_cell_and_the_rest_counted():
    errors = "".join(f'<row r="{n}">{inline(f"A{n}", "镇")}<c r="B{n}" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
                     for n in range(5, 20))
    issues = precheck(xlsx(sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>{errors}')), "浈江区.xlsx")
    assert [(i.rule, i.sheet, i.cell) for i in issues[:2]] == [("formula-error", "统计表", "B5"),
                                                               ("formula-error", "统计表", "B6")]
    assert len(issues) == 11 and issues[-1].message_en == "and 5 more cells hold formula errors — fix them too"
    # a formula that works (no t="e") is no problem
    assert precheck(xlsx(sheet_xml('<row r="5"><c r="B5"><f>1+1</f><v>2</v></c></row>')), "浈江区.xlsx") == []


def _one_issue(content: bytes) -> tuple[str, str, str]:
    [issue] = precheck(content, "浈江区.xlsx")
    return issue.rule, issue.message_zh, issue.message_en


TOWN = f'<row r="5">{inline("A5", "犁市镇")}'
NUL_LABEL = inline("A5", "犁市\x00镇")


@pytest.mark.parametrize(("case", "row", "cell", "found"), [
    ("undefined entity in a number", TOWN + '<c r="B5"><v>1&bogus;2</v></c></row>', "B5",
     "an undefined entity '&bogus;'"),
    ("undefined entity in a label", f'<row r="5">{inline("A5", "犁市&town;镇")}<c r="B5"><v>12</v></c></row>', "A5",
     "an undefined entity '&town;'"),
    ("a bare ampersand", TOWN + '<c r="B5"><v>1 & 2</v></c></row>', "B5", "an undefined entity '&'"),
    ("a NUL byte in a label", f'<row r="5">{NUL_LABEL}<c r="B5"><v>12</v></c></row>', "A5",
     "a control character XML does not allow (such as NUL)"),
    ("a NUL character reference", TOWN + f'{inline("B5", "走访&#0;户数")}</row>', "B5",
     "a control character XML does not allow (such as NUL)"),
    ("a cell left open", TOWN + '<c r="B5"><v>12</v></row>', "B5", "a tag that is not closed where it should be"),
    ("a thousands separator in a number cell", TOWN + '<c r="B5"><v>1,000</v></c></row>', "B5",
     "a number cell holds '1,000', which is no number"),
    ("an empty number cell value", TOWN + '<c r="B5"><v></v></c></row>', "B5", "a number cell holds '', which is no number"),
])
def test_a_sheet_that_is_not_well_formed_xml_is_refused_near_the_cell(case, row, cell, found):
    """Readers disagree on such a sheet (one reads 12, one stops, one drops the cell): nothing in it is taken."""
    rule, zh, en = _one_issue(xlsx(sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>{row}')))
    assert rule == "malformed-xml"
    assert en.startswith(f"the workbook's sheet '统计表' (near cell {cell}) is not well-formed ({found})"), en
    assert zh.startswith(f"文件内部的工作表“统计表”（{cell} 单元格附近）格式不正确"), zh


def test_a_sheet_stored_as_utf16_xml_is_refused_for_that_reason():
    sheet = sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>').replace('encoding="UTF-8"', 'encoding="UTF-16"')
    content = zip_bytes({"[Content_Types].xml": CT, "xl/worksheets/sheet1.xml": sheet.encode("utf-16")})
    rule, zh, en = _one_issue(content)
    assert rule == "malformed-xml" and "stored as UTF-16 XML" in en and "UTF-16" in zh


def test_a_part_the_package_holds_twice_is_refused_naming_it():
    """Two copies of one sheet, with different figures: which one a reader takes is up to the reader."""
    first, second = (sheet_xml(f'<row r="5">{inline("A5", "犁市镇")}<c r="B5"><v>{n}</v></c></row>') for n in (12, 120))
    content = raw_zip([(name, data.encode(), len(data.encode()), zlib.crc32(data.encode()), 0)
                       for name, data in [("[Content_Types].xml", CT), ("xl/worksheets/sheet1.xml", first),
                                          ("xl/worksheets/Sheet1.xml", second)]])
    rule, zh, en = _one_issue(content)
    assert rule == "unsafe-file" and "part xl/worksheets/Sheet1.xml appears twice" in en and "出现了两次" in zh


def test_pictures_and_other_binary_parts_are_not_read_as_xml():
    """Control bytes and ampersands in a picture are no fault: only the XML parts must be well-formed."""
    sheet = sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>')
    picture = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR&x" + bytes(range(32)) * 4
    assert precheck(zip_bytes({"[Content_Types].xml": CT, "xl/worksheets/sheet1.xml": sheet,
                               "xl/media/image1.png": picture}), "浈江区.xlsx") == []


def test_formula_errors_in_an_opendocument_sheet_are_refused_with_their_cells():
    """LibreOffice marks them calcext:value-type="error"; the reader sees an empty cell."""
    error = ('<table:table-cell table:formula="of:=1/0" office:value-type="string" office:string-value="" '
             'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
             'calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>')
    town = '<table:table-cell office:value-type="string"><text:p>犁市镇</text:p></table:table-cell>'
    issues = precheck(ods(f"<table:table-row>{town}<table:table-cell/>{error}</table:table-row>"
                          f"<table:table-row>{town}{error}</table:table-row>"), "浈江区.ods")
    assert [(i.rule, i.cell) for i in issues] == [("formula-error", "C1"), ("formula-error", "B2")]


def test_a_sheet_outside_spreadsheetml_or_cut_off_is_refused():
    """What the reader would take anyway: a sheet in another namespace, a sheet whose end is missing."""
    foreign = sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>').replace(NS, 'xmlns="urn:other"')
    rule, _, en = _one_issue(xlsx(foreign))
    assert rule == "malformed-xml" and "its root element <worksheet> is not in SpreadsheetML's namespace" in en
    cut = sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>').replace("</sheetData></worksheet>", "")
    rule, _, en = _one_issue(xlsx(cut))
    assert rule == "malformed-xml" and "(it ends before its content does)" in en, en


def _local_header_changed(content: bytes, part: bytes, offset: int, value: bytes) -> bytes:
    """The package with `value` written at `offset` of `part`'s own (local) header, its directory left alone."""
    at = content.find(b"PK\x03\x04" + content[4:4])
    while content[at + 30:at + 30 + len(part)] != part:
        at = content.find(b"PK\x03\x04", at + 4)
    return content[:at + offset] + value + content[at + offset + len(value):]


def test_a_package_described_two_ways_or_pointing_outside_itself_is_refused():
    good = xlsx(sheet_xml(f'<row r="1">{inline("A1", "填报单位：浈江区")}</row>'))
    assert precheck(good, "浈江区.xlsx") == []
    sheet = b"xl/worksheets/sheet1.xml"
    for changed in (_local_header_changed(good, sheet, 14, b"\0\0\0\0"),  # another checksum in the part's header
                    _local_header_changed(good, sheet, 6, b"\x01\0")):  # "encrypted" in the part's header only
        rule, _, en = _one_issue(changed)
        assert rule == "unsafe-file" and "described one way in its own header and another in the zip directory" in en
    outside = zip_bytes({"[Content_Types].xml": CT, "xl/worksheets/sheet1.xml": sheet_xml(""), "../../evil.xml": "<a/>"})
    rule, _, en = _one_issue(outside)
    assert rule == "unsafe-file" and "a part named ../../evil.xml, which points outside the package" in en
    rule, _, en = _one_issue(zip_bytes({"xl/worksheets/sheet1.xml": sheet_xml("")}))
    assert rule == "unreadable-file" and "no [Content_Types].xml" in en
