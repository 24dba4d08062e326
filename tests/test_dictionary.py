"""docs/warehouse.md, the data dictionary: never stale, complete, and every example query in it runs."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.conftest import REPO, ingest_inbox
from tests.test_publish import correction, publish_home, rows
from transforms import warehouse
from transforms.core.layout import SHIPPED_REFERENCE
from transforms.core.reference import load_reference
from transforms.read.worked_example import DEMO_DATE
from transforms.warehouse.dictionary import ANY, UndocumentedColumns, generate, relations

DICTIONARY = REPO / "docs" / "warehouse.md"


def example_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DICTIONARY.read_text(encoding="utf-8"), flags=re.S)


def test_the_committed_dictionary_is_what_make_docs_generates():
    assert DICTIONARY.read_text(encoding="utf-8") == generate(), \
        "docs/warehouse.md is stale: run `make docs` and commit the result"


def test_the_dictionary_has_every_relation_and_column_of_the_warehouse():
    con = duckdb.connect(":memory:")
    try:
        warehouse.prepare(con, load_reference(SHIPPED_REFERENCE))
        columns = con.execute("SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema IN ('marts', 'raw', 'ref')").fetchall()
    finally:
        con.close()
    text = DICTIONARY.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### ((?:marts|raw|ref)\.\w+)\n(.*?)(?=^##)", text, flags=re.S | re.M))
    assert sorted(sections) == sorted({relation for relation, _ in columns})
    missing = [f"{r}.{c}" for r, c in columns if f"\n| `{c}` |" not in sections[r]]
    assert missing == []


def test_a_column_without_a_description_or_a_description_without_a_column_is_an_error():
    con = duckdb.connect(":memory:")
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE VIEW marts.headline AS SELECT DATE '2023-12-20' AS as_of_date, 1.0 AS households")
        docs = {(ANY, "as_of_date"): ("", "the day"), ("marts.headline", "funds"): ("元", "money")}
        with pytest.raises(UndocumentedColumns) as error:
            relations(con, docs)
    finally:
        con.close()
    assert str(error.value) == ("docs/dictionary/columns.csv is out of step with the warehouse: no description for "
                                "marts.headline.households; no such column for marts.headline.funds")


def test_every_example_query_runs_on_the_worked_example(demo_home):
    publish_home(demo_home)
    queries = example_queries()
    assert len(queries) == len(list((REPO / "docs" / "dictionary" / "examples").glob("*.sql"))) == 9
    con = duckdb.connect(str(demo_home.analytics), read_only=True)
    try:
        results = [con.execute(q).fetchall() for q in queries]
    finally:
        con.close()
    assert [len(r) for r in results] == [6, 14, 6, 1, 0, 2, 6, 0, 3]
    assert results[0][-1] == (DEMO_DATE, 24684.0, "exact", 4185000.0, "approx", 5584.0, "at_least", 371.0,
                              "at_least", 6, 0, 6)
    assert results[5] == [
        ("始兴县", "reported", "始兴县_寒冬送温暖统计表_20231220.xlsx", 3705000.0, "approx", "统计表!F5", "约370.5万"),
        ("市民政局", "reported", "市民政局_寒冬送温暖统计表_20231220.xlsx", 480000.0, "at_least", "统计表!F8", "48万余"),
    ]


def test_the_correction_example_shows_what_the_correction_changed(demo_home, ingestor, ref, tmp_path):
    correction(demo_home, ref, tmp_path, households=6900)
    ingest_inbox(ingestor)
    publish_home(demo_home)
    (query,) = [q for q in example_queries() if "from marts.revisions" in q]
    assert [row[:10] for row in rows(demo_home.analytics, query)] == [
        ("440229", DEMO_DATE, "households_visited", None, 6802.0, "exact", 6900.0, "exact",
         "翁源县_寒冬送温暖统计表_20231220.xlsx", "翁源县_更正_20231220.xlsx"),
        ("440229", DEMO_DATE, "items_issued", None, 1456.0, "exact", 1500.0, "exact",
         "翁源县_寒冬送温暖统计表_20231220.xlsx", "翁源县_更正_20231220.xlsx"),
    ]
