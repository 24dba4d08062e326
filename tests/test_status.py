"""`warmline status`: the statistician's day on the campaign scenario of test_checks (a late unit, a missing unit,
a falling cumulative figure, an outlier, a correction), its status.html, and the Data Docs it links."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from tests.conftest import ingest_inbox
from tests.test_checks import D, campaign, send  # noqa: F401 (campaign: the scenario fixture, used by name)
from transforms import warehouse
from transforms.day.gate import decide
from transforms.day.release_log import record_publication
from transforms.day.status import day_status
from transforms.day.status_page import render_status_page
from transforms.ingest.ingestor import Ingestor
from transforms.validate.data_docs import docs_index, split_kept_batches, stored_validations
from transforms.validate.suites import SubmissionValidator

DOCS = "data/quality/gx/uncommitted/data_docs/local_site/index.html"


@pytest.fixture
def ingestor(home, ref, validator, reader) -> Ingestor:
    """As conftest's, with a validator that keeps its results for Data Docs in data/quality/."""
    return Ingestor(home, ref, SubmissionValidator(ref, quality_dir=home.quality), reader, quiet_seconds=0)


def command_lines(home, *args: str) -> list[str]:
    """`warmline …` in this process (Great Expectations is loaded once per session); its lines."""
    from flows.cli import app

    result = CliRunner().invoke(app, list(args), env={"WARMLINE_HOME": str(home.home)})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def status(home, *args: str) -> list[str]:
    return command_lines(home, "status", *args)


def docs(home) -> list[str]:
    """`warmline docs`: builds the Data Docs pages still missing."""
    return command_lines(home, "docs")


def row(lines: list[str], *first: str) -> list[str]:
    """The cells of the one table row whose first cells are `first` (a cell folded over lines joined again)."""
    rows = []
    for line in lines:
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if rows and not cells[0] and len(cells) == len(rows[-1]):
            rows[-1] = [" ".join(p for p in pair if p) for pair in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    found = [r for r in rows if r[:len(first)] == list(first)]
    assert len(found) == 1, (first, found)
    return found[0]


def page_row(page: str, unit_code: str) -> str:
    """The text of a unit's row in status.html, tags stripped."""
    (tr,) = re.findall(rf'<tr class="unit [^"]*" data-unit="{unit_code}">.*?</tr>', page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", tr)).split())


def read_status(home, ref, day, stored=None):
    con = warehouse.connect(home.warehouse, read_only=True)
    try:
        return day_status(con, ref, day, stored)
    finally:
        con.close()


def test_status_prints_each_unit_on_time_late_or_missing_and_the_blocking_check(campaign):
    lines = status(campaign, "--date", "2023-12-20")
    assert lines[:2] == ["韶关市“寒冬送温暖”专项行动 — status of 2023-12-20 (deadline 17:00, Asia/Shanghai)",
                         "  units: 2 on time, 1 late, 0 carried forward, 9 missing"]
    # received in 2023, not this year: the year is shown
    assert row(lines, "翁源县") == ["翁源县", "440229", "late", "2023-12-20", "2023-12-20 21:00", "1", "70", "—", "—",
                                    "—", "loaded"]
    assert row(lines, "乐昌市") == ["乐昌市", "440281", "missing", "—", "—", "—", "—", "—", "—", "—", "—"]
    # a figure the unit left blank is shown blank, never as 0
    assert row(lines, "始兴县") == ["始兴县", "440222", "on time", "2023-12-20", "2023-12-20 09:00", "1", "450", "—",
                                    "—", "—", "loaded"]
    assert row(lines, "2023-12-20 21:00", "翁源县_1220_21.xlsx") == ["2023-12-20 21:00", "翁源县_1220_21.xlsx", "翁源县",
                                                                     "loaded", "0", ""]
    assert row(lines, "cumulative_falls") == ["cumulative_falls", "始兴县", "households_visited", "450",
                                              "≥ 500（12-18）", "BLOCKS"]
    assert row(lines, "late_units") == ["late_units", "翁源县", "", "12-20 21:00", "12-20 17:00 前 before", "warning"]
    assert "NOT PUBLISHED: 1 blocking check(s) fail for 2023-12-20 (cumulative_falls 始兴县 households_visited). " \
           "Fix the submissions, or publish anyway with `warmline run --date 2023-12-20 --force --reason \"…\"`." in lines
    # the pages are built on request (`warmline docs`), never by status: it only says how many are missing
    assert lines[-2:] == ["Data Docs: 20 validation result(s) have no page yet; `warmline docs` builds them.",
                          f"Status page: {campaign.bulletins / '2023-12-20' / 'status.html'}"]


def test_status_of_an_earlier_day_shows_the_carried_unit_and_the_correction(campaign):
    lines = status(campaign, "--date", "2023-12-19")
    assert row(lines, "始兴县") == ["始兴县", "440222", "carried forward", "2023-12-18", "2023-12-18 09:00", "1", "500",
                                    "—", "—", "—", "—"]
    assert row(lines, "浈江区") == ["浈江区", "440204", "on time", "2023-12-19", "2023-12-19 15:00", "2", "420", "—",
                                    "—", "40", "superseded, loaded"]
    superseded = row(lines, "2023-12-19 09:00")
    assert superseded[:5] == ["2023-12-19 09:00", "浈江区_1219_9.xlsx", "浈江区", "superseded", "0"]
    assert re.fullmatch(r"superseded by 浈江区_1219_corrected\.xlsx \([0-9a-f]{12}\), a later file for the same unit "
                        r"and date", superseded[5])
    assert lines[lines.index("Corrections of unit reports up to 2023-12-19:") + 1] == \
        "  2023-12-19 浈江区 households_visited: 400 → 420 (浈江区_1219_9.xlsx → 浈江区_1219_corrected.xlsx, " \
        "2023-12-19 15:00)"


def test_status_shows_an_outlier_as_a_warning(campaign):
    lines = status(campaign, "--date", "2023-12-21")
    assert row(lines, "outlier") == ["outlier", "浈江区", "households_visited", "+900", "+48 ~ +152", "warning"]
    assert "Not published yet; no blocking check fails: `warmline run --date 2023-12-21` publishes it." in lines


def test_an_accepted_override_no_longer_blocks(campaign):
    with (campaign.reference / "campaign.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[[overrides]]\ncheck = "cumulative_falls"\nunit = "440222"\ndate = 2023-12-20\n'
                   'reason = "12月18日数字含重复走访，已核实"\n')
    lines = status(campaign, "--date", "2023-12-20")
    assert row(lines, "cumulative_falls") == ["cumulative_falls", "始兴县", "households_visited", "450",
                                              "≥ 500（12-18）", "accepted: 12月18日数字含重复走访，已核实"]
    assert "Not published yet; no blocking check fails: `warmline run --date 2023-12-20` publishes it." in lines


def test_a_correction_after_publishing_is_called_out(campaign, ingestor, ref, tmp_path):
    day = D(2023, 12, 20)
    blocking = [c for c in read_status(campaign, ref, day).checks if c.blocks]
    con = warehouse.connect(campaign.warehouse)
    try:
        record_publication(con, decide(day, blocking, force=True, reason="始兴县已电话核实"), {})
    finally:
        con.close()
    send(campaign, ref, tmp_path, "始兴县", day, {"走访慰问户数（户）": 520}, at_hour=16, name="始兴县_1220_更正.xlsx")
    ingest_inbox(ingestor, day)

    lines = status(campaign, "--date", "2023-12-20")
    published = next(line for line in lines if line.startswith("Published"))
    # published this year: the date without the year
    assert re.fullmatch(r"Published \d\d-\d\d \d\d:\d\d \(Asia/Shanghai\) with --force past blocking check\(s\): "
                        r"cumulative_falls: 始兴县 households visited: the cumulative figure 450 is below the 500 "
                        r"reported on 2023-12-18; a cumulative figure cannot fall — ask the unit to correct it; "
                        r"reason: 始兴县已电话核实", published)
    assert lines[lines.index(published) + 1] == "  changed since: households_visited 1,020 → 1,090"
    assert row(lines, "始兴县")[2:7] == ["on time", "2023-12-20", "2023-12-20 16:00", "1", "520"]
    assert not [line for line in lines if line.startswith("│ cumulative_falls")]

    later = status(campaign, "--date", "2023-12-21")
    (changed,) = [line for line in later if line.startswith("  2023-12-20 households_visited")]
    assert re.fullmatch(r"  2023-12-20 households_visited: published 1,020 on \d\d-\d\d \d\d:\d\d, now 1,090", changed)


def test_status_page_is_self_contained_with_each_unit_and_the_blocking_check(campaign, ref):
    day = D(2023, 12, 20)
    folder = campaign.bulletins / day.isoformat()
    split_kept_batches(campaign.quality)  # as `warmline status` does: each batch's results split per file
    result = read_status(campaign, ref, day, stored_validations(campaign.quality))
    page = render_status_page(result, folder, docs_index(campaign.quality), dt.datetime(2023, 12, 20, 18, 5))

    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n')
    assert "default-src 'none'" in page and not re.search(r"https?://", page)
    assert page_row(page, "440229") == ("翁源县 440229 迟报 late 2023-12-20 2023-12-20 21:00 1 70 — — — 已入库 loaded "
                                        "翁源县_1220_21.xlsx 收到 received 2023-12-20 21:00 校验 validation: figures "
                                        "submission")
    assert page_row(page, "440281") == "乐昌市 440281 未报送 missing — — — — — — — —"
    assert '<tr class="unit row-late" data-unit="440229">' in page
    assert "始兴县走访慰问户数累计数450低于12月18日报送的500" in page
    assert '<span class="badge blocks">阻止发布 BLOCKS</span>' in page
    assert '<div class="banner blocked" id="publication"><p>未发布：1 项阻止发布的核查未通过 / NOT PUBLISHED: 1 ' \
           "blocking check(s) fail</p>" in page
    assert "浈江区_1219_9.xlsx → 浈江区_1219_corrected.xlsx" in page
    assert f'href="../../quality/gx/uncommitted/data_docs/local_site/index.html" id="data-docs"' in page

    hostile = dataclasses.replace(result, units=[
        {**u, "files": [{**f, "file_name": '<script>alert("x")</script>.xlsx'} for f in u["files"]]}
        for u in result.units])
    page = render_status_page(hostile, folder)
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;.xlsx" in page
    hostile = dataclasses.replace(result, units=[
        {**u, "files": [{**f, "file_name": "南雄市\x1b[31m\u202excod.xlsx"} for f in u["files"]]} for u in result.units])
    page = render_status_page(hostile, folder)  # an escape sequence and a right-to-left override, shown as such
    assert "\x1b" not in page and "\u202e" not in page and "南雄市\\x1b[31m\\u202excod.xlsx" in page


def test_each_validation_is_kept_and_the_data_docs_are_built_on_request_and_linked(campaign):
    split_kept_batches(campaign.quality)  # as `warmline status` does: each batch's results split per file
    stored = stored_validations(campaign.quality)
    # ten files, each checked by the submission and the figures suites
    assert (len(stored), sorted({v.suite for v in stored})) == (20, ["figures", "submission"])
    assert "globally: false" in (campaign.quality / "gx/great_expectations.yml").read_text(encoding="utf-8")

    status(campaign, "--date", "2023-12-20")  # builds nothing, and links no page that does not exist
    assert not (campaign.home / DOCS).exists() and not any(v.page.exists() for v in stored)
    page = (campaign.bulletins / "2023-12-20" / "status.html").read_text(encoding="utf-8")
    assert "/validations/" not in page and 'id="data-docs"' not in page
    assert "20 validation result(s) have no page yet: <code>warmline docs</code> builds them." in page

    assert docs(campaign) == ["Built 20 Data Docs page(s).", f"Data Docs: {campaign.home / DOCS}"]
    assert (campaign.home / DOCS).is_file()
    assert all(v.page.is_file() for v in stored)
    assert docs(campaign) == ["Every one of the 20 validation results has its page already.",
                              f"Data Docs: {campaign.home / DOCS}"]
    lines = status(campaign, "--date", "2023-12-20")
    assert lines[-2:] == [f"Data Docs: {campaign.home / DOCS}",
                          f"Status page: {campaign.bulletins / '2023-12-20' / 'status.html'}"]
    page = (campaign.bulletins / "2023-12-20" / "status.html").read_text(encoding="utf-8")
    assert "no page yet" not in page
    links = re.findall(r'href="([^"]+)"', page)
    assert "../../quality/gx/uncommitted/data_docs/local_site/index.html" in links
    # each file of the day links its two validation pages, and they exist
    pages = [link for link in links if "/validations/" in link]
    assert len(pages) == 6 and all((campaign.bulletins / "2023-12-20" / link).resolve().is_file() for link in pages)


def test_files_validated_in_a_batch_each_link_their_own_validation_pages(home, ingestor, ref, tmp_path):
    from tests.test_ingest_many import ingest_many

    for unit, households in (("浈江区", 100), ("始兴县", 450), ("翁源县", -5)):
        send(home, ref, tmp_path, unit, D(2023, 12, 20), {"走访慰问户数（户）": households})
    assert [o.status for o in ingest_many(ingestor)] == ["loaded", "loaded", "rejected"]
    assert stored_validations(home.quality) == []  # kept as the batch's, split when the Data Docs are built

    status(home, "--date", "2023-12-20")  # splits the batch's results per file, without building their pages
    stored = stored_validations(home.quality)
    assert len(stored) == 6 and not any(v.page.exists() for v in stored)
    assert docs(home)[0] == "Built 6 Data Docs page(s)."
    status(home, "--date", "2023-12-20")
    assert all(v.page.is_file() for v in stored)
    page = (home.bulletins / "2023-12-20" / "status.html").read_text(encoding="utf-8")
    pages = [link for link in re.findall(r'href="([^"]+)"', page) if "/validations/" in link]
    assert len(pages) == 6 and all((home.bulletins / "2023-12-20" / link).resolve().is_file() for link in pages)
    # the rejected file's figures page is its own: one failing figure, not the batch's
    (bad,) = [v for v in stored if v.suite == "figures" and v.run_name.startswith("440229")]
    assert "-5" in bad.page.read_text(encoding="utf-8")


def test_a_validator_without_a_folder_keeps_nothing(home, ref, validator, reader, tmp_path):
    assert validator.results_store is None
    send(home, ref, tmp_path, "南雄市", D(2023, 12, 20), {"走访慰问户数（户）": 10})
    ingest_inbox(Ingestor(home, ref, validator, reader, quiet_seconds=0), D(2023, 12, 20))
    assert not home.quality.exists()


def test_status_needs_no_prefect_and_defaults_to_today_in_the_campaigns_zone(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"WARMLINE_HOME": str(home)}
    warmline = str(Path(sys.executable).with_name("warmline"))
    assert subprocess.run([warmline, "init"], env=env, capture_output=True).returncode == 0
    code = ("import sys\nfrom flows.cli import app\ntry:\n    app(['status'])\nexcept SystemExit as exc:\n"
            "    print('exit', exc.code)\nprint('prefect imported:', 'prefect' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Nothing computed for {today} yet"), result.stdout + result.stderr
    assert lines[-3:] == ["Data Docs: none yet (validation results are kept from the next run)", "exit 0",
                          "prefect imported: False"]
    assert result.stderr == ""


@pytest.mark.slow
def test_status_page_renders_in_headless_chromium_without_the_network(campaign, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; `make test` (or `make chromium`) installs Debian's chromium")
    status(campaign, "--date", "2023-12-20")
    page = campaign.bulletins / "2023-12-20" / "status.html"
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60).stdout
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())
    assert re.search(r"翁源县 440229 迟报 late 2023-12-20 2023-12-20 21:00", text)  # received in another year
    assert re.search(r"乐昌市 440281 未报送 missing", text)
    assert "始兴县走访慰问户数累计数450低于12月18日报送的500" in text and "阻止发布 BLOCKS" in text
    assert not re.search(r"https?://", dom)
    shot = tmp_path / "status.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1400,1800", page.as_uri()], capture_output=True,
                   timeout=60)
    assert shot.stat().st_size > 50_000  # a page drawn, not a blank one
