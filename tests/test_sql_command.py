"""`warmline sql`: read-only queries on the analytics copy, printed as a table or written as CSV or Parquet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from transforms import warehouse
from transforms.warehouse.analysts_copy import publish
from transforms.warehouse.query import csv_cell, one_line

WARMLINE = str(Path(sys.executable).with_name("warmline"))
HEADLINE = ("select as_of_date, households_visited, households_visited_qualifier, funds_disbursed, units_missing "
            "from marts.headline where as_of_date >= date '2023-12-19' order by as_of_date")
HEADLINE_TABLE = [
    "┏━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓",
    "┃ as_of_date ┃ households_visited ┃ households_visited_qualifier ┃ funds_disbursed ┃ units_missing ┃",
    "┡━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩",
    "│ 2023-12-19 │               NULL │ NULL                         │            NULL │            12 │",
    "│ 2023-12-20 │              24684 │ exact                        │         4185000 │             6 │",
    "└────────────┴────────────────────┴──────────────────────────────┴─────────────────┴───────────────┘",
    "2 rows",
]


def warmline(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(WARMLINE_HOME=str(home), COLUMNS="200")
    return subprocess.run([WARMLINE, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def published(demo_home):
    """The worked example, published for analysts the way every load publishes it."""
    con = warehouse.connect(demo_home.warehouse)
    try:
        publish(demo_home, con)
    finally:
        con.close()
    return demo_home


def test_sql_prints_the_rows_as_a_table(published):
    result = warmline(published.home, "sql", HEADLINE)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == HEADLINE_TABLE


def test_sql_reads_the_copy_while_the_pipeline_holds_the_warehouse(published):
    writer = duckdb.connect(str(published.warehouse))  # the pipeline in the middle of a load
    try:
        result = warmline(published.home, "sql", HEADLINE)
    finally:
        writer.close()
    assert (result.returncode, result.stdout.splitlines()) == (0, HEADLINE_TABLE)


def test_sql_reads_the_warehouse_while_nothing_is_published_yet(demo_home):
    assert not demo_home.analytics.exists()
    result = warmline(demo_home.home, "sql", HEADLINE)
    assert (result.returncode, result.stdout.splitlines()) == (0, HEADLINE_TABLE)


def test_sql_cannot_change_anything(published):
    result = warmline(published.home, "sql", "create table marts.mine as select 1 as a")
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (1, "", [
        'Error: query failed: Invalid Input Error: Cannot execute statement of type "CREATE" on database '
        '"analytics" which is attached in read-only mode!'])


def test_a_sql_error_is_one_line(published):
    result = warmline(published.home, "sql", "selec households_visited from marts.headline")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", 'Error: query failed: Parser Error: syntax error at or near "selec"\n')


def test_sql_out_csv_writes_every_row_with_formulas_defused(published, tmp_path):
    target = tmp_path / "out.csv"
    query = ("select unit_code, unit_name, '=HYPERLINK(\"http://x\")' as f, '+1' as p, '-5' as m, '@sum' as a, "
             "-5 as n, 24684.0::double as d, 2.5::double as h, null as z from ref.units order by position limit 2")
    result = warmline(published.home, "sql", query, "--out", str(target))
    assert (result.returncode, result.stdout, result.stderr) == (0, f"wrote 2 rows to {target}\n", "")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the Chinese as UTF-8
    assert target.read_text(encoding="utf-8-sig").splitlines() == [
        "unit_code,unit_name,f,p,m,a,n,d,h,z",
        "440203,武江区,\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-5,'@sum,-5,24684,2.5,",
        "440204,浈江区,\"'=HYPERLINK(\"\"http://x\"\")\",'+1,'-5,'@sum,-5,24684,2.5,",
    ]


def test_sql_out_parquet_keeps_the_rows_and_their_types(published, tmp_path):
    target = tmp_path / "city_totals.parquet"
    result = warmline(published.home, "sql", "select * from marts.city_totals", "--out", str(target))
    assert (result.returncode, result.stdout) == (0, f"wrote 84 rows to {target}\n")
    con = duckdb.connect(str(published.analytics), read_only=True)
    try:
        assert con.execute("SELECT * FROM read_parquet(?)", [str(target)]).fetchall() == \
            con.execute("SELECT * FROM marts.city_totals").fetchall()
        assert con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?)) "
                           "WHERE column_name IN ('as_of_date', 'value', 'units_missing')", [str(target)]
                           ).fetchall() == [("as_of_date", "DATE"), ("value", "DOUBLE"), ("units_missing", "BIGINT")]
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city_totals.parquet", "home"]  # no .tmp left over


def test_sql_out_with_another_extension_is_refused_before_running(published, tmp_path):
    target = tmp_path / "totals.xlsx"
    result = warmline(published.home, "sql", "select * from marts.city_totals", "--out", str(target))
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", f"Error: --out {target}: cannot write .xlsx; use a file name ending in .csv or .parquet\n")
    assert not target.exists()


def test_a_failed_query_leaves_no_file(published, tmp_path):
    target = tmp_path / "out.csv"
    result = warmline(published.home, "sql", "select * from marts.nothing_here", "--out", str(target))
    assert result.returncode == 1 and result.stderr.startswith(
        "Error: query failed: Catalog Error: Table with name nothing_here does not exist!")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_sql_shows_the_first_thousand_rows_and_says_how_to_get_all(published):
    result = warmline(published.home, "sql", "select range as n from range(1005)")
    lines = result.stdout.splitlines()
    assert lines[-3:] == ["│ 999 │", "└─────┘",
                          "showing the first 1,000 rows; write them all with --out FILE.csv or --out FILE.parquet"]
    assert len(lines) == 4 + 1000 + 1


def test_sql_without_a_warehouse_says_what_to_run(home):
    result = warmline(home.home, "sql", "select 1")
    assert (result.returncode, result.stderr) == (
        1, f"Error: no warehouse in {home.warehouse.parent} yet; run `warmline run` first\n")


def test_text_a_spreadsheet_would_run_gets_a_quote_control_characters_escapes_and_nothing_else_changes():
    assert [csv_cell(v) for v in ("=1+1", "+86 751", "-", "@A1", "\tx", "\rx", "韶关", "a=b", "", None)] == \
        ["'=1+1", "'+86 751", "'-", "'@A1", "'\tx", "\\rx", "韶关", "a=b", "", None]
    assert [csv_cell(v) for v in ("南雄\x1b[31m", "市\u202e", "第一行\n第二行")] == \
        ["南雄\\x1b[31m", "市\\u202e", "第一行\n第二行"]
    assert [csv_cell(v) for v in (-5, -5.5, 24684.0, 2.5)] == [-5, -5.5, 24684, 2.5]


def test_duckdb_messages_become_one_line_without_the_caret():
    message = ('Catalog Error: Table with name nope does not exist!\nDid you mean "marts.headline"?\n\n'
               "LINE 1: select * from nope\n                      ^^^^")
    assert one_line(Exception(message)) == \
        'Catalog Error: Table with name nope does not exist! Did you mean "marts.headline"?'
