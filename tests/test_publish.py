"""Publishing for analysts: the read-only copy, the Parquet marts, what readers meet while loads go on, and
whether older DuckDB versions read the copy."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, ingest_inbox, make_home
from transforms import warehouse
from transforms.ingest.ingestor import Ingestor
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE
from transforms.warehouse.analysts_copy import (PublishFailed, marts_views, publication_due, publication_stale, publish,
                                publish_analytics)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
RELATIONS = ("SELECT table_schema, table_name, table_type FROM information_schema.tables "
             "WHERE table_catalog = current_database() ORDER BY ALL")
# What a reader checks: every headline total of every day, and how many files the load it sees had recorded.
TOTALS = ("SELECT (SELECT count(*) FROM raw.submissions), count(*), sum(households_visited), sum(funds_disbursed), "
          "sum(items_issued), sum(patrols_run) FROM marts.headline")


def rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def publish_home(layout):
    """Publish the way the flows do: on a writer connection to the warehouse."""
    con = warehouse.connect(layout.warehouse)
    try:
        return publish(layout, con)
    finally:
        con.close()


def land(layout, path: Path, when: dt.datetime) -> Path:
    """Put a file in the inbox as if it landed at `when` (received_at is its mtime there)."""
    target = layout.inbox / path.name
    if path != target:
        shutil.copyfile(path, target)
    stamp = (when if when.tzinfo else when.replace(tzinfo=SHANGHAI)).timestamp()
    os.utime(target, (stamp, stamp))
    return target


def correction(layout, ref, tmp_path, households: int = 6900) -> Path:
    """A second file from 翁源县 for the worked example's day, landing after the first: it supersedes it."""
    path = write_submission(tmp_path / "翁源县_更正_20231220.xlsx", ref, "翁源县民政局", DEMO_DATE, [
        FilledRow("县民政局及各镇", {"走访慰问户数（户）": households, "走访慰问人数（人）": 11490,
                              "物资合计（件）": 1500, "救助惠及人次（人次）": 1633})])
    return land(layout, path, dt.datetime.now(SHANGHAI) + dt.timedelta(minutes=5))  # the demo landed just now


def test_the_copy_has_every_table_view_and_macro_with_the_warehouse_rows(demo_home):
    con = warehouse.connect(demo_home.warehouse)
    try:
        publish_analytics(con, demo_home.analytics)
    finally:
        con.close()
    relations = rows(demo_home.warehouse, RELATIONS)
    assert rows(demo_home.analytics, RELATIONS) == relations
    assert {(schema, kind) for schema, _, kind in relations} == {
        ("marts", "VIEW"), ("raw", "BASE TABLE"), ("ref", "BASE TABLE")}
    for schema, name, _ in relations:
        sql = f"SELECT * FROM {schema}.{name} ORDER BY ALL"
        assert rows(demo_home.analytics, sql) == rows(demo_home.warehouse, sql), f"{schema}.{name}"
    assert rows(demo_home.analytics, "SELECT * FROM marts.headline WHERE as_of_date = DATE '2023-12-20'") == [
        (DEMO_DATE, 24684.0, "exact", 4185000.0, "approx", 5584.0, "at_least", 371.0, "at_least", 6, 0, 6)]
    assert rows(demo_home.analytics, "SELECT marts.sum_qualifier(qualifier, value) FROM raw.facts") == [("approx",)]


def test_the_copy_is_in_the_v1_0_storage_format_read_only_on_disk_and_leaves_nothing_beside_it(demo_home):
    publish_home(demo_home)
    header = demo_home.analytics.read_bytes()[:20]
    assert (header[8:12], struct.unpack("<Q", header[12:20])[0]) == (b"DUCK", 64)  # 64: DuckDB 1.0/1.1 format
    assert struct.unpack("<Q", demo_home.warehouse.read_bytes()[12:20])[0] == 999  # the warehouse: 2.0's own
    assert oct(demo_home.analytics.stat().st_mode & 0o777) == "0o444"
    assert sorted(p.name for p in demo_home.analytics.parent.iterdir()) == [
        "analytics.duckdb", "parquet", "warmline.duckdb"]


def same_as_warehouse(layout) -> None:
    """Every table and view of the copy holds exactly the warehouse's rows, and the copy is still in v1.0 format."""
    relations = rows(layout.warehouse, RELATIONS)
    assert rows(layout.analytics, RELATIONS) == relations
    for schema, name, _ in relations:
        sql = f"SELECT * FROM {schema}.{name} ORDER BY ALL"
        assert rows(layout.analytics, sql) == rows(layout.warehouse, sql), f"{schema}.{name}"
    assert struct.unpack("<Q", layout.analytics.read_bytes()[12:20])[0] == 64


def test_a_publication_after_loads_brings_the_previous_copy_up_to_date(demo_home, ingestor, ref, tmp_path):
    first = publish_home(demo_home)
    assert not first.updated  # nothing to start from: written anew
    # a correction supersedes 翁源县's file (an old receipt changes), a new file comes, a day is rolled up
    correction(demo_home, ref, tmp_path)
    land(demo_home, write_submission(tmp_path / "南雄市_20231221.xlsx", ref, "南雄市民政局", DEMO_DATE +
                                     dt.timedelta(days=1), [FilledRow("雄州街道", {"走访慰问户数（户）": 90})]),
         dt.datetime.now(SHANGHAI) + dt.timedelta(minutes=6))
    assert [o.status for o in ingest_inbox(ingestor, DEMO_DATE + dt.timedelta(days=1))] == ["loaded", "loaded"]
    second = publish_home(demo_home)
    assert second.updated
    same_as_warehouse(demo_home)
    assert rows(demo_home.analytics, "SELECT status FROM raw.submissions WHERE file_name LIKE '翁源县%' "
                                     "ORDER BY received_at") == [("superseded",), ("loaded",)]
    assert publish_home(demo_home).updated  # nothing new: still the same
    same_as_warehouse(demo_home)


def test_a_copy_of_another_shape_is_written_anew_and_views_gone_from_the_warehouse_go(demo_home):
    publish_home(demo_home)
    con = warehouse.connect(demo_home.warehouse)
    try:
        con.execute("ALTER TABLE raw.publications ADD COLUMN note VARCHAR")  # a new version's schema
        assert not publish(demo_home, con).updated
        con.execute("CREATE VIEW marts.extra AS SELECT 1 AS one")  # a view the marts' files do not make
        assert not publish(demo_home, con).updated
        assert "extra" in marts_views(duckdb.connect(str(demo_home.analytics), read_only=True))
        con.execute("DROP VIEW marts.extra")
        assert publish(demo_home, con).updated
    finally:
        con.close()
    same_as_warehouse(demo_home)
    assert "extra" not in marts_views(duckdb.connect(str(demo_home.analytics), read_only=True))


def test_a_stale_tmp_from_a_crashed_publication_is_replaced(demo_home):
    tmp = demo_home.analytics.with_name("analytics.duckdb.tmp")
    tmp.write_bytes(b"half a database")
    tmp.with_name("analytics.duckdb.tmp.wal").write_bytes(b"half a log")
    publish_home(demo_home)
    assert not tmp.exists() and not tmp.with_name("analytics.duckdb.tmp.wal").exists()
    assert rows(demo_home.analytics, "SELECT count(*) FROM raw.submissions") == [(6,)]


def test_a_reader_holding_the_previous_copy_keeps_reading_it(demo_home, ingestor, ref, tmp_path):
    publish_home(demo_home)
    reader = duckdb.connect(str(demo_home.analytics), read_only=True)
    try:
        households = "SELECT households_visited FROM marts.headline WHERE as_of_date = DATE '2023-12-20'"
        assert reader.execute(households).fetchall() == [(24684.0,)]
        correction(demo_home, ref, tmp_path, households=6900)
        con = warehouse.connect(demo_home.warehouse)
        try:
            warehouse.prepare(con, ref)
            assert ingestor.ingest(demo_home.inbox / "翁源县_更正_20231220.xlsx", con).status == "loaded"
            publish(demo_home, con)
        finally:
            con.close()
        # The copy it opened was renamed away, not changed: same figures, no error.
        assert reader.execute(households).fetchall() == [(24684.0,)]
        assert reader.execute("SELECT count(*) FROM raw.submissions").fetchall() == [(6,)]
    finally:
        reader.close()
    # Reconnecting opens the new copy: 翁源县's 6,802 households replaced by its correction's 6,900.
    assert rows(demo_home.analytics, households) == [(24782.0,)]


def test_a_connect_torn_by_a_rename_is_the_error_read_only_opens_make_again(demo_home, tmp_path):
    """What a reader meets when the copy is renamed in between DuckDB's opens of it: headers whose blocks lie
    past the end of the file it then reads. Read-only opens try again on exactly DuckDB's wording; a file that
    stays torn still fails, with DuckDB's message."""
    publish_home(demo_home)
    torn = tmp_path / "torn.duckdb"
    torn.write_bytes(demo_home.analytics.read_bytes()[:12288 + 4096])  # the headers, and not the blocks
    with pytest.raises(duckdb.IOException, match=warehouse.TORN_READ):
        warehouse.connect(torn, read_only=True)


def test_a_failed_publication_keeps_the_previous_copy_and_says_what_to_run(demo_home):
    publish_home(demo_home)
    before = demo_home.analytics.read_bytes()
    tmp = demo_home.analytics.with_name("analytics.duckdb.tmp")
    tmp.mkdir()  # something in the way that a stale-file cleanup cannot remove
    with pytest.raises(PublishFailed) as failure:
        publish_home(demo_home)
    assert str(failure.value) == (
        f"publish failed for data/warehouse/analytics.duckdb: [Errno 21] Is a directory: '{tmp}'; the warehouse "
        "itself is up to date and analysts still see the previous copy. Re-run: warmline run")
    assert demo_home.analytics.read_bytes() == before


def test_with_an_interval_a_load_publishes_only_once_the_copy_is_that_old(demo_home):
    publish_home(demo_home)
    assert publication_due(demo_home, 0) and not publication_due(demo_home, 3600)
    hour_ago = time.time() - 3601
    os.utime(demo_home.analytics, (hour_ago, hour_ago))
    assert publication_due(demo_home, 3600)


def test_the_copy_is_stale_once_a_load_is_recorded_after_it(demo_home, ingestor, ref, tmp_path):
    publish_home(demo_home)
    con = warehouse.connect(demo_home.warehouse)
    try:
        assert not publication_stale(demo_home, con)
    finally:
        con.close()
    correction(demo_home, ref, tmp_path)
    ingest_inbox(ingestor)
    con = warehouse.connect(demo_home.warehouse)
    try:
        assert publication_stale(demo_home, con)
        publish(demo_home, con)
        assert not publication_stale(demo_home, con)
    finally:
        con.close()


def test_each_marts_view_is_published_as_parquet_with_its_rows(demo_home):
    published = publish_home(demo_home)
    con = duckdb.connect(str(demo_home.analytics), read_only=True)
    try:
        views = marts_views(con)
        assert views == sorted(warehouse.MARTS)
        assert published.parquet == tuple(demo_home.parquet / f"{v}.parquet" for v in views)
        for view in views:
            parquet = con.execute("SELECT * FROM read_parquet(?)", [str(demo_home.parquet / f"{view}.parquet")])
            assert parquet.fetchall() == con.execute(f"SELECT * FROM marts.{view}").fetchall(), view
    finally:
        con.close()


def test_parquet_files_of_views_gone_and_leftover_tmp_files_are_removed(demo_home):
    demo_home.parquet.mkdir(parents=True)
    (demo_home.parquet / "renamed_view.parquet").write_bytes(b"stale")
    (demo_home.parquet / "headline.parquet.tmp").write_bytes(b"half")
    publish_home(demo_home)
    assert sorted(p.name for p in demo_home.parquet.iterdir()) == sorted(f"{v}.parquet" for v in warehouse.MARTS)


# --- A reader querying while 40 submissions are loaded ----------------------------------------------------------

# One thread and a short pause between reads leave the writer a core on a 2-core machine, as real readers would.
READER = r"""
import json, os, sys, time, duckdb
path, stop, sql, mode = sys.argv[1:5]
reads, errors, seen, torn = 0, [], set(), 0
def open_copy():  # as warehouse.connect does: a connect torn by a rename between DuckDB's opens is made again
    global torn
    for attempt in range(4):
        try:
            return duckdb.connect(path, read_only=True, config={"threads": 1})
        except duckdb.IOException as exc:
            if attempt == 3 or "Could not read enough bytes from file" not in str(exc):
                raise
            torn += 1
held = open_copy() if mode == "hold" else None
print("ready", flush=True)
while not os.path.exists(stop):
    try:
        con = held or open_copy()
        try:
            seen.add(json.dumps(con.execute(sql).fetchone()))
        finally:
            if con is not held:
                con.close()
        reads += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.02 if mode == "loop" else 0.1)
print(json.dumps({"reads": reads, "errors": errors[:10], "error_count": len(errors), "seen": sorted(seen),
                  "torn": torn}))
"""


def campaign_submissions(folder: Path, ref, count: int, seed: int = 7) -> list[tuple[Path, dt.datetime]]:
    """`count` workbooks from the expected units on days of the campaign, one in ten a correction of an earlier
    one (same unit and date, landing later), each with the time it lands; in landing order."""
    rng = random.Random(seed)
    units = [ref.unit(code).name for code in ref.campaign.expected_units]
    days = (ref.campaign.end_date - ref.campaign.start_date).days
    sent: list[tuple[str, dt.date]] = []
    result = []
    for i in range(count):
        if sent and i % 10 == 9:
            unit, day = rng.choice(sent)
        else:
            unit, day = rng.choice(units), ref.campaign.start_date + dt.timedelta(days=rng.randrange(days + 1))
            while (unit, day) in sent:
                unit, day = rng.choice(units), ref.campaign.start_date + dt.timedelta(days=rng.randrange(days + 1))
            sent.append((unit, day))
        cells = {"走访慰问户数（户）": rng.randrange(50, 5000), "发放资金（元）": rng.randrange(1000, 900000),
                 "物资合计（件）": rng.randrange(10, 3000), "巡查次数（次）": rng.randrange(1, 80)}
        path = write_submission(folder / f"{unit}_{day:%Y%m%d}_{i:03d}.xlsx", ref, unit, day,
                                [FilledRow("全县", cells)])
        result.append((path, dt.datetime(2024, 3, 16, 8, 0) + dt.timedelta(minutes=i)))
    return result


def start_reader(path: Path, stop: Path, mode: str) -> subprocess.Popen:
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(stop), TOTALS, mode],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
    return reader


@pytest.mark.slow
def test_readers_meet_no_error_and_only_totals_of_completed_loads_while_40_files_load(tmp_path, ref, validator):
    layout = make_home(tmp_path / "home")
    ingestor = Ingestor(layout, ref, validator)
    files = campaign_submissions(tmp_path / "outbox", ref, 40)  # each a load and a publication, as in the service
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ref)
        publish(layout, con)
        completed = [json.dumps(con.execute(TOTALS).fetchone())]
    finally:
        con.close()

    stop = tmp_path / "stop"
    looping = start_reader(layout.analytics, stop, "loop")   # connects, queries, closes, again and again
    holding = start_reader(layout.analytics, stop, "hold")   # keeps the first copy open throughout
    started = time.monotonic()
    statuses = []
    try:
        for path, when in files:  # what the event-triggered flow does for each file landing
            target = land(layout, path, when)
            con = warehouse.connect(layout.warehouse)
            try:
                warehouse.prepare(con, ref)
                statuses.append(ingestor.ingest(target, con).status)
                publish(layout, con)
                completed.append(json.dumps(con.execute(TOTALS).fetchone()))
            finally:
                con.close()
    finally:
        stop.touch()
        loop_report = json.loads(looping.communicate(timeout=60)[0])
        hold_report = json.loads(holding.communicate(timeout=60)[0])
    seconds = time.monotonic() - started

    print(f"\n{len(files)} files loaded and published in {seconds:.1f} s; the looping reader made {loop_report['reads']} "
          f"reads ({loop_report['torn']} connects made again after a rename tore them) and saw "
          f"{len(loop_report['seen'])} distinct states; the holding reader made {hold_report['reads']} reads")
    assert statuses == ["loaded"] * 40
    assert rows(layout.warehouse, "SELECT status, count(*) FROM raw.submissions GROUP BY ALL ORDER BY ALL") == [
        ("loaded", 36), ("superseded", 4)]  # each correction superseded the file it corrects
    assert (loop_report["error_count"], loop_report["errors"]) == (0, [])
    assert set(loop_report["seen"]) <= set(completed)
    assert len(loop_report["seen"]) > 10 and loop_report["reads"] > 80  # it really read while loads went on
    assert (hold_report["error_count"], hold_report["seen"]) == (0, [completed[0]])
    assert rows(layout.analytics, TOTALS) == [tuple(json.loads(completed[-1]))]


# --- Older DuckDB versions open the copy --------------------------------------------------------------------

OLD_DUCKDB = ("1.1", "1.3", "1.4", "1.5")
COMPARE = r"""
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
queries = {
    "headline": "SELECT * FROM marts.headline ORDER BY as_of_date",
    "city_totals": "SELECT * FROM marts.city_totals ORDER BY ALL",
    "city_items_by_type": "SELECT * FROM marts.city_items_by_type ORDER BY ALL",
    "unit_latest": "SELECT * FROM marts.unit_latest ORDER BY ALL",
    "unit_day_figures": "SELECT * FROM marts.unit_day_figures ORDER BY ALL",
    "submissions": "SELECT submission_id, file_name, unit_code, as_of_date, status, reason FROM raw.submissions ORDER BY ALL",
    "facts": "SELECT * FROM raw.facts ORDER BY ALL",
}
queries.update({f"example {n}": sql for n, sql in enumerate(json.loads(sys.argv[2]), start=1)})
print(json.dumps({name: con.execute(sql).fetchall() for name, sql in queries.items()}, default=str))
"""


def old_duckdb(version: str, cache: Path) -> Path:
    """The python of a throwaway venv with duckdb `version`.*, made once and kept in pytest's cache."""
    # pytz: older duckdb needs it to return TIMESTAMPTZ values (notebooks have it through pandas).
    requirements = [f"duckdb=={version}.*", "pytz"]
    venv = cache / f"duckdb-{version}"
    python = venv / "bin" / "python"
    marker = venv / "installed.txt"
    if marker.exists() and marker.read_text() == " ".join(requirements):
        return python
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    install = made.returncode == 0 and subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        capture_output=True, text=True, timeout=600)
    if not install or install.returncode != 0:
        detail = (made.stderr if made.returncode else install.stderr).strip().splitlines()
        pytest.skip(f"cannot install duckdb {version}.* into a throwaway venv (no package index reachable?): "
                    f"{detail[-1] if detail else 'no output'}")
    marker.write_text(" ".join(requirements))
    return python


@pytest.mark.slow
@pytest.mark.parametrize("version", OLD_DUCKDB)
def test_older_duckdb_reads_the_copy_with_the_same_results(version, demo_home, ingestor, ref, tmp_path, request):
    publish_home(demo_home)
    correction(demo_home, ref, tmp_path)
    ingest_inbox(ingestor)
    assert publish_home(demo_home).updated  # a copy brought up to date, not only one written anew
    python = old_duckdb(version, request.config.cache.mkdir("old-duckdb"))
    assert subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True,
                          text=True).stdout.startswith(f"{version}.")
    # The dictionary's example queries too: analysts paste them into whatever DuckDB their tool embeds.
    examples = json.dumps(re.findall(r"```sql\n(.*?)```", (REPO / "docs" / "warehouse.md").read_text(encoding="utf-8"),
                                     flags=re.S))
    old = subprocess.run([str(python), "-c", COMPARE, str(demo_home.analytics), examples], capture_output=True,
                         text=True)
    new = subprocess.run([sys.executable, "-c", COMPARE, str(demo_home.analytics), examples], capture_output=True,
                         text=True)
    assert old.returncode == 0, old.stderr
    assert json.loads(new.stdout)["headline"][-1] == [
        "2023-12-20", 24782.0, "exact", 4185000.0, "approx", 5628.0, "at_least", 371.0, "at_least", 6, 0, 6]
    assert json.loads(old.stdout) == json.loads(new.stdout)


@pytest.mark.slow
def test_the_flows_publish_after_a_load_and_at_the_end_of_the_day(tmp_path, ref):
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.daily_rollup import daily_rollup
    from flows.ingest_submission import ingest_submission
    from transforms.read.worked_example import write_demo

    layout = make_home(tmp_path / "home")
    first, *others = write_demo(layout.inbox, ref)
    with prefect_test_harness(server_startup_timeout=90), \
            temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        ingest_submission(str(first), str(layout.home))
        assert rows(layout.analytics, "SELECT count(*) FROM raw.submissions") == [(1,)]
        daily_rollup(str(layout.home), DEMO_DATE)
    assert rows(layout.analytics, "SELECT count(*), max(as_of_date) FROM raw.rollup_days") == [(1, DEMO_DATE)]
    assert rows(layout.analytics, "SELECT households_visited FROM marts.headline "
                                  "WHERE as_of_date = DATE '2023-12-20'") == [(24684.0,)]
    assert sorted(p.name for p in layout.parquet.iterdir())[:2] == ["city_items_by_type.parquet",
                                                                    "city_totals.parquet"]
