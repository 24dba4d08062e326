"""The publishing gate on every path: campaign dates, blocking checks, drafts, --force with a reason, exit codes,
corrections quoting what was printed, and a unit whose file was returned said so in the notes."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from tests.test_cli import warmline
from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
from transforms.day.checks import CheckResult
from transforms.day.gate import NOT_PUBLISHED, PUBLISHED, OutsideCampaign, campaign_day, decide
from transforms.read.template import FilledRow, write_submission
from transforms.warehouse import connect

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
FALLS = CheckResult("cumulative_falls", "440222", "始兴县", "households_visited", "450", "≥ 500", "累计数下降",
                    "cumulative figure fell", blocking=True)


# -- the gate's rules -----------------------------------------------------------------------------------------

def test_a_day_outside_the_campaign_is_refused_and_after_its_end_the_last_day_is_shown(ref):
    campaign = ref.campaign  # 2023-12-15 to 2024-03-15
    assert campaign_day(campaign, dt.date(2023, 12, 20), dt.date(2026, 12, 1)) == (dt.date(2023, 12, 20), None)
    assert campaign_day(campaign, None, dt.date(2023, 12, 20)) == (dt.date(2023, 12, 20), None)
    day, note = campaign_day(campaign, None, dt.date(2026, 12, 1))
    assert day == dt.date(2024, 3, 15)
    assert note.startswith("the campaign ended on 2024-03-15; showing its last day.")
    for outside in (dt.date(2023, 12, 14), dt.date(2024, 3, 16)):
        with pytest.raises(OutsideCampaign, match=f"{outside} is outside the campaign \\(2023-12-15 to 2024-03-15\\)"):
            campaign_day(campaign, outside, dt.date(2026, 12, 1))
    with pytest.raises(OutsideCampaign, match="the campaign starts on 2023-12-15"):
        campaign_day(campaign, None, dt.date(2023, 12, 1))


def test_only_a_forced_day_with_a_reason_passes_its_blocking_checks():
    day = dt.date(2023, 12, 20)
    assert (decide(day, []).publishable, decide(day, []).exit_code) == (True, PUBLISHED)
    held = decide(day, [FALLS])
    assert (held.publishable, held.forced, held.exit_code) == (False, False, NOT_PUBLISHED)
    forced = decide(day, [FALLS], force=True, reason="始兴县已电话核实，12月18日数据有误")
    assert (forced.publishable, forced.forced, forced.force_reason) == (True, True, "始兴县已电话核实，12月18日数据有误")
    with pytest.raises(ValueError, match="--force needs --reason"):
        decide(day, [FALLS], force=True, reason="  ")
    accepted = CheckResult(**{**FALLS.__dict__, "accepted_reason": "looked at"})
    assert decide(day, [accepted]).publishable  # an override in campaign.toml does not block


# -- notes of the bulletin ------------------------------------------------------------------------------------

def test_a_unit_whose_file_was_returned_is_not_said_to_have_sent_nothing(demo_home, ingestor, tmp_path):
    from tests.conftest import ingest_inbox

    # 武江区 sends a file for the demo day with a negative figure: rejected, its unit and date known
    write_submission(demo_home.inbox / "武江区_1220.xlsx", ingestor.ref, "武江区", dt.date(2023, 12, 20),
                     [FilledRow("全区", {"走访慰问户数（户）": -5})])
    [outcome] = ingest_inbox(ingestor, dt.date(2023, 12, 20))
    assert outcome.status == "rejected"
    con = connect(demo_home.warehouse, read_only=True)
    try:
        md = write_bulletin(con, dt.date(2023, 12, 20), tmp_path / "b", load_wording(demo_home.reference))[0]
    finally:
        con.close()
    text = md.read_text(encoding="utf-8")
    assert ("曲江区、仁化县、乳源瑶族自治县、新丰县、乐昌市未报送数据，未计入全市合计；"
            "武江区报送数据退回修改，未计入全市合计。") in text


# -- through the command line ---------------------------------------------------------------------------------

def test_publishing_commands_refuse_a_day_outside_the_campaign_with_exit_1(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    for args in (("run", "--date", "2024-03-16"), ("bulletin", "--date", "2023-12-14")):
        done = warmline(home, *args)
        assert done.returncode == 1, done.stdout
        day = args[2]
        assert done.stderr.strip() == (f"Error: {day} is outside the campaign (2023-12-15 to 2024-03-15); "
                                       "choose a day within it")
    forced = warmline(home, "run", "--date", "2023-12-20", "--force")
    assert forced.returncode == 1
    assert forced.stderr.startswith("Error: --force needs --reason")


def test_a_misspelt_blocking_check_is_refused_rather_than_silently_switching_the_block_off(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    campaign = home / "data/reference/campaign.toml"
    text = campaign.read_text(encoding="utf-8")
    assert 'blocking = ["cumulative_falls"]' in text
    campaign.write_text(text.replace('blocking = ["cumulative_falls"]', 'blocking = ["cumulative_fall"]'),
                        encoding="utf-8")
    done = warmline(home, "status", "--date", "2023-12-20")
    assert done.returncode == 1, done.stdout
    assert "campaign.toml [checks] blocking names no check 'cumulative_fall': the checks are missing_units, " \
           "late_units, cumulative_falls, outlier, cross_field, plausibility" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def _send(inbox: Path, ref, day: dt.date, name: str, cells: dict, received: dt.datetime) -> None:
    path = write_submission(inbox / name, ref, "始兴县", day, [FilledRow("全县", cells)])
    stamp = received.replace(tzinfo=SHANGHAI).timestamp()
    os.utime(path, (stamp, stamp))


@pytest.mark.slow
def test_three_days_published_blocked_then_forced_and_corrected(tmp_path, prefect_server, ref):
    """Day 1 published; day 2 blocked (a draft, exit 3, on both paths) then forced with a reason; day 3 carries the
    correction of day 1 that changed its printed text, and none for the one whose printed text still holds."""
    home = tmp_path / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    inbox, bulletins = home / "data/raw/inbox", home / "data/bulletins"
    d18, d20, d21 = dt.date(2023, 12, 18), dt.date(2023, 12, 20), dt.date(2023, 12, 21)

    _send(inbox, ref, d18, "始兴县_1218.xlsx", {"走访慰问户数（户）": 10500, "发放资金（元）": 5000},
          dt.datetime(2023, 12, 18, 9))
    day1 = warmline(home, "run", "--date", "2023-12-18", server=prefect_server)
    assert day1.returncode == 0, day1.stdout + day1.stderr
    assert f"Bulletin: {bulletins / '2023-12-18'}/ (bulletin.md, bulletin.docx, chart.png, figures.csv) — " \
           "published." in day1.stdout
    headline1 = (bulletins / "2023-12-18/bulletin.md").read_text(encoding="utf-8").split("\n\n")[2]
    assert headline1 == ("韶关市“寒冬送温暖”专项行动自12月15日开展以来，截至12月18日，全市累计走访慰问困难群众1万余户，"
                         "发放慰问金、救助资金5000元。")

    # day 2: below its own earlier report, which blocks by default
    _send(inbox, ref, d20, "始兴县_1220.xlsx", {"走访慰问户数（户）": 10400, "发放资金（元）": 5100},
          dt.datetime(2023, 12, 20, 9))
    held = warmline(home, "run", "--date", "2023-12-20", server=prefect_server)
    assert held.returncode == 3, held.stdout + held.stderr
    assert "NOT PUBLISHED: 1 blocking check(s) failed for 2023-12-20 (cumulative_falls)." in held.stdout
    assert f"A draft marked 草稿（未发布） is in {bulletins / '2023-12-20/draft'}/; it is not the release." in held.stdout
    assert sorted(p.name for p in (bulletins / "2023-12-20").iterdir()) == ["draft"]  # no release files
    draft_md = (bulletins / "2023-12-20/draft/bulletin.md").read_text(encoding="utf-8")
    assert draft_md.startswith("# 草稿（未发布）韶关市“寒冬送温暖”专项行动进展情况\n")

    again = warmline(home, "bulletin", "--date", "2023-12-20")  # the other path asks the same gate
    assert again.returncode == 3, again.stdout + again.stderr
    assert "NOT PUBLISHED: 1 blocking check(s) failed for 2023-12-20 (cumulative_falls)." in again.stdout
    assert not (bulletins / "2023-12-20/bulletin.md").exists()

    reason = "始兴县电话核实：12月20日数据无误，18日数据待更正"
    forced = warmline(home, "run", "--date", "2023-12-20", "--force", "--reason", reason, server=prefect_server)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "published with 1 blocking check(s) failing (--force)" in forced.stdout
    assert sorted(p.name for p in (bulletins / "2023-12-20").iterdir()) == [
        "bulletin.docx", "bulletin.md", "chart.png", "figures.csv"]  # the draft is gone with the release

    # day 3: 始兴县 corrects the 18th: households 10500 -> 10800 (still printed 1万余户: no correction owed),
    # funds 5000 -> 5200 (printed 5000元, now 5200元: a correction, quoting both as printed)
    _send(inbox, ref, d18, "始兴县_1218_更正.xlsx", {"走访慰问户数（户）": 10800, "发放资金（元）": 5200},
          dt.datetime(2023, 12, 21, 10))
    day3 = warmline(home, "run", "--date", "2023-12-21", server=prefect_server)
    assert day3.returncode == 0, day3.stdout + day3.stderr
    text = (bulletins / "2023-12-21/bulletin.md").read_text(encoding="utf-8")
    corrections = [line for line in text.splitlines() if "更正：" in line]
    assert corrections == ["3. 更正：12月18日发布的全市发放资金为5000元，经报送单位更正后为5200元。"]

    con = duckdb.connect(str(home / "data/warehouse/warmline.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT as_of_date, forced, force_reason FROM raw.publications ORDER BY published_at"
                           ).fetchall() == [(d18, False, None), (d20, True, reason), (d21, False, None)]
        assert con.execute("SELECT indicator, value, printed FROM raw.published_figures WHERE as_of_date = ? AND "
                           "indicator IN ('households_visited', 'funds_disbursed') ORDER BY indicator", [d18]
                           ).fetchall() == [("funds_disbursed", 5000.0, "5000元"), ("households_visited", 10500.0,
                                                                                     "1万余户")]
    finally:
        con.close()

    # a plain run after the campaign ended shows its last day, and computes no day past it
    late = warmline(home, "run", server=prefect_server)
    assert late.returncode == 0, late.stdout + late.stderr
    assert late.stdout.startswith("the campaign ended on 2024-03-15; showing its last day.")
    con = duckdb.connect(str(home / "data/warehouse/warmline.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT max(as_of_date) FROM marts.days").fetchone() == (dt.date(2024, 3, 15),)
    finally:
        con.close()
    assert not any(p.name > "2024-03-15" for p in bulletins.iterdir())
