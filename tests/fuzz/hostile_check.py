"""Run hostile files (tests/fuzz/make_hostile.py) through a fresh warmline home and judge how each ended.

Shared by benchmarks/hostile_corpus.py (the whole corpus) and tests/test_hostile_sample.py (a sample): the
same landing, the same ingest path (Ingestor.ingest_many, as `warmline ingest` runs it), the same verdicts and the
same scan of everything warmline printed or wrote afterwards for text that could drive a terminal, a page or a
spreadsheet.

Verdicts, one per file:
  as expected       the manifest's status (and rule, for a rejection), a report naming the file, figures equal
  lost              not in exactly one final state (no outcome, failed, left in the inbox, no or several rows), or
                    its archived copy is not the bytes that landed
  misread           loaded where the manifest says rejected, or loaded with figures, unit or day that differ
  wrongly rejected  rejected where the manifest says loaded
  wrong rule        rejected, but with none of the rules the manifest names
  no report         rejected without a report in the rejected folder, or with one that does not name the file
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import Reference
from transforms.core.safe_text import printable, readable_name
from transforms.ingest.ingestor import IngestFailed, Ingestor
from transforms.ingest.record import Outcome
from transforms.warehouse.audit import audit

AS_EXPECTED, LOST, MISREAD = "as expected", "lost", "misread"
WRONGLY_REJECTED, WRONG_RULE, NO_REPORT = "wrongly rejected", "wrong rule", "no report"
# Files land a second apart from here (Shanghai), after the campaign's last day: no as-of date lies after receipt.
LANDED = dt.datetime(2024, 3, 16, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
# Characters that act on a terminal or reorder text: C0 controls but tab, newline and carriage return, DEL, C1
# controls, and the bidirectional controls (LRM, RLM, the embeddings and overrides, the isolates, ALM).
_BIDI = {0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ACTIVE_CHARACTER = re.compile("[%s]" % "".join(
    re.escape(chr(c)) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), *_BIDI)))
# Tags that run in a browser when a file's text reaches a page unescaped (escaped, "&lt;img" is harmless).
PAGE_MARKUP = re.compile(r"<script|<img\s|<svg\s", re.IGNORECASE)
FORMULA_START = ("=", "+", "-", "@")
# How a misread load's figures stand against the table the file was made from.
ORIGINAL, OTHER = "the original's figures", "other figures"


# -- landing and ingesting ----------------------------------------------------------------------------------------
def inbox_name(entry: dict) -> str:
    """The name a file lands under: a GBK name as the undecodable bytes os.listdir would give."""
    if entry.get("inbox_name_hex"):
        return os.fsdecode(bytes.fromhex(entry["inbox_name_hex"]))
    return entry.get("inbox_name") or entry["file"]


def load_manifest(corpus: Path) -> list[dict]:
    return json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))


def land(entries: list[dict], corpus: Path, layout: Layout) -> list[Path]:
    """Copy every file into the inbox under its inbox name, a second apart, in manifest order."""
    paths = []
    for n, entry in enumerate(entries):
        path = layout.inbox / inbox_name(entry)
        path.write_bytes((corpus / entry["file"]).read_bytes())
        landed = (LANDED + dt.timedelta(seconds=n)).timestamp()
        os.utime(path, (landed, landed))
        paths.append(path)
    return paths


def ingest(ingestor: Ingestor, paths: list[Path], batch: int) -> tuple[dict[Path, Outcome], dict[Path, str]]:
    """Every path through ingest_many, `batch` at a time: the outcome of each, and why any failed."""
    outcomes, failures = {}, {}
    con = warehouse.connect(ingestor.layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        for start in range(0, len(paths), batch):
            chunk = paths[start:start + batch]
            try:
                done = ingestor.ingest_many(chunk, con)
                failed = {}
            except IngestFailed as exc:  # the others of the batch are recorded: judge them, and these as lost
                done, failed = exc.outcomes, {p: f"{type(e).__name__}: {e}" for p, e in exc.failed}
            failures.update(failed)
            # ingest_many keeps the order of its paths, leaving out the failed ones
            outcomes.update(zip([p for p in chunk if p not in failed], done))
    finally:
        con.close()
    return outcomes, failures


# -- what the warehouse recorded ---------------------------------------------------------------------------------
@dataclass
class Recorded:
    """What the warehouse holds of the run: rows per submission and the figures of each."""

    rows: dict[str, list[tuple]]  # submission id -> [(status, unit_code, as_of_date)]
    figures: dict[str, list[list]]  # submission id -> sorted [row label, indicator, item type, value]


def read_recorded(con) -> Recorded:
    rows, figures = defaultdict(list), defaultdict(list)
    for sid, status, unit, day in con.execute(
            "SELECT submission_id, status, unit_code, as_of_date FROM raw.submissions").fetchall():
        rows[sid].append((status, unit, day.isoformat() if day else None))
    for sid, label, indicator, item, value in con.execute(
            "SELECT submission_id, row_label, indicator, item_type, value FROM raw.figures").fetchall():
        figures[sid].append([label, indicator, item, value])
    return Recorded(dict(rows), {k: sorted(v, key=str) for k, v in figures.items()})


# -- verdicts -------------------------------------------------------------------------------------------------------
@dataclass
class FileResult:
    entry: dict
    verdict: str
    got: str  # what warmline did, in a line: status, rules, reason

    @property
    def family(self) -> str:
        return self.entry["family"]


def _error_rules(outcome: Outcome) -> list[str]:
    return [i.rule for i in outcome.issues if i.severity == "error"]


def _same_figures(entry: dict, got: list[list], row: tuple) -> bool:
    """The load gave exactly the expected unit, day and figures (labels too, unless they are hostile text)."""
    expected = entry["expected"]
    if (row[1], row[2]) != (expected["unit_code"], expected["as_of_date"]):
        return False
    if entry.get("compare_labels", True):
        return sorted(got, key=str) == sorted(expected["figures"], key=str)
    return sorted(map(str, (f[1:] for f in got))) == sorted(map(str, (f[1:] for f in expected["figures"])))


def _report_names_file(layout: Layout, outcome: Outcome, name: str) -> bool:
    """A report in the rejected folder that names the file as sent (or as printed safely)."""
    if not outcome.report_path:
        return False
    report = layout.home / outcome.report_path
    if report.parent != layout.rejected or not report.is_file():
        return False
    text = report.read_text(encoding="utf-8")
    readable = readable_name(name)
    return readable in text or printable(readable) in text


def judge(entry: dict, path: Path, original: bytes, outcome: Outcome | None, failure: str | None,
          recorded: Recorded, layout: Layout) -> FileResult:
    """How one file ended against its manifest entry (`original`: the bytes that landed)."""
    if outcome is None:
        return FileResult(entry, LOST, f"ingest failed: {failure}")
    archived = layout.home / outcome.receipt.archive_path
    if not archived.is_file() or archived.read_bytes() != original:
        return FileResult(entry, LOST, f"the archived copy is missing or differs: {outcome.receipt.archive_path}")
    rows = recorded.rows.get(outcome.receipt.submission_id, [])
    rules = _error_rules(outcome)
    got = f"{outcome.status} {rules or ''} {(outcome.reason or '')[:160]}".strip()
    if len(rows) != 1 or os.path.lexists(path):
        return FileResult(entry, LOST, f"{len(rows)} recorded rows, in inbox: {os.path.lexists(path)}; {got}")
    status = rows[0][0]
    if status in ("loaded", "superseded"):  # superseded: loaded, then a later file of the same unit and day came
        figures = recorded.figures.get(outcome.receipt.submission_id, [])
        same = "expected" in entry and _same_figures(entry, figures, rows[0])
        loaded_as = f"loaded ({status}) as {rows[0][1]} {rows[0][2]}"
        if entry["status"] == "rejected":
            return FileResult(entry, MISREAD, f"{loaded_as}, {ORIGINAL if same else OTHER}: {figures}")
        if not same:
            return FileResult(entry, MISREAD, f"{loaded_as}, {OTHER}: {figures}")
        return FileResult(entry, AS_EXPECTED, status)
    if status != "rejected":
        return FileResult(entry, LOST, f"ended {status}: {got}")
    if entry["status"] == "loaded":
        return FileResult(entry, WRONGLY_REJECTED, got)
    wanted = entry.get("rule")
    wanted = [] if wanted is None else wanted if isinstance(wanted, list) else [wanted]
    if entry["status"] == "rejected" and wanted and not set(wanted) & set(rules):
        return FileResult(entry, WRONG_RULE, f"wanted {wanted}; got {got}")
    if not _report_names_file(layout, outcome, inbox_name(entry)):
        return FileResult(entry, NO_REPORT, got)
    return FileResult(entry, AS_EXPECTED, "rejected")


# -- what reached a terminal, a page or an export ------------------------------------------------------------------
@dataclass
class Injection:
    """Text that could act where it was written: which output, where in it, what."""

    output: str  # terminal, page, report, csv, parquet
    where: str
    what: str


def active_characters(text: str) -> list[str]:
    return [f"U+{ord(c):04X} {unicodedata.name(c, 'control')}" for c in ACTIVE_CHARACTER.findall(text)]


def scan_text(output: str, where: str, text: str, markup: bool = False) -> list[Injection]:
    found = [Injection(output, where, what) for what in sorted(set(active_characters(text)))]
    if markup:
        found += [Injection(output, where, f"unescaped {m!r}") for m in sorted(set(PAGE_MARKUP.findall(text)))]
    return found


def scan_csv(path: Path, layout: Layout) -> list[Injection]:
    """A CSV cell that holds an active character, or that a spreadsheet would run as a formula."""
    found = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for r, row in enumerate(csv.reader(fh)):
            for c, cell in enumerate(row):
                where = f"{path.relative_to(layout.home)} row {r + 1} column {c + 1}"
                found += scan_text("csv", where, cell)
                if cell.startswith(FORMULA_START):
                    found.append(Injection("csv", where, f"formula {cell[:40]!r}"))
    return found


def scan_parquet(con, folder: Path, layout: Layout) -> list[Injection]:
    found = []
    for path in sorted(folder.glob("*.parquet")):
        columns = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
        for column in [c[0] for c in columns if c[1] == "VARCHAR"]:
            for (value,) in con.execute(f'SELECT DISTINCT "{column}" FROM read_parquet(\'{path}\') '
                                        f'WHERE "{column}" IS NOT NULL').fetchall():
                found += scan_text("parquet", f"{path.relative_to(layout.home)} {column}", value)
    return found


def scan_reports(layout: Layout) -> list[Injection]:
    return [i for path in sorted(layout.rejected.glob("*.txt"))
            for i in scan_text("report", str(path.relative_to(layout.home)), path.read_text(encoding="utf-8"))]


def printed(layout: Layout, ref: Reference, outcomes: list[Outcome], days: list[dt.date]) -> str:
    """What `warmline ingest` prints for these outcomes and `warmline status --date D` for each day, rendered
    by the command line's own functions into text (no colour: any escape in it came from a file)."""
    from flows import cli
    from flows.ingest_submission import outcome_summary
    from transforms.day.status import day_status
    from transforms.day.status_report import StatusReport

    buffer = io.StringIO()
    console = cli.PlainConsole(file=buffer, width=200, highlight=False, markup=False, color_system=None)
    saved, saved_home = cli.out, os.environ.get("WARMLINE_HOME")
    cli.out, os.environ["WARMLINE_HOME"] = console, str(layout.home)
    try:
        cli._print_outcomes([outcome_summary(o) for o in outcomes])
        con = warehouse.connect(layout.warehouse, read_only=True)
        try:
            for day in days:
                cli._print_status(StatusReport(day_status(con, ref, day), None, None, 0))
        finally:
            con.close()
    finally:
        cli.out = saved
        if saved_home is None:
            os.environ.pop("WARMLINE_HOME", None)
        else:
            os.environ["WARMLINE_HOME"] = saved_home
    return buffer.getvalue()


def swallowed_markup(text: str, rejected_names: list[str]) -> list[Injection]:
    """A rejected file's name is printed whole ('Rejected <name>: report in …'): a name with brackets missing from
    the output had them read as markup."""
    return [Injection("terminal", "Rejected … line", f"name not printed as sent: {printable(n)!r}")
            for n in rejected_names if "[" in n and f"Rejected {printable(n)}:" not in text]


def write_outputs(layout: Layout, ref: Reference, days: list[dt.date]) -> list[Path]:
    """What a day's work writes for people: status.html and the bulletin of each day, the Parquet marts, and the
    figures as `warmline sql` writes a CSV. Returns the pages and CSV files written."""
    from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
    from transforms.day.status import day_status
    from transforms.day.status_page import status_folder, write_status_page
    from transforms.warehouse.analysts_copy import publish
    from transforms.warehouse.query import write_query_result

    written = []
    con = warehouse.connect(layout.warehouse)
    try:
        for day in days:
            warehouse.record_rollup_day(con, day)
        publish(layout, con)
        wording = load_wording(layout.reference)
        for day in days:
            status = day_status(con, ref, day)
            if status.units:
                written.append(write_status_page(status, status_folder(layout.bulletins, day), None,
                                                 dt.datetime.now(ref.campaign.timezone), 0))
            written += [p for p in write_bulletin(con, day, bulletin_folder(layout.bulletins, day), wording)
                        if p.suffix in (".csv", ".html")]
        figures_csv = layout.bulletins / "figures_export.csv"
        write_query_result(con, "SELECT file_name, unit_code, row_label, indicator, value, raw_text FROM raw.figures "
                          "JOIN raw.submissions USING (submission_id) ORDER BY file_name, cell", figures_csv)
        written.append(figures_csv)
    finally:
        con.close()
    return written


def scan_outputs(layout: Layout, ref: Reference, outcomes: list[Outcome], rejected_names: list[str],
                 days: list[dt.date], scratch: Path) -> list[Injection]:
    """Everything the run printed or wrote, scanned: reports, terminal text, pages, CSV and Parquet exports."""
    found = scan_reports(layout)
    for path in write_outputs(layout, ref, days):
        if path.suffix == ".csv":
            found += scan_csv(path, layout)
        else:
            found += scan_text("page", str(path.relative_to(layout.home)), path.read_text(encoding="utf-8"),
                               markup=True)
    text = printed(layout, ref, outcomes, days)
    (scratch / "printed.txt").write_text(text, encoding="utf-8")
    found += scan_text("terminal", "warmline ingest / status output", text) + swallowed_markup(text, rejected_names)
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        found += scan_parquet(con, layout.parquet, layout)
    finally:
        con.close()
    return found


# -- a whole run -----------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """One run of hostile files: each file's verdict, the audit, what reached an output, and the ingest's time."""

    results: list[FileResult]
    audit_findings: list[str]
    injections: list[Injection]
    ingest_seconds: float
    home: Path
    escaped: list[str] = field(default_factory=list)  # files written outside the home (path traversal)

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.results)

    def unexpected(self) -> list[FileResult]:
        return [r for r in self.results if r.verdict != AS_EXPECTED]


def status_days(entries: list[dict], families: tuple[str, ...]) -> list[dt.date]:
    """The days whose status, page and bulletin show the hostile text: those of the loads of these families."""
    return sorted({dt.date.fromisoformat(e["expected"]["as_of_date"]) for e in entries
                   if e["family"] in families and "expected" in e})


def run(entries: list[dict], corpus: Path, layout: Layout, ingestor: Ingestor, scratch: Path, batch: int = 200,
        clock=None) -> Run:
    """Land, ingest, judge and scan; `clock` (time.perf_counter by default) times the ingest alone."""
    import time

    clock = clock or time.perf_counter
    paths = land(entries, corpus, layout)
    started = clock()
    outcomes, failures = ingest(ingestor, paths, batch)
    seconds = clock() - started
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        recorded = read_recorded(con)
        findings = [f.line() for f in audit(con, layout).findings]
    finally:
        con.close()
    results = [judge(e, p, (corpus / e["file"]).read_bytes(), outcomes.get(p), failures.get(p), recorded, layout)
               for e, p in zip(entries, paths)]
    rejected = [readable_name(p.name) for p in paths if p in outcomes and outcomes[p].status == "rejected"]
    days = status_days(entries, ("hostile-content", "hostile-names", "csv", "xml"))
    injections = scan_outputs(layout, ingestor.ref, list(outcomes.values()), rejected, days, scratch)
    escaped = [str(p) for p in layout.home.parent.rglob("*warmline-traversal-*")]
    return Run(results, findings, injections, seconds, layout.home, escaped)


def family_table(results: list[FileResult]) -> list[tuple]:
    """Per family: files, rejected as expected, loaded as expected, misread (of which with figures other than the
    original's), lost, other unexpected."""
    rows = []
    for family in dict.fromkeys(r.family for r in results):
        mine = [r for r in results if r.family == family]
        ok = [r for r in mine if r.verdict == AS_EXPECTED]
        rows.append((family, len(mine), sum(r.got == "rejected" for r in ok), sum(r.got != "rejected" for r in ok),
                     sum(r.verdict == MISREAD for r in mine),
                     sum(r.verdict == MISREAD and OTHER in r.got for r in mine), sum(r.verdict == LOST for r in mine),
                     sum(r.verdict not in (AS_EXPECTED, MISREAD, LOST) for r in mine)))
    return rows


def spread_sample(entries: list[dict], size: int) -> list[dict]:
    """About `size` entries, an equal share of every family (a family's kinds of damage follow one another in the
    manifest, so evenly spaced picks span them), in manifest order: the same entries every time."""
    families = defaultdict(list)
    for entry in entries:
        families[entry["family"]].append(entry)
    share = max(2, size // len(families))
    chosen = set()
    for members in families.values():
        step = len(members) / min(share, len(members))
        chosen.update(id(members[int(k * step)]) for k in range(min(share, len(members))))
    return [e for e in entries if id(e) in chosen]
