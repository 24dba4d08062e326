"""Reading in a limited worker (transforms/read/guarded_reader.py): a file that kills the reader kills only the worker."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.fuzz.make_fuzz import (CT, SHARED_STRINGS, _xls_far_corner, deflated_spaces, inline, raw_zip, sheet_xml,
                                  small_xls, xlsb_far_corner, xlsx, zip_bytes)
from transforms.read import guarded_reader
from transforms.read.guarded_reader import ReadLimits, SafeReader
from transforms.read.parser import SubmissionParser
from transforms.read.precheck import precheck
from transforms.read.template import FilledRow, write_submission
from transforms.read.workbook import read_sheets
from transforms.read.worked_example import write_demo

FAR_CORNER = xlsx(sheet_xml(f'<row r="1">{inline("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v>'
                            "</c></row>"))
# a sound package, so the precheck lets the reader try it; but no workbook in it
NO_WORKBOOK_INSIDE = zip_bytes({"[Content_Types].xml": CT, "notes.xml": "<a/>"})
SPACES, SPACES_CRC = deflated_spaces(20 * 2**20)


def parsed_here(ref, content: bytes, name: str):
    """What reading and parsing in this process gives: what a worker must give back."""
    return SubmissionParser(ref).parse(read_sheets(content, name), name)


def demo_files(ref, folder) -> list[tuple[bytes, str]]:
    return [(p.read_bytes(), p.name) for p in write_demo(folder, ref)]


@pytest.fixture(scope="module")
def slow(ref, tmp_path_factory) -> bytes:
    """A 9,000-row workbook: about 0.6 s to check and read, far over the time limits of these tests."""
    rows = [FilledRow(f"第{i}村", {"走访慰问户数（户）": i, "发放资金（元）": "约1万"}) for i in range(9_000)]
    return write_submission(tmp_path_factory.mktemp("slow") / "浈江区.xlsx", ref, "浈江区", None, rows).read_bytes()


def test_a_file_that_aborts_the_reader_is_refused_and_the_next_file_is_read(ref, tmp_path):
    demo = write_demo(tmp_path, ref)[0]
    with SafeReader(ref, precheck=False) as reader:
        crashed = reader.read(FAR_CORNER, "浈江区.xlsx")  # the precheck would refuse it; here it reaches calamine
        after = reader.read(demo.read_bytes(), demo.name)
        binary = reader.read(xlsb_far_corner(), "浈江区.xlsb")
        again = reader.read(demo.read_bytes(), demo.name)
        assert reader.workers_started == 3  # one per crash, each started when the next file came
    assert (crashed.parsed, crashed.problem.rule) == (None, "read-out-of-memory")
    assert crashed.problem.message_en == (
        "the file could not be read safely: the reader ran out of memory (limit 2 GiB) (memory allocation of "
        "549755813888 bytes failed) — it may be damaged or declare a huge area; open it in Excel, delete unused rows "
        "and columns, save it as a new file and send that")
    assert crashed.problem.message_zh.startswith("文件无法安全读取：读取时所需内存超过上限（2 GB）")
    assert crashed.problems == [crashed.problem]
    assert after.problem is None and after.problems == [] and after.parsed == parsed_here(
        ref, demo.read_bytes(), demo.name)
    assert binary.problem.rule == "read-out-of-memory" and again.parsed == after.parsed


def test_the_worker_parses_exactly_as_this_process_would(ref, reader, tmp_path):
    for path in write_demo(tmp_path, ref):
        content = path.read_bytes()
        result = reader.read(content, path.name)
        assert result.parsed == SubmissionParser(ref).parse(read_sheets(content, path.name), path.name)
        assert result.peak_bytes < 200 * 2**20 and result.seconds < 5


def test_a_file_that_takes_too_long_is_refused_and_its_worker_killed(ref, slow):
    with SafeReader(ref, ReadLimits(seconds=0.05)) as reader:
        result = reader.read(slow, "浈江区.xlsx")
        assert (result.parsed, result.problem.rule) == (None, "read-timeout")
        assert "the reader ran out of time (limit 0.05 s)" in result.problem.message_en
        assert reader.read(b"a,b\n", "x.csv").parsed is not None  # a fresh worker
        assert reader.workers_started == 2


@pytest.mark.skipif(_xls_far_corner() is None, reason="xlwt is not installed")
def test_a_file_that_needs_more_memory_than_allowed_is_refused(ref):
    with SafeReader(ref, ReadLimits(memory_bytes=400 * 2**20)) as reader:
        result = reader.read(_xls_far_corner(), "浈江区.xls")  # a 16.7M-cell grid: about 1 GB
        assert (result.parsed, result.problem.rule) == (None, "read-out-of-memory")
        assert "limit 0.390625 GiB" in result.problem.message_en


@pytest.mark.skipif(_xls_far_corner() is None, reason="xlwt is not installed")
def test_a_worker_that_grew_large_is_replaced(ref):
    with SafeReader(ref) as reader:
        big = reader.read(_xls_far_corner(), "浈江区.xls")
        assert big.problem.rule == "sheet-too-large" and big.peak_bytes > guarded_reader.RECYCLE_ABOVE
        assert reader.read(b"a,b\n", "x.csv").peak_bytes < guarded_reader.RECYCLE_ABOVE
        assert reader.workers_started == 2


def test_a_worker_that_cannot_start_fails_the_run_instead_of_refusing_files(ref, monkeypatch):
    monkeypatch.setattr(guarded_reader.sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="the reader process did not start"):
        SafeReader(ref).read(b"a,b\n", "x.csv")


def test_an_unreadable_file_is_refused_with_the_readers_reason(reader):
    result = reader.read(NO_WORKBOOK_INSIDE, "浈江区.xlsx")
    assert (result.parsed, result.problem.rule) == (None, "unreadable-file")
    assert "Cannot detect file format" in result.problem.message_en and result.problems == [result.problem]


@pytest.mark.skipif(small_xls() is None, reason="xlwt is not installed")
def test_a_damaged_xls_that_makes_the_reader_panic_is_refused_and_the_worker_lives_on(ref):
    with SafeReader(ref) as reader:
        assert reader.read(small_xls(), "浈江区.xls").problem is None
        result = reader.read(small_xls({1426: 145}), "浈江区.xls")  # one byte changed: calamine panics
        assert (result.parsed, result.problem.rule) == (None, "unreadable-file")
        assert "PanicException: range start index" in result.problem.message_en
        aborted = reader.read(small_xls({1671: 242}), "浈江区.xls")  # another: calamine aborts the process
        assert aborted.problem.rule in ("read-out-of-memory", "unreadable-file")
        assert reader.workers_started == 1


def test_the_worker_refuses_what_the_precheck_refuses_with_the_same_problems(reader):
    hostile = [(FAR_CORNER, "浈江区.xlsx"),
               (raw_zip([("xl/worksheets/sheet1.xml", SPACES, 20 * 2**20, SPACES_CRC, 8)]), "浈江区.xlsx"),  # a zip bomb
               (xlsx(sheet_xml(f'<row r="1">{inline("A1", "x")}</row>'),
                     shared=SHARED_STRINGS.replace('count="1"', 'count="4000000000"')), "浈江区.xlsx"),
               (b"", "浈江区.xlsx"), (b"\xff" * 10, "浈江区.csv")]
    results = reader.read_many(hostile)
    assert [[p.rule for p in r.problems] for r in results] == [
        ["sheet-too-large"], ["unsafe-file"], ["unsafe-file"], ["empty-file"], ["csv-encoding"]]
    for (content, name), result in zip(hostile, results):
        assert result.problems == precheck(content, name)
        assert (result.parsed, result.problem) == (None, result.problems[0])
    assert reader.read(*hostile[0]).problems == precheck(*hostile[0])  # one file alone, the same


def test_files_read_side_by_side_come_back_in_order_as_if_read_one_by_one(ref, tmp_path):
    demo = demo_files(ref, tmp_path)
    items = [demo[0], (FAR_CORNER, "浈江区.xlsx"), demo[1], (xlsb_far_corner(), "浈江区.xlsb"), demo[2],
             (NO_WORKBOOK_INSIDE, "浈江区.xlsx"), *demo[3:]]
    with SafeReader(ref, workers=2) as reader:
        alone = [reader.read(*item) for item in items]
        together = reader.read_many(items)
    rules = [[p.rule for p in r.problems] for r in together]
    assert rules == [[p.rule for p in r.problems] for r in alone] == [
        [], ["sheet-too-large"], [], ["read-out-of-memory"], [], ["unreadable-file"], [], [], []]
    assert [r.parsed for r in together] == [r.parsed for r in alone]
    good = [n for n, item in enumerate(items) if item in demo]
    assert [together[n].parsed for n in good] == [parsed_here(ref, *items[n]) for n in good]  # after the crash too


def test_a_file_that_takes_too_long_costs_only_its_own_worker(ref, tmp_path, slow):
    demo = demo_files(ref, tmp_path)
    with SafeReader(ref, ReadLimits(seconds=0.25), workers=2) as reader:
        first = reader.read_many([(slow, "浈江区.xlsx"), *demo])
        second = reader.read_many(demo[:2])
        # Two for the first batch, and one in place of the killed worker: while the slow file ran, or for the
        # second batch when the other worker had read everything else by then.
        assert reader.workers_started == 3
    assert (first[0].parsed, first[0].problem.rule) == (None, "read-timeout")
    assert "the reader ran out of time (limit 0.25 s)" in first[0].problem.message_en
    assert [r.parsed for r in first[1:] + second] == [parsed_here(ref, *f) for f in demo + demo[:2]]


def test_a_batch_is_shared_between_two_workers(ref, tmp_path):
    files = []
    for n in range(40):
        rows = [FilledRow(f"第{i}村", {"走访慰问户数（户）": n * 10 + i, "发放资金（元）": 100 * n + i}) for i in range(1, 6)]
        path = write_submission(tmp_path / f"浈江区_{n}.xlsx", ref, "浈江区", dt.date(2023, 12, 20), rows)
        files.append((path.read_bytes(), path.name))
    with SafeReader(ref, workers=2) as reader:
        results = reader.read_many(files)
        assert reader.workers_started == 2  # each given a file at once, and neither replaced
    assert [r.problems for r in results] == [[]] * 40
    assert [r.parsed for r in results] == [parsed_here(ref, *f) for f in files]


def test_a_worker_leaves_no_file_behind_even_while_it_runs(ref, tmp_path, monkeypatch):
    # what a worker says on stderr goes to a file with no name: a run killed with its workers leaves nothing in
    # the system's temporary folder (they used to pile up there as empty warmline-read-*.log files)
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    demo = write_demo(tmp_path / "demo", ref)[0]
    with SafeReader(ref, precheck=False) as reader:
        assert reader.read(demo.read_bytes(), demo.name).problem is None
        assert list(scratch.iterdir()) == []  # the worker is alive and its stderr file has no name
        crashed = reader.read(FAR_CORNER, "浈江区.xlsx")
    assert crashed.problem.message_en.endswith("send that") and "(memory allocation of" in crashed.problem.message_en
    assert list(scratch.iterdir()) == []
