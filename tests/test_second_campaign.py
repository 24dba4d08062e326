"""Any campaign as data: a second campaign, unlike the shipped one in city, units, indicators, headline figures,
money written in 万元, goods counted in 份 and the bulletin's wording, runs through `warmline run` to its
city-wide figures and bulletin with nothing but its reference files (tests/fixtures/campaigns/)."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from tests.conftest import BIN, REPO, clean_env
from tests.test_cli import warmline
from transforms.core.reference import load_reference
from transforms.read.template import FilledRow, write_submission

pytestmark = pytest.mark.slow

CAMPAIGN = REPO / "tests" / "fixtures" / "campaigns" / "qingyuan_spring_festival"
DAY = dt.date(2024, 2, 5)
OLD, FAMILIES, GRANTS = "走访慰问老年人（人）", "走访慰问困难家庭（户）", "发放春节慰问金（万元）"
PACKS, STAPLES, VOLUNTEERS = "年货礼包（份）", "米面油（份）", "志愿者（人次）"


def test_a_second_campaign_runs_to_its_own_figures_and_bulletin(tmp_path, prefect_server):
    home = tmp_path / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    for source in CAMPAIGN.iterdir():  # the campaign's reference replaces the shipped one's
        shutil.copyfile(source, home / "data" / "reference" / source.name)
    ref = load_reference(home / "data" / "reference")

    # the clerks' template is the campaign's own: its file name and columns
    blank = subprocess.run([str(BIN / "warmline"), "template", "--unit", "英德市"], capture_output=True, text=True,
                           cwd=home, env=clean_env(WARMLINE_HOME=str(home)), timeout=120)
    assert blank.returncode == 0, blank.stderr
    template = home / "英德市_春节走访慰问统计表.xlsx"
    assert f"wrote {template.name}" in blank.stdout
    rows = CalamineWorkbook.from_path(str(template)).get_sheet_by_index(0).to_python()
    assert rows[3][1:] == [OLD, FAMILIES, GRANTS, PACKS, STAPLES, "年货合计（份）", VOLUNTEERS]

    inbox = home / "data" / "raw" / "inbox"
    write_submission(inbox / "清城区.xlsx", ref, "清城区", DAY, [
        FilledRow("凤城街道", {OLD: 320, FAMILIES: 150, GRANTS: 12.5, PACKS: 150, STAPLES: 60, VOLUNTEERS: 40}),
        FilledRow("东城街道", {OLD: 180, FAMILIES: 95, GRANTS: "8", PACKS: 95}),
    ])
    write_submission(inbox / "佛冈县.xlsx", ref, "佛冈县", DAY, [
        FilledRow("石角镇", {OLD: "210余", FAMILIES: 88, GRANTS: "约6.2", PACKS: 88, STAPLES: 40, VOLUNTEERS: 25}),
    ])
    write_submission(inbox / "市民政局.xlsx", ref, "清远市民政局", DAY, [
        FilledRow("市本级", {OLD: 60, FAMILIES: 30, GRANTS: 3, PACKS: 30}),
    ])
    run = warmline(home, "run", "--date", DAY.isoformat(), server=prefect_server)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "清远市2024年春节走访慰问活动 — city-wide figures as of 2024-02-05" in lines
    # 320 + 180 + 210余 + 60; 150 + 95 + 88 + 30; (12.5 + 8 + 约6.2 + 3)万元; 礼包 363 and 米面油 100
    assert "  elderly visited: at least 770 人 (at_least)" in lines
    assert "  families visited: 363 户" in lines
    assert "  funds disbursed: about 297,000 yuan (approx)" in lines
    assert "  items issued: 463 份" in lines
    assert "  units: 3 reporting, 0 carried forward, 2 missing" in lines
    assert "2 units missing: 清新区, 英德市" in lines
    assert "Files: 3 loaded, 0 superseded, 0 duplicate, 0 rejected" in lines

    con = duckdb.connect(str(home / "data" / "warehouse" / "warmline.duckdb"), read_only=True)
    try:
        # marts.headline has a column for each of this campaign's headline indicators, and none of the other's
        assert con.execute("SELECT elderly_visited, elderly_visited_qualifier, families_visited, funds_disbursed, "
                           "funds_disbursed_qualifier, items_issued FROM marts.headline WHERE as_of_date = ?",
                           [DAY]).fetchall() == [(770.0, "at_least", 363.0, 297000.0, "approx", 463.0)]
        columns = {name for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = 'headline'"
        ).fetchall()}
        assert "households_visited" not in columns and "patrols_run" not in columns
        assert con.execute("SELECT item_type, value FROM marts.city_items_by_type WHERE as_of_date = ? ORDER BY 1",
                           [DAY]).fetchall() == [("年货礼包", 363.0), ("米面油", 100.0)]
        assert con.execute("SELECT value FROM marts.city_totals WHERE as_of_date = ? AND indicator = 'volunteers'",
                           [DAY]).fetchall() == [(65.0,)]
    finally:
        con.close()

    # the bulletin in the campaign's own words, its headline written by its own [bulletin.headline_numbers]
    bulletin = home / "data" / "bulletins" / DAY.isoformat()
    text = (bulletin / "bulletin.md").read_text(encoding="utf-8")
    assert ("清远市2024年春节走访慰问活动自1月22日开展以来，截至2月5日，全市累计走访慰问高龄、空巢老人770余人，"
            "走访慰问困难家庭363户，发放春节慰问金约29.7万元，送去年货463份。") in text
    assert "清城区" in text and "年货礼包245份" in text and "组织志愿者40人次" in text
    with (bulletin / "figures.csv").open(encoding="utf-8-sig", newline="") as fh:
        printed = {(r["indicator"], r["unit_name"]): r["text_as_published"] for r in csv.DictReader(fh)}
    assert printed[("elderly_visited", "全市（清远市）")] == "770余人"
    assert printed[("funds_disbursed", "全市（清远市）")] == "约29.7万元"
