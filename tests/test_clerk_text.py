"""What a county clerk reads is in the clerk's words: the Chinese of every issue and of every rejection report names
indicators by their Chinese names, prints figures as people write them (350, 1,234, 418.5; never 350.0), and holds
no server path, content hash, program or reference file name, or internal code. The English may keep codes and
paths for the statistician.

The files come from the messy-workbook corpus (tests/fixtures/make_fixtures.py), the broken and hostile files of the
fuzz corpus (tests/fuzz/make_fuzz.py) and a few workbooks written here, all ingested through the real reader."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import runpy
from pathlib import Path

import pytest
import xlsxwriter

from expectations import SUITES_DIR
from tests.conftest import REPO, ingest_inbox, make_home
from transforms.core.problems import problem
from transforms.ingest.ingestor import Ingestor
from transforms.read.guarded_reader import crashed
from transforms.read.precheck import damaged
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE

MAKE_FIXTURES = REPO / "tests" / "fixtures" / "make_fixtures.py"
MAKE_FUZZ = REPO / "tests" / "fuzz" / "make_fuzz.py"

CHINESE = re.compile(r"[\u4e00-\u9fff]")
QUOTED = re.compile(r"“[^”]*”")  # the clerk's own text, quoted back: a header, a cell, a name as written
FAULTS = {
    "an internal code": re.compile(r"[a-z]+_[a-z_]+"),
    "a whole number as a float, or trailing zeros": re.compile(r"\d\.\d*0\b"),
    "a number in exponent form": re.compile(r"\de[+-]\d"),
    "a server path": re.compile(r"data/"),
    "a program or reference file": re.compile(r"\w\.(?:py|csv|toml)\b"),
    "a content hash": re.compile(r"\b[0-9a-f]{32,}\b"),
}


def faults(text: str, own_words: tuple[str, ...] = ()) -> list[str]:
    """What in `text` a clerk should not have to read; the clerk's own words (the file's name, sheet names, quoted
    cells) are left out first, whatever they hold."""
    text = QUOTED.sub("“”", text)
    for word in sorted((w for w in own_words if w), key=len, reverse=True):
        text = text.replace(word, "")
    return [f"{what}: {m.group(0)!r}" for what, pattern in FAULTS.items() for m in pattern.finditer(text)]


def own_words(outcome) -> tuple[str, ...]:
    name = outcome.receipt.file_name
    return (name, Path(name).stem, *(i.sheet for i in outcome.issues if i.sheet))


# -- files written here --------------------------------------------------------------------------------------------
TOTALS_FILE = "翁源县_合计不符.xlsx"
WARNINGS_FILE = "南雄市_另有提示.xlsx"


def write_totals_that_disagree(target: Path, ref) -> None:
    """Total rows that disagree with their rows: a count (350 vs 340), money with decimals (420 vs 418.5) and an
    item type (棉被 80 vs 75), all written as number cells, which the reader gives back as floats (350.0)."""
    write_submission(target, ref, "翁源县", DEMO_DATE, [
        FilledRow("龙仙镇", {"走访慰问户数（户）": 200, "发放资金（元）": 100.25, "棉被（床）": 30}),
        FilledRow("坝仔镇", {"走访慰问户数（户）": 140, "发放资金（元）": 318.25, "棉被（床）": 45}),
    ], total=FilledRow("合计", {"走访慰问户数（户）": 350, "发放资金（元）": 420, "棉被（床）": 80}))


def write_error_with_warnings(target: Path) -> None:
    """A negative figure (a rejection) beside headers that are not loaded and figures under no header (warnings)."""
    workbook = xlsxwriter.Workbook(str(target))
    sheet = workbook.add_worksheet("统计表")
    rows = [["填报单位：南雄市"], ["统计截止日期：2023-12-21"],
            ["镇（街道）", "走访慰问户数（户）", "志愿者人数（人）", "暖手宝发放（个）", None],
            ["雄州街道", -5, 3, 12, 7], ["全安镇", 40, 2, 8, 9]]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    workbook.close()


def _generated(script: Path, out: Path, manifest: str) -> list[dict]:
    with contextlib.redirect_stdout(io.StringIO()):
        runpy.run_path(str(script))["main"]([str(out)])
    return json.loads((out / manifest).read_text(encoding="utf-8"))


def _ingested(root: Path, files: dict[str, bytes], ref, validator, reader) -> tuple[list, object]:
    layout = make_home(root)
    for name, content in files.items():
        (layout.inbox / name).write_bytes(content)
    return ingest_inbox(Ingestor(layout, ref, validator, reader, quiet_seconds=0)), layout


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, ref, validator, reader) -> list[tuple[object, Path]]:
    """(outcome, home) of every file: one home per source, as each source's files were made to share one."""
    made = tmp_path_factory.mktemp("made")
    corpus = made / "corpus"
    corpus_files = {e["file"]: (corpus / e["file"]).read_bytes()
                    for e in _generated(MAKE_FIXTURES, corpus, "expected.json")}
    fuzz = made / "fuzz"
    fuzz_files = {}
    for e in _generated(MAKE_FUZZ, fuzz, "manifest.json"):
        # the inbox name as the fuzz corpus lands it (GBK bytes, control characters), as tests/test_fuzz.py does
        name = os.fsdecode(bytes.fromhex(e["inbox_name_hex"])) if e.get("inbox_name_hex") else \
            e.get("inbox_name") or e["file"]
        fuzz_files[name] = (fuzz / e["file"]).read_bytes()
    write_totals_that_disagree(made / TOTALS_FILE, ref)
    write_error_with_warnings(made / WARNINGS_FILE)
    written = {name: (made / name).read_bytes() for name in (TOTALS_FILE, WARNINGS_FILE)}
    out = []
    for source, files in (("corpus", corpus_files), ("fuzz", fuzz_files), ("written", written)):
        outcomes, layout = _ingested(tmp_path_factory.mktemp(source), files, ref, validator, reader)
        out += [(o, layout.home) for o in outcomes]
    return out


def _by_name(ingested, name):
    return next(o for o, _ in ingested if o.receipt.file_name == name)


# -- the tests -----------------------------------------------------------------------------------------------------
def test_the_files_cover_the_kinds_of_rejection_and_warning(ingested):
    rules = {i.rule for o, _ in ingested for i in o.issues}
    assert {"total-mismatch", "conflicting-unit", "conflicting-date", "negative-figure", "unit-in-cell",
            "no-indicator", "empty-file", "unreadable-file", "unsafe-file", "not-a-workbook", "csv-encoding",
            "encrypted-file", "read-out-of-memory", "sheet-too-large", "too-many-rows", "file-too-large",
            "excluded-header", "no-header-figures"} <= rules, sorted(rules)
    assert sum(o.status == "rejected" for o, _ in ingested) >= 40


def test_every_chinese_message_is_in_the_clerks_words(ingested):
    found = [(o.receipt.file_name, i.rule, i.message_zh, fault) for o, _ in ingested for i in o.issues
             for fault in faults(i.message_zh, own_words(o))]
    assert found == []


def test_every_chinese_line_of_a_rejection_report_is_in_the_clerks_words(ingested):
    found = []
    for outcome, home in ingested:
        if outcome.status != "rejected":
            continue
        rules = {i.rule for i in outcome.issues}
        english = {f"{i.message_en} [{i.rule}]" for i in outcome.issues}  # may quote the clerk's Chinese
        for line in (home / outcome.report_path).read_text(encoding="utf-8").splitlines():
            if not CHINESE.search(line) or line.strip() in english:
                continue
            mine = faults(line, own_words(outcome))
            bare = QUOTED.sub("“”", line.replace(outcome.receipt.file_name, ""))
            mine += [f"a check name: {rule}" for rule in rules if rule in bare]
            if outcome.unit_code and outcome.unit_code in bare:
                mine.append(f"a unit code: {outcome.unit_code}")
            found += [(outcome.receipt.file_name, line, fault) for fault in mine]
    assert found == []


def test_a_total_that_disagrees_names_the_indicator_in_chinese_with_plain_figures(ingested):
    outcome = _by_name(ingested, TOTALS_FILE)
    assert outcome.status == "rejected"
    messages = {i.message_zh for i in outcome.issues if i.rule == "total-mismatch"}
    assert messages == {
        "走访慰问户数 合计行为 350，各行之和为 340，两者不一致，请核对合计行或各行数据",
        "发放资金 合计行为 420，各行之和为 418.5，两者不一致，请核对合计行或各行数据",
        "棉被 合计行为 80，各行之和为 75，两者不一致，请核对合计行或各行数据",
        "发放物资合计 合计行为 80，各行之和为 75，两者不一致，请核对合计行或各行数据",
    }
    english = " ".join(i.message_en for i in outcome.issues)
    assert "households_visited: the total row says 350 but the rows above add up to 340" in english
    assert "items_issued (棉被)" in english


def test_the_report_names_the_file_as_sent_and_keeps_the_archive_for_the_english(ingested):
    outcome, home = next((o, h) for o, h in ingested if o.receipt.file_name == WARNINGS_FILE)
    assert outcome.status == "rejected"
    lines = (home / outcome.report_path).read_text(encoding="utf-8").splitlines()
    assert f"原文件“{WARNINGS_FILE}”已存档。" in lines
    assert f"The original is archived as {outcome.receipt.archive_path} (unit 440282)." in lines
    assert "填报单位 Unit:          南雄市" in lines
    # warnings are set out as errors are: the place, then the Chinese, then the English with the check's name
    warnings = [i for i in outcome.issues if i.severity == "warning"]
    assert warnings
    for w in warnings:
        zh = lines.index(f"  {w.message_zh}")
        assert lines[zh + 1] == f"  {w.message_en} [{w.rule}]"


def test_what_the_reader_said_stays_in_the_english():
    said = "zip: BadZipFile: bad_magic in data/raw/archive/" + "ab" * 32 + ".xlsx"
    for issue in (damaged(said), crashed(f"SIGSEGV: {said}")):
        assert faults(issue.message_zh) == [] and said in issue.message_en


def test_the_rules_between_figures_print_large_figures_whole():
    suite = json.loads((SUITES_DIR / "cross_field.json").read_text(encoding="utf-8"))
    row = {"persons_visited": 1234567.0, "households_visited": 2345678.0, "patrol_staff": 3.0, "patrols_run": 1250000.0,
           "street_rescues": 5.0, "shelter_admissions": 12.5}
    for rule in suite["expectations"]:
        text = problem(rule["meta"]["rule"], **row).message_zh
        assert faults(text) == [], text
    assert problem(suite["expectations"][0]["meta"]["rule"], **row).message_zh == \
        "走访慰问人数（1,234,567）少于户数（2,345,678），请核对两列是否填反"
