"""`warmline audit` (transforms/warehouse/audit.py): what it proves on a sound warehouse, and each way it finds one unsound."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ingest_inbox
from transforms import warehouse
from transforms.core.reference import load_reference
from transforms.ingest.ingestor import Ingestor
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE
from transforms.warehouse.audit import Finding, audit, recompute_city_totals

WARMLINE = str(Path(sys.executable).with_name("warmline"))


def run_audit(layout) -> list[Finding]:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return audit(con, layout).findings
    finally:
        con.close()


def tamper(layout, *statements: str) -> None:
    con = warehouse.connect(layout.warehouse)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def one_id(layout, where: str = "TRUE") -> tuple[str, str, str]:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return con.execute(f"SELECT submission_id, file_name, archive_path FROM raw.submissions WHERE {where} "
                           "ORDER BY file_name LIMIT 1").fetchone()
    finally:
        con.close()


def test_the_worked_example_passes_with_what_was_checked(demo_home):
    con = warehouse.connect(demo_home.warehouse, read_only=True)
    try:
        report = audit(con, demo_home)
    finally:
        con.close()
    assert report.findings == []
    assert report.summary() == ("audit: 6 files (6 loaded, 0 superseded, 0 duplicate, 0 rejected), 0 waiting in the "
                                "inbox, 6 archived copies hashed, 29 facts traced, 84 city_totals rows recomputed: OK")


def test_the_recomputation_matches_the_worked_example_headline(demo_home):
    con = warehouse.connect(demo_home.warehouse, read_only=True)
    try:
        totals = recompute_city_totals(con)
    finally:
        con.close()
    day = {k[1]: v for k, v in totals.items() if k[0] == DEMO_DATE}
    assert [(day[i]["value"], day[i]["qualifier"]) for i in ("households_visited", "funds_disbursed", "items_issued",
                                                             "patrols_run")] == \
        [(24684.0, "exact"), (4185000.0, "approx"), (5584.0, "at_least"), (371.0, "at_least")]
    assert (day["items_issued"]["parts_unspecified"], day["items_issued"]["units_reporting"],
            day["items_issued"]["units_missing"]) == (1, 6, 6)


def test_an_archived_copy_changed_after_receipt_is_found(demo_home):
    sid, name, archive = one_id(demo_home)
    path = demo_home.home / archive
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"\0")
    [finding] = run_audit(demo_home)
    assert finding.line().startswith(f"archive {sid}: the archived copy of {name} ({archive}) no longer matches "
                                     "its SHA-256")


def test_a_missing_archived_copy_is_found(demo_home):
    sid, name, archive = one_id(demo_home)
    (demo_home.home / archive).unlink()
    assert run_audit(demo_home) == [Finding("archive", sid, f"the archived copy of {name} ({archive}) is missing")]


def test_a_received_file_without_a_state_is_found_unless_it_still_waits_in_the_inbox(demo_home):
    stray = demo_home.archive / ("ab" * 32 + ".xlsx")
    stray.write_bytes(b"received, archived, never recorded")
    assert run_audit(demo_home) == [Finding("archive", stray.name, "a received file has no final state: it is "
                                                                   "archived but not in raw.submissions, and no "
                                                                   "longer in the inbox")]
    stray.unlink()
    waiting = demo_home.archive / (hashlib.sha256(b"waits").hexdigest() + ".csv")
    waiting.write_bytes(b"waits")
    (demo_home.inbox / "waits.csv").write_bytes(b"waits")  # a crash between archiving and recording: not lost
    assert run_audit(demo_home) == []


def test_facts_of_a_file_not_loaded_and_a_half_loaded_file_are_found(demo_home):
    sid, name, _ = one_id(demo_home, "unit_code = '440222'")
    tamper(demo_home, "UPDATE raw.submissions SET status = 'rejected', report_path = 'x' "
                      f"WHERE submission_id = '{sid}'")
    findings = {f.check for f in run_audit(demo_home)}
    assert findings == {"state", "facts"}
    tamper(demo_home, f"UPDATE raw.submissions SET status = 'loaded', report_path = NULL WHERE submission_id = '{sid}'",
           f"DELETE FROM raw.facts WHERE submission_id = '{sid}'")
    lines = [f.line() for f in run_audit(demo_home) if f.check == "facts"]
    assert lines == [f"facts {sid}: {name} is loaded but has no facts: half-loaded"]


def test_figures_without_their_submission_are_found(demo_home):
    tamper(demo_home, "INSERT INTO raw.facts VALUES ('nosuchfile00', '440204', DATE '2023-12-20', "
                      "'households_visited', NULL, 5, 'exact', 0, '统计表!B5', '5')")
    findings = run_audit(demo_home)
    assert Finding("facts", "nosuchfile00", "1 facts belong to no received file") in findings


def test_two_loaded_files_for_one_unit_and_day_are_found(home, ingestor, ref, tmp_path):
    for n, households in enumerate((6000, 6802)):
        path = write_submission(tmp_path / f"翁源县_v{n}.xlsx", ref, "翁源县", DEMO_DATE,
                                [FilledRow("全县", {"走访慰问户数（户）": households})])
        (home.inbox / path.name).write_bytes(path.read_bytes())
    ingest_inbox(ingestor, DEMO_DATE)
    assert run_audit(home) == []
    tamper(home, "UPDATE raw.submissions SET status = 'loaded'")
    findings = run_audit(home)
    assert [f.check for f in findings if f.check == "state"] == ["state"]
    assert findings[0].message.startswith("2 loaded files for one unit and date")
    assert {f.check for f in findings} == {"state", "marts"}  # and the marts now count 翁源县 twice


def test_a_mart_that_disagrees_with_the_facts_is_found(demo_home):
    body = (warehouse.MARTS_DIR / "city_totals.sql").read_text(encoding="utf-8")
    tampered = body.replace("sum(value) as value", "sum(value) + 1 as value")
    assert tampered != body
    tamper(demo_home, f"CREATE OR REPLACE VIEW marts.city_totals AS\n{tampered}")
    findings = run_audit(demo_home)
    assert Finding("marts", "2023-12-20 households_visited",
                   "marts.city_totals says value 24685.0 (recomputed 24684.0)") in findings
    assert {f.check for f in findings} == {"marts"}


def _warmline(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WARMLINE_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([WARMLINE, *args], env=env, capture_output=True, text=True, timeout=120)


def test_audit_command_prints_findings_and_exits_1_only_when_there_are_some(demo_home):
    ok = _warmline(demo_home.home, "audit")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, (
        "audit: 6 files (6 loaded, 0 superseded, 0 duplicate, 0 rejected), 0 waiting in the inbox, 6 archived copies "
        "hashed, 29 facts traced, 84 city_totals rows recomputed: OK\n"), "")
    sid, name, archive = one_id(demo_home)
    (demo_home.home / archive).unlink()
    bad = _warmline(demo_home.home, "audit")
    assert (bad.returncode, bad.stdout.splitlines()) == (1, [
        f"archive {sid}: the archived copy of {name} ({archive}) is missing",
        "audit: 6 files (6 loaded, 0 superseded, 0 duplicate, 0 rejected), 0 waiting in the inbox, 5 archived copies "
        "hashed, 29 facts traced, 84 city_totals rows recomputed: 1 finding"])


def test_audit_without_a_warehouse_says_what_to_run(home):
    result = _warmline(home.home, "audit")
    assert (result.returncode, result.stderr) == (
        1, f"Error: no warehouse in {home.warehouse.parent} yet; run `warmline run` first\n")


def test_the_recomputation_sets_aside_figures_another_unit_includes(demo_home, ingestor):
    """campaign.toml may declare that a unit's figure already includes another's; the audit follows it."""
    toml = demo_home.reference / "campaign.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[[overlaps]]\nunit = "440200901"\nindicator = '
                    '"households_visited"\nincludes = ["440229"]\nreason = "市民政局的走访户数含翁源县"\n',
                    encoding="utf-8")
    ingest_inbox(Ingestor(demo_home, load_reference(demo_home.reference), ingestor.validator, ingestor.reader),
                 DEMO_DATE)
    assert run_audit(demo_home) == []
    con = warehouse.connect(demo_home.warehouse, read_only=True)
    try:
        assert con.execute("SELECT value FROM marts.city_totals WHERE as_of_date = ? AND indicator = "
                           "'households_visited'", [DEMO_DATE]).fetchall() == [(17882.0,)]
    finally:
        con.close()
