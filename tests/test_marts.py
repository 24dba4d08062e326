"""The SQL models, dbt-style: given rows in an in-memory DuckDB, run the models, compare the rows."""

import datetime as dt

import duckdb
import pytest

from transforms import warehouse

D = dt.date


@pytest.fixture
def con(ref):
    con = duckdb.connect(":memory:")
    warehouse.prepare(con, ref)
    yield con
    con.close()


def given_submission(con, sid, unit, day, status="loaded", received=None, facts=()):
    received = received or dt.datetime.combine(day, dt.time(9), tzinfo=dt.timezone.utc)
    con.execute("INSERT INTO raw.submissions (submission_id, file_name, sha256, received_at, unit_code, as_of_date, "
                "status, archive_path, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'a', now())",
                [sid, f"{sid}.xlsx", sid * 4, received, unit, day, status])
    for indicator, item_type, value, qualifier, unspecified in facts:
        con.execute("INSERT INTO raw.facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'S!A1', 'x')",
                    [sid, unit, day, indicator, item_type, value, qualifier, unspecified])


def totals(con, day, indicator):
    return con.execute("SELECT value, qualifier, units_reporting, units_carried, units_missing, parts_unspecified "
                       "FROM marts.city_totals WHERE as_of_date = ? AND indicator = ?", [day, indicator]).fetchall()


def test_a_unit_that_did_not_report_is_carried_forward(con):
    given_submission(con, "a1", "440204", D(2023, 12, 18), facts=[("households_visited", None, 100, "exact", 0)])
    given_submission(con, "b1", "440222", D(2023, 12, 18), facts=[("households_visited", None, 50, "exact", 0)])
    given_submission(con, "a2", "440204", D(2023, 12, 20), facts=[("households_visited", None, 130, "exact", 0)])
    assert totals(con, D(2023, 12, 20), "households_visited") == [(180.0, "exact", 1, 1, 10, 0)]
    assert totals(con, D(2023, 12, 19), "households_visited") == [(150.0, "exact", 0, 2, 10, 0)]
    assert totals(con, D(2023, 12, 18), "households_visited") == [(150.0, "exact", 2, 0, 10, 0)]


def test_days_before_any_report_have_every_unit_missing_and_no_value(con):
    given_submission(con, "a1", "440204", D(2023, 12, 18), facts=[("patrols_run", None, 3, "exact", 0)])
    assert totals(con, D(2023, 12, 15), "patrols_run") == [(None, None, 0, 0, 12, 0)]
    assert con.execute("SELECT min(as_of_date), max(as_of_date) FROM marts.days").fetchall() == \
        [(D(2023, 12, 15), D(2023, 12, 18))]


def test_calendar_reaches_the_day_the_rollup_ran(con):
    given_submission(con, "a1", "440204", D(2023, 12, 18), facts=[("patrols_run", None, 3, "exact", 0)])
    warehouse.record_rollup_day(con, D(2023, 12, 21))
    assert totals(con, D(2023, 12, 21), "patrols_run") == [(3.0, "exact", 0, 1, 11, 0)]


def test_sum_qualifier_and_unspecified_parts(con):
    given_submission(con, "a", "440204", D(2023, 12, 20), facts=[("items_issued", None, 273, "exact", 1)])
    given_submission(con, "b", "440282", D(2023, 12, 20), facts=[("items_issued", None, 1000, "at_least", 0)])
    given_submission(con, "c", "440222", D(2023, 12, 20), facts=[("funds_disbursed", None, 3705000, "approx", 0)])
    given_submission(con, "d", "440229", D(2023, 12, 20), facts=[("funds_disbursed", None, 1, "at_least", 0),
                                                                 ("work_groups", None, None, "unspecified", 1)])
    assert totals(con, D(2023, 12, 20), "items_issued") == [(1273.0, "at_least", 4, 0, 8, 1)]
    assert totals(con, D(2023, 12, 20), "funds_disbursed") == [(3705001.0, "approx", 4, 0, 8, 0)]
    assert totals(con, D(2023, 12, 20), "work_groups") == [(None, "unspecified", 4, 0, 8, 1)]


def test_superseded_rejected_and_duplicate_files_do_not_count(con):
    given_submission(con, "old", "440204", D(2023, 12, 20), "superseded", facts=[("patrols_run", None, 9, "exact", 0)])
    given_submission(con, "new", "440204", D(2023, 12, 20), facts=[("patrols_run", None, 4, "exact", 0)])
    given_submission(con, "rej", "440222", D(2023, 12, 20), "rejected")
    given_submission(con, "dup", "440229", D(2023, 12, 20), "duplicate")
    assert totals(con, D(2023, 12, 20), "patrols_run") == [(4.0, "exact", 1, 0, 11, 0)]


def test_typed_items_are_not_in_city_totals_but_by_type(con):
    given_submission(con, "a", "440204", D(2023, 12, 20), facts=[
        ("items_issued", None, 273, "exact", 1), ("items_issued", "棉衣", 183, "exact", 0),
        ("items_issued", "棉被", 90, "exact", 0), ("items_issued", "食品", None, "unspecified", 1)])
    given_submission(con, "b", "440282", D(2023, 12, 20), facts=[
        ("items_issued", None, 1000, "at_least", 0), ("items_issued", "棉衣", 1000, "at_least", 0)])
    assert totals(con, D(2023, 12, 20), "items_issued")[0][:2] == (1273.0, "at_least")
    assert con.execute("SELECT item_type, value, qualifier, parts_unspecified FROM marts.city_items_by_type "
                       "WHERE as_of_date = ?", [D(2023, 12, 20)]).fetchall() == [
        ("棉衣", 1183.0, "at_least", 0), ("棉被", 90.0, "exact", 0), ("食品", None, "unspecified", 1)]


def test_unit_latest_is_each_units_latest_report(con):
    given_submission(con, "a1", "440204", D(2023, 12, 18), facts=[("patrols_run", None, 3, "exact", 0)])
    given_submission(con, "a2", "440204", D(2023, 12, 19), facts=[("patrols_run", None, 5, "at_least", 0)])
    assert con.execute("SELECT unit_code, unit_name, as_of_date, indicator, item_type, value, qualifier, "
                       "submission_id FROM marts.unit_latest").fetchall() == [
        ("440204", "浈江区", D(2023, 12, 19), "patrols_run", None, 5.0, "at_least", "a2")]


def test_headline_has_a_value_and_qualifier_per_headline_figure(con):
    given_submission(con, "a", "440204", D(2023, 12, 20), facts=[("patrols_run", None, 50, "at_least", 0)])
    columns = [d[0] for d in con.execute("SELECT * FROM marts.headline").description]
    assert columns == ["as_of_date", "households_visited", "households_visited_qualifier", "funds_disbursed",
                       "funds_disbursed_qualifier", "items_issued", "items_issued_qualifier", "patrols_run",
                       "patrols_run_qualifier", "units_reporting", "units_carried", "units_missing"]
    assert con.execute("SELECT patrols_run, patrols_run_qualifier FROM marts.headline WHERE as_of_date = ?",
                       [D(2023, 12, 20)]).fetchall() == [(50.0, "at_least")]


def test_declared_overlap_is_counted_once_and_shown_as_set_aside(ref):
    import dataclasses

    from transforms.core.reference import Overlap

    overlap = Overlap("440200901", "patrols_run", ("440200902",), "联合巡查含救助站街面巡查")
    with_overlap = dataclasses.replace(ref, campaign=dataclasses.replace(ref.campaign, overlaps=(overlap,)))
    con = duckdb.connect(":memory:")
    warehouse.prepare(con, with_overlap)
    given_submission(con, "bureau", "440200901", D(2023, 12, 20), facts=[("patrols_run", None, 321, "exact", 0)])
    given_submission(con, "station", "440200902", D(2023, 12, 20), facts=[("patrols_run", None, 50, "at_least", 0),
                                                                          ("street_rescues", None, 15, "exact", 0)])
    assert totals(con, D(2023, 12, 20), "patrols_run") == [(321.0, "exact", 2, 0, 10, 0)]
    assert totals(con, D(2023, 12, 20), "street_rescues")[0][:2] == (15.0, "exact")
    assert con.execute("SELECT indicator, unit_code, value, included_in_unit, reason FROM marts.overlaps").fetchall() == \
        [("patrols_run", "440200902", 50.0, "440200901", "联合巡查含救助站街面巡查")]


def test_a_blank_figure_is_not_a_zero(con):
    given_submission(con, "a", "440204", D(2023, 12, 20), facts=[("patrols_run", None, 0, "exact", 0)])
    given_submission(con, "b", "440222", D(2023, 12, 20), facts=[("households_visited", None, 5, "exact", 0)])
    rows = con.execute("SELECT indicator, value, qualifier, units_with_figure FROM marts.city_totals "
                       "WHERE as_of_date = ? AND indicator IN ('patrols_run', 'work_groups') ORDER BY indicator",
                       [D(2023, 12, 20)]).fetchall()
    assert rows == [("patrols_run", 0.0, "exact", 1), ("work_groups", None, None, 0)]
    assert con.execute("SELECT unit_code, figures_reported FROM marts.completeness WHERE as_of_date = ? AND "
                       "unit_code IN ('440204', '440222') ORDER BY unit_code", [D(2023, 12, 20)]).fetchall() == \
        [("440204", 1), ("440222", 1)]


def test_the_sql_qualifier_of_a_sum_and_the_python_one_agree_on_every_mix(con):
    """The rule lives twice, as the macro the marts sum with and as combine_qualifiers the parser sums a unit's
    rows with: every mix of up to three parts must give the same qualifier in both."""
    import itertools

    from transforms.core.figures import QUALIFIERS, UNSPECIFIED, combine_qualifiers

    mixes = [mix for size in (1, 2, 3) for mix in itertools.combinations_with_replacement(QUALIFIERS, size)]
    assert len(mixes) == 34
    for mix in mixes:
        rows = [(q, None if q == UNSPECIFIED else 1.0) for q in mix]
        (in_sql,), = con.execute("SELECT marts.sum_qualifier(q, v) FROM (SELECT unnest($q) AS q, unnest($v) AS v)",
                                 {"q": [q for q, _ in rows], "v": [v for _, v in rows]}).fetchall()
        assert in_sql == combine_qualifiers(mix), mix
