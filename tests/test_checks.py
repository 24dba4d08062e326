"""The statistician's day: a campaign of several days with a late unit, a missing unit, a falling cumulative
figure, an outlier and a correction, each outcome asserted."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.conftest import ingest_inbox
from transforms import warehouse
from transforms.day.checks import DayChecks, modified_z
from transforms.read.template import FilledRow, write_submission

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
D = dt.date


def send(home, ref, tmp_path, unit, day, figures, at_hour=9, name=None):
    """A unit's workbook for `day`, landed in the inbox at `at_hour` that day (Shanghai time)."""
    name = name or f"{unit}_{day:%m%d}_{at_hour}.xlsx"
    path = write_submission(tmp_path / name, ref, unit, day, [FilledRow("全县", figures)])
    target = home.inbox / name
    target.write_bytes(path.read_bytes())
    when = dt.datetime.combine(day, dt.time(0), SHANGHAI) + dt.timedelta(hours=at_hour)
    os.utime(target, (when.timestamp(), when.timestamp()))


@pytest.fixture
def campaign(home, ingestor, ref, tmp_path):
    """16–21 Dec: 浈江 reports daily (+100 households a day, then +900 on the 21st); 始兴 falls on the 20th;
    翁源 reports the 20th at 21:00, after the 17:00 deadline; 浈江 corrects its 19th; 乐昌 never reports."""
    for n, day in enumerate(D(2023, 12, 16) + dt.timedelta(days=i) for i in range(5)):
        send(home, ref, tmp_path, "浈江区", day, {"走访慰问户数（户）": 100 * (n + 1), "巡查次数（次）": 10 * (n + 1)})
    send(home, ref, tmp_path, "浈江区", D(2023, 12, 21), {"走访慰问户数（户）": 1400, "巡查次数（次）": 60})
    send(home, ref, tmp_path, "始兴县", D(2023, 12, 18), {"走访慰问户数（户）": 500})
    send(home, ref, tmp_path, "始兴县", D(2023, 12, 20), {"走访慰问户数（户）": 450})
    send(home, ref, tmp_path, "翁源县", D(2023, 12, 20), {"走访慰问户数（户）": 70}, at_hour=21)
    # the correction: a second file for 浈江's 19th, received later that day
    send(home, ref, tmp_path, "浈江区", D(2023, 12, 19), {"走访慰问户数（户）": 420, "巡查次数（次）": 40},
         at_hour=15, name="浈江区_1219_corrected.xlsx")
    ingest_inbox(ingestor, D(2023, 12, 21))
    return home


def results(home, ref, day):
    con = warehouse.connect(home.warehouse, read_only=True)
    try:
        return DayChecks(ref).run(con, day)
    finally:
        con.close()


def query(home, sql, params=()):
    con = warehouse.connect(home.warehouse, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_completeness_marks_on_time_late_carried_and_missing(campaign):
    rows = dict(query(campaign, "SELECT unit_code, completeness FROM marts.completeness WHERE as_of_date = ?",
                      [D(2023, 12, 20)]))
    assert (rows["440204"], rows["440229"], rows["440222"], rows["440281"]) == \
        ("on_time", "late", "on_time", "missing")
    rows = dict(query(campaign, "SELECT unit_code, completeness FROM marts.completeness WHERE as_of_date = ?",
                      [D(2023, 12, 19)]))
    assert (rows["440222"], rows["440229"]) == ("carried_forward", "missing")


def test_a_falling_cumulative_figure_is_flagged_and_blocks(campaign, ref):
    falls = [r for r in results(campaign, ref, D(2023, 12, 20)) if r.check == "cumulative_falls"]
    assert [(r.unit_code, r.indicator, r.found, r.expected, r.blocks) for r in falls] == \
        [("440222", "households_visited", "450", "≥ 500（12-18）", True)]
    assert "低于12月18日报送的500" in falls[0].message_zh
    assert query(campaign, "SELECT increment, falls_below_earlier FROM marts.unit_daily WHERE unit_code = '440222' "
                           "AND indicator = 'households_visited' ORDER BY as_of_date") == [(None, False), (-50.0, True)]


def test_an_increment_far_from_the_units_history_is_an_outlier(campaign, ref):
    outliers = [r for r in results(campaign, ref, D(2023, 12, 21)) if r.check == "outlier"]
    assert [(r.unit_code, r.indicator, r.found, r.blocks) for r in outliers] == \
        [("440204", "households_visited", "+900", False)]
    assert "通常在" in outliers[0].message_zh and "900" in outliers[0].message_en


def test_daily_increments_follow_the_correction(campaign):
    rows = query(campaign, "SELECT as_of_date, value, increment FROM marts.unit_daily WHERE unit_code = '440204' "
                           "AND indicator = 'households_visited' ORDER BY as_of_date")
    assert rows == [(D(2023, 12, 16), 100.0, None), (D(2023, 12, 17), 200.0, 100.0), (D(2023, 12, 18), 300.0, 100.0),
                    (D(2023, 12, 19), 420.0, 120.0), (D(2023, 12, 20), 500.0, 80.0), (D(2023, 12, 21), 1400.0, 900.0)]


def test_revisions_list_what_the_correction_changed(campaign):
    assert query(campaign, "SELECT unit_code, as_of_date, indicator, old_value, new_value, old_file, new_file "
                           "FROM marts.revisions") == [
        ("440204", D(2023, 12, 19), "households_visited", 400.0, 420.0, "浈江区_1219_9.xlsx", "浈江区_1219_corrected.xlsx")]


def test_late_and_missing_units_warn_without_blocking(campaign, ref):
    found = {(r.check, r.unit_code): r for r in results(campaign, ref, D(2023, 12, 20))}
    assert not found[("late_units", "440229")].blocks
    assert found[("late_units", "440229")].found == "12-20 21:00"
    assert not found[("missing_units", "440281")].blocks


def test_modified_z_score():
    z, median, mad = modified_z(900, [100, 100, 120, 80])
    assert (round(z, 2), median, mad) == (53.96, 100.0, 10.0)
    assert modified_z(100, [100, 100, 100])[0] is None


def test_cross_field_rules_name_the_row(home, ingestor, ref, tmp_path):
    send(home, ref, tmp_path, "南雄市", D(2023, 12, 20),
         {"走访慰问户数（户）": 10, "走访慰问人数（人）": 5, "巡查次数（次）": 4, "出动人员（人次）": 8})
    ingest_inbox(ingestor, D(2023, 12, 20))
    # found when the file was validated, and read back from the warehouse: checking the day runs no suite
    found = [r for r in results(home, ref, D(2023, 12, 20)) if r.check == "cross_field"]
    assert [(r.unit_code, r.indicator, r.where) for r in found] == \
        [("440282", "persons-below-households", "南雄市_1220_9.xlsx 统计表!B5, C5, L5, M5")]
    assert found[0].message_zh == "走访慰问人数（5）少于户数（10），请核对两列是否填反"


def test_plausibility_ratio_outside_its_bound_warns_and_an_override_accepts_it(home, ingestor, ref, tmp_path):
    import dataclasses

    from transforms.core.reference import Override

    send(home, ref, tmp_path, "南雄市", D(2023, 12, 20), {"走访慰问户数（户）": 10, "发放资金（元）": "10万"})
    ingest_inbox(ingestor, D(2023, 12, 20))
    (found,) = [r for r in results(home, ref, D(2023, 12, 20)) if r.check == "plausibility"]
    assert (found.indicator, found.found, found.expected, found.accepted_reason) == \
        ("funds_disbursed/households_visited", "10000.00", "≤ 5000", None)
    checks = dataclasses.replace(ref.campaign.checks, overrides=(
        Override("funds_per_household", "440282", D(2023, 12, 20), "含12月全部救助资金"),))
    accepted_ref = dataclasses.replace(ref, campaign=dataclasses.replace(ref.campaign, checks=checks))
    (found,) = [r for r in results(home, accepted_ref, D(2023, 12, 20)) if r.check == "plausibility"]
    assert found.accepted_reason == "含12月全部救助资金"
