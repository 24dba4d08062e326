"""Read-only commands load only what they use: `warmline status`, `sql`, `bulletin`, `audit`, `headers` and `--help`,
each in a fresh process on an ingested home, import neither Great Expectations nor Prefect. The cross-field rules
they once ran with Great Expectations run when a file is validated: the findings are recorded with the file, read
back by the day's checks, the same one file at a time or in a batch, and replaced when the file is read again."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ingest_inbox, make_home
from tests.test_checks import send
from tests.test_header_review import AMBIGUOUS, write_sheet
from tests.test_ingest_many import ingest_many
from tests.test_publish import publish_home
from tests.test_status import row
from transforms import warehouse
from transforms.core.layout import SHIPPED_REFERENCE
from transforms.core.problems import catalogue
from transforms.core.reference import load_reference
from transforms.day.checks import CheckResult, DayChecks
from transforms.ingest.header_review import accept
from transforms.ingest.ingestor import Ingestor
from transforms.ingest.record import Receipt
from transforms.read.guarded_reader import SafeReader
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE, write_demo
from transforms.validate.suites import SubmissionValidator

# The command in a fresh interpreter, then which of the two heavy packages it imported, on the last line.
PROBE = """\
import sys
from flows.cli import app
try:
    code = app(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    code = exc.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"great_expectations", "prefect"})
print(f"\\nexit {code or 0}; imported {' '.join(heavy) or 'neither'}")
"""
LECHANG = "乐昌市_1220_9.xlsx"  # persons below households: the day's one cross-field finding
PERSONS_BELOW = ("走访慰问人数（5）少于户数（10），请核对两列是否填反",
                 "persons visited (5) is below households visited (10) — check whether the columns are swapped")


def alone(home: Path, *args: str) -> tuple[int, list[str], str, str]:
    """`warmline ARGS` in a fresh process, as a user runs it (no PREFECT_ setting): its exit status, output lines,
    stderr, and what it imported of Great Expectations and Prefect ('neither' when nothing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"WARMLINE_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=300)
    output, _, last = done.stdout.rstrip("\n").rpartition("\n\n")
    found = re.fullmatch(r"exit (\d+); imported (.+)", last)
    assert found, done.stdout + done.stderr
    return int(found[1]), output.splitlines(), done.stderr, found[2]


@pytest.fixture(scope="module")
def day_home(tmp_path_factory, ref, reader):
    """The worked example, plus: 乐昌市 with fewer persons than households visited; an earlier 南雄市 file with the
    same fault, superseded by the example's (its finding no longer counts); 翁源县 reporting more households on the
    18th than on the 20th (a falling cumulative figure: the day is blocked). Validation results kept, none built
    into pages; published for analysts."""
    root = tmp_path_factory.mktemp("read_only")
    layout = make_home(root / "home")
    write_demo(layout.inbox, ref)
    fault = {"走访慰问户数（户）": 10, "走访慰问人数（人）": 5, "巡查次数（次）": 4, "出动人员（人次）": 8}
    send(layout, ref, root, "乐昌市", DEMO_DATE, fault)
    send(layout, ref, root, "南雄市", DEMO_DATE, fault)
    send(layout, ref, root, "翁源县", dt.date(2023, 12, 18), {"走访慰问户数（户）": 7000})
    validator = SubmissionValidator(ref, quality_dir=layout.quality)
    ingest_inbox(Ingestor(layout, ref, validator, reader, quiet_seconds=0), DEMO_DATE)
    publish_home(layout)
    return layout


def test_help_imports_neither(day_home):
    code, lines, err, imported = alone(day_home.home, "--help")
    assert (code, err, imported) == (0, "", "neither")
    commands = [line.split()[0] for line in lines[lines.index("Commands:") + 1:]]
    assert {"status", "sql", "bulletin", "audit", "headers", "docs"} <= set(commands)


def test_status_shows_the_finding_recorded_at_ingest_and_imports_neither(day_home):
    code, lines, err, imported = alone(day_home.home, "status", "--date", "2023-12-20")
    assert (code, err, imported) == (0, "", "neither")
    assert row(lines, "cross_field") == ["cross_field", "乐昌市", "persons-below-households", "", "", "warning"]
    assert row(lines, "cumulative_falls") == ["cumulative_falls", "翁源县", "households_visited", "6,802",
                                              "≥ 7,000（12-18）", "BLOCKS"]
    # the pages are not built by status (that needs Great Expectations): it says how many are missing
    assert lines[-2:] == ["Data Docs: 18 validation result(s) have no page yet; `warmline docs` builds them.",
                          f"Status page: {day_home.bulletins / '2023-12-20' / 'status.html'}"]
    page = (day_home.bulletins / "2023-12-20" / "status.html").read_text(encoding="utf-8")
    assert f"{PERSONS_BELOW[0]}<br><span class=\"msg-en\">{PERSONS_BELOW[1]}</span>" in page
    assert f"{LECHANG} 统计表!B5, C5, L5, M5" in page


def test_the_days_checks_read_the_finding_of_the_counted_file_only(day_home, ref):
    con = warehouse.connect(day_home.warehouse, read_only=True)
    try:
        found = [c for c in DayChecks(ref).run(con, DEMO_DATE) if c.check == "cross_field"]
        recorded = con.execute("SELECT s.file_name, s.status, c.sheet, c.row_number, c.cells, c.rule "
                               "FROM raw.cross_field_findings AS c JOIN raw.submissions AS s USING (submission_id) "
                               "ORDER BY s.file_name").fetchall()
    finally:
        con.close()
    assert found == [CheckResult("cross_field", "440281", "乐昌市", "persons-below-households", "", "", *PERSONS_BELOW,
                                 where=f"{LECHANG} 统计表!B5, C5, L5, M5")]
    # 南雄市's earlier file keeps its finding, but the example's later file for the day superseded it
    assert recorded == [(LECHANG, "loaded", "统计表", 5, "B5, C5, L5, M5", "persons-below-households"),
                        ("南雄市_1220_9.xlsx", "superseded", "统计表", 5, "B5, C5, L5, M5",
                         "persons-below-households")]


def test_sql_imports_neither(day_home):
    code, lines, err, imported = alone(day_home.home, "sql", "SELECT file_name, cells, rule, message_zh FROM "
                                       "raw.cross_field_findings JOIN raw.submissions USING (submission_id)")
    assert (code, err, imported) == (0, "", "neither")
    assert row(lines, LECHANG) == [LECHANG, "B5, C5, L5, M5", "persons-below-households", PERSONS_BELOW[0]]
    assert lines[-1] == "2 rows"


def test_audit_imports_neither(day_home):
    code, lines, err, imported = alone(day_home.home, "audit")
    assert (code, err, imported) == (0, "", "neither")
    assert lines == ["audit: 9 files (8 loaded, 1 superseded, 0 duplicate, 0 rejected), 0 waiting in the inbox, "
                     "9 archived copies hashed, 38 facts traced, 84 city_totals rows recomputed: OK"]


def test_headers_imports_neither(day_home):
    code, lines, err, imported = alone(day_home.home, "headers")
    assert (code, err, imported) == (0, "", "neither")
    assert row(lines, "走访慰问人数（人）") == ["走访慰问人数（人）", "人", "persons_visited", "alias", "走访慰问人数",
                                                "9", "3"]
    assert lines[-1] == "Every header with figures was read: nothing left unmapped."


def test_bulletin_asks_the_gate_without_prefect_or_great_expectations(day_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(day_home.home, home)
    code, lines, err, imported = alone(home, "bulletin", "--date", "2023-12-20")
    assert (code, err, imported) == (3, "", "neither")
    assert row(lines, "cumulative_falls") == ["cumulative_falls", "翁源县", "households_visited", "6,802",
                                              "≥ 7,000（12-18）", "BLOCKS"]
    assert "NOT PUBLISHED: 1 blocking check(s) failed for 2023-12-20 (cumulative_falls)." in lines
    draft = home / "data/bulletins/2023-12-20/draft"
    assert sorted(p.name for p in draft.iterdir()) == ["bulletin.docx", "bulletin.md", "chart.png", "figures.csv"]
    assert not (home / "data/bulletins/2023-12-20/bulletin.md").exists()


def test_docs_builds_the_missing_pages_and_status_then_links_them(day_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(day_home.home, home)
    code, lines, err, imported = alone(home, "docs")
    index = home / "data/quality/gx/uncommitted/data_docs/local_site/index.html"
    assert (code, lines[-2:], imported) == (0, ["Built 18 Data Docs page(s).", f"Data Docs: {index}"],
                                            "great_expectations")
    assert index.is_file()
    # the suite's page says, with each rule, what the clerk is told to do: the problem catalogue's fix
    fix = catalogue()["negative-figure"]["fix_zh"]
    assert fix in (index.parent / "expectations" / "figures.html").read_text(encoding="utf-8")
    code, lines, err, imported = alone(home, "status", "--date", "2023-12-20")
    page = home / "data/bulletins/2023-12-20/status.html"
    assert (code, lines[-2:], imported) == (0, [f"Data Docs: {index}", f"Status page: {page}"], "neither")
    assert "/validations/" in page.read_text(encoding="utf-8")  # each file links its own pages now


FAULTS = {  # unit -> rows (label, figures); one file each, a fault of each rule in a different file and row
    "乐昌市": [("乐城街道", {"走访慰问户数（户）": 10, "走访慰问人数（人）": 5}),
             ("北乡镇", {"走访慰问户数（户）": 3, "走访慰问人数（人）": 7}),
             ("长来镇", {"巡查次数（次）": 9, "出动人员（人次）": 4})],
    "新丰县": [("丰城街道", {"街面救助（人次）": 2, "劝导入站（人）": 3})],
    "仁化县": [("丹霞街道", {"走访慰问户数（户）": 4, "走访慰问人数（人）": 4})],
}


def test_a_batch_records_the_findings_each_file_gets_alone(tmp_path, ref, validator, reader):
    found = []
    for name in ("one", "many"):
        layout = make_home(tmp_path / name)
        for unit, rows in FAULTS.items():
            path = write_submission(tmp_path / f"{name}-{unit}.xlsx", ref, unit, DEMO_DATE,
                                    [FilledRow(label, figures) for label, figures in rows])
            shutil.copyfile(path, layout.inbox / f"{unit}.xlsx")
        ingestor = Ingestor(layout, ref, validator, reader, quiet_seconds=0)
        if name == "one":
            ingest_inbox(ingestor)
        else:
            ingest_many(ingestor)
        con = warehouse.connect(layout.warehouse, read_only=True)
        try:
            found.append(con.execute("SELECT s.file_name, c.row_number, c.cells, c.rule, c.message_en "
                                     "FROM raw.cross_field_findings AS c JOIN raw.submissions AS s "
                                     "USING (submission_id) ORDER BY ALL").fetchall())
        finally:
            con.close()
    assert found[0] == found[1] == [
        ("乐昌市.xlsx", 5, "B5, C5", "persons-below-households",
         "persons visited (5) is below households visited (10) — check whether the columns are swapped"),
        ("乐昌市.xlsx", 7, "L7, M7", "staff-below-patrols",
         "staff deployed (4) is below patrols run (9) — every patrol takes at least one person"),
        ("新丰县.xlsx", 5, "O5, P5", "shelter-above-rescues",
         "shelter admissions (3) exceed street rescues (2) — please check"),
    ]


def _read_again(layout, validator) -> list[tuple]:
    """Read every file on record again with the reference data as it is now; the findings recorded after."""
    ref = load_reference(layout.reference)
    con = warehouse.connect(layout.warehouse)
    try:
        receipts = [Receipt(sid, name, sha, received.astimezone(dt.timezone.utc), archive)
                    for sid, name, sha, received, archive in con.execute(
                        "SELECT submission_id, file_name, sha256, received_at, archive_path FROM raw.submissions "
                        "ORDER BY received_at").fetchall()]
        with SafeReader(ref) as reader:  # its workers read with the reference data as it is now
            Ingestor(layout, ref, validator, reader, quiet_seconds=0).reread(receipts, con, "test")
        return con.execute("SELECT row_number, cells, rule, message_zh FROM raw.cross_field_findings ORDER BY ALL"
                           ).fetchall()
    finally:
        con.close()


def test_a_file_read_again_has_its_findings_replaced(home, ingestor, ref, validator):
    # households under a header that could mean three things: not read, so no rule has both figures of a row
    write_sheet(home.inbox / "乐昌市_20231220.xlsx", "乐昌市民政局", [
        ["镇（街道）", AMBIGUOUS, "走访慰问人数（人）"], ["乐城街道", 1200, 1000], ["北乡镇", 800, 900]])
    ingest_inbox(ingestor, DEMO_DATE)
    assert _read_again(home, validator) == []

    accept(home.reference, ref, AMBIGUOUS, None, "households_visited")
    below = [(4, "B4, C4", "persons-below-households", "走访慰问人数（1,000）少于户数（1,200），请核对两列是否填反")]
    assert _read_again(home, validator) == below  # 北乡镇: 900 persons in 800 households, as it may be
    assert _read_again(home, validator) == below  # replaced, not added again

    shutil.copyfile(SHIPPED_REFERENCE / "indicators.csv", home.reference / "indicators.csv")  # the alias taken back
    assert _read_again(home, validator) == []
