"""A bulletin never carries household-level or personal data, even when a county sends a list of households."""

from __future__ import annotations

import csv
import datetime as dt
import os

import docx

from tests.conftest import ingest_inbox
from tests.fuzz.make_fuzz import inline, sheet_xml, xlsx
from transforms import warehouse
from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
from transforms.read.worked_example import DEMO_DATE

PERSONAL = ("张三丰", "王五", "440204196501011234", "44020419780202567X", "13812345678", "13900001111", "李四",
            "风度街12号")
HOUSEHOLDS = [("张三丰", "440204196501011234", "13812345678", 1, 500, "低保户，住风度街12号"),
              ("王五", "44020419780202567X", "13712345678", 1, 800, "特困")]


def household_list() -> bytes:
    """A 走访名单: one row per household with name, identity number and phone, as some counties keep them."""
    head = ["户主姓名", "身份证号", "联系电话", "走访慰问户数（户）", "发放资金（元）", "备注"]
    letters = "ABCDEF"
    rows = [f'<row r="1">{inline("A1", "填报单位：浈江区民政局")}</row>',
            f'<row r="2">{inline("A2", "统计截止日期：2023-12-20")}</row>',
            '<row r="3">' + "".join(inline(f"{c}3", h) for c, h in zip(letters, head)) + "</row>"]
    for r, values in enumerate(HOUSEHOLDS, start=4):
        cells = [inline(f"{c}{r}", v) if isinstance(v, str) else f'<c r="{c}{r}"><v>{v}</v></c>'
                 for c, v in zip(letters, values)]
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    rows.append(f'<row r="7">{inline("A7", "填表人：李四    联系电话：13900001111")}</row>')
    return xlsx(sheet_xml("".join(rows)))


def test_a_household_list_reaches_the_bulletin_only_as_the_units_sums(home, ingestor):
    path = home.inbox / "浈江区_走访名单_联系人13812345678.xlsx"
    path.write_bytes(household_list())
    landed = dt.datetime(2023, 12, 20, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
    os.utime(path, (landed, landed))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, outcome.unit_code) == ("loaded", "440204"), outcome.reason
    assert sorted((f.indicator, f.value) for f in outcome.facts) == [("funds_disbursed", 1300),
                                                                     ("households_visited", 2)]

    con = warehouse.connect(home.warehouse, read_only=True)
    try:
        written = write_bulletin(con, DEMO_DATE, bulletin_folder(home.bulletins, DEMO_DATE),
                                 load_wording(home.reference))
    finally:
        con.close()
    texts = {
        "bulletin.md": (bulletin_folder(home.bulletins, DEMO_DATE) / "bulletin.md").read_text(encoding="utf-8"),
        "bulletin.docx": "\n".join(p.text for p in docx.Document(str(written[1])).paragraphs),
        "figures.csv": (bulletin_folder(home.bulletins, DEMO_DATE) / "figures.csv").read_text(encoding="utf-8-sig"),
    }
    assert {name: [p for p in PERSONAL if p in text] for name, text in texts.items()} == \
        {name: [] for name in texts}
    assert "走访慰问困难群众2户" in texts["bulletin.md"]  # the unit's sum is there
    rows = list(csv.DictReader((bulletin_folder(home.bulletins, DEMO_DATE) / "figures.csv")
                               .open(encoding="utf-8-sig", newline="")))
    assert {r["file_name"] for r in rows if r["file_name"]} == {"浈江区_走访名单_联系人138****5678.xlsx"}
