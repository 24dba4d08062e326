"""Text that leaves warmline: spreadsheet cells that cannot run as formulas, file names that stay in their folder."""

import os

import pytest

from transforms.core.safe_text import defuse, readable_name, redact_personal, safe_file_name


@pytest.mark.parametrize(("text", "written"), [
    ("=HYPERLINK(\"http://evil.example\",\"点击\")", "'=HYPERLINK(\"http://evil.example\",\"点击\")"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+86 751 1234567", "'+86 751 1234567"), ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"), ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"),
    ("犁市镇", "犁市镇"), ("a=b", "a=b"), ("", ""), ("'already quoted", "'already quoted"), ("约418.5万元", "约418.5万元"),
])
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text, written):
    assert defuse(text) == written


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "_.._etc_passwd"),
    ("..\\..\\浈江区统计表.xlsx", "_.._浈江区统计表.xlsx"),
    (".hidden.xlsx", "hidden.xlsx"),
    ("南雄市\n报表\x1b[31m.xlsx", "南雄市_报表_[31m.xlsx"),
    ("report\u202excod.txt", "report_xcod.txt"),  # a right-to-left override would show it as report.docx
    ("🔥浈江区_统计表😀.xlsx", "🔥浈江区_统计表😀.xlsx"),
    ("浈江区 寒冬 送温暖 统计表 .xlsx", "浈江区 寒冬 送温暖 统计表 .xlsx"),
    ("", "file"), ("..", "file"), ("/", "_"),
])
def test_a_name_from_outside_becomes_one_harmless_name(name, safe):
    assert safe_file_name(name) == safe


def test_a_300_character_name_is_cut_to_whole_characters_within_the_byte_limit():
    name = "浈江区寒冬送温暖统计表" * 27 + "😀" * 3  # 300 characters, 903 bytes in UTF-8
    assert len(name) == 300
    safe = safe_file_name(name, max_bytes=200)
    assert len(safe.encode("utf-8")) <= 200 and name.startswith(safe) and len(safe) == 66
    assert len(f"{safe_file_name(name)}.0123456789ab.txt".encode("utf-8")) <= 255  # a report name on ext4


def test_a_gbk_name_from_a_usb_stick_reads_as_chinese():
    undecodable = os.fsdecode("始兴县_20231222.xlsx".encode("gbk"))  # how os.listdir gives it on a UTF-8 system
    assert readable_name(undecodable) == "始兴县_20231222.xlsx"
    assert safe_file_name(undecodable) == "始兴县_20231222.xlsx"
    assert readable_name(os.fsdecode(b"\xff\xfe.xlsx")) == "\\xff\\xfe.xlsx"


@pytest.mark.parametrize(("text", "redacted"), [
    ("浈江区_联系人13812345678.xlsx", "浈江区_联系人138****5678.xlsx"),
    ("名单_440204196501011234.xlsx", "名单_440204********1234.xlsx"),
    ("名单_44020419650101123X.xlsx", "名单_440204********123X.xlsx"),
    ("浈江区_寒冬送温暖统计表_20231220.xlsx", "浈江区_寒冬送温暖统计表_20231220.xlsx"),
    ("统计表!B5 + 统计表!B6", "统计表!B5 + 统计表!B6"),
])
def test_phone_and_id_numbers_in_a_name_are_masked(text, redacted):
    assert redact_personal(text) == redacted


def test_the_workbook_warmline_writes_keeps_formula_like_text_as_text(tmp_path, ref):
    import openpyxl

    from transforms.read.template import FilledRow, write_submission

    path = write_submission(tmp_path / "t.xlsx", ref, "=HYPERLINK(\"http://evil.example\")", None,
                            [FilledRow("=1+1", {"走访慰问户数（户）": "@SUM(A1)"}), FilledRow("+犁市镇")])
    sheet = openpyxl.load_workbook(path).active  # formulas as formulas: a text cell has data_type "s"
    cells = [sheet["B2"], sheet["A5"], sheet["B5"], sheet["A6"]]
    assert [(c.value, c.data_type) for c in cells] == [
        ("=HYPERLINK(\"http://evil.example\")", "s"), ("=1+1", "s"), ("@SUM(A1)", "s"), ("+犁市镇", "s")]
