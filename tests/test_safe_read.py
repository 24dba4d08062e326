"""Reading in a limited worker (transforms/safe_read.py): a file that kills the reader kills only the worker."""

from __future__ import annotations

import pytest

from tests.fuzz.make_fuzz import _xls_far_corner, inline, sheet_xml, small_xls, xlsb_far_corner, xlsx
from transforms import safe_read
from transforms.demo import write_demo
from transforms.safe_read import ReadLimits, SafeReader
from transforms.submission import SubmissionParser
from transforms.template import FilledRow, write_submission
from transforms.workbook import read_sheets

FAR_CORNER = xlsx(sheet_xml(f'<row r="1">{inline("A1", "x")}</row><row r="1048576"><c r="XFD1048576"><v>1</v>'
                            "</c></row>"))


def test_a_file_that_aborts_the_reader_is_refused_and_the_next_file_is_read(ref, tmp_path):
    demo = write_demo(tmp_path, ref)[0]
    with SafeReader(ref) as reader:
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
    assert after.problem is None and after.parsed == SubmissionParser(ref).parse(
        read_sheets(demo.read_bytes(), demo.name), demo.name)
    assert binary.problem.rule == "read-out-of-memory" and again.parsed == after.parsed


def test_the_worker_parses_exactly_as_this_process_would(ref, reader, tmp_path):
    for path in write_demo(tmp_path, ref):
        content = path.read_bytes()
        result = reader.read(content, path.name)
        assert result.parsed == SubmissionParser(ref).parse(read_sheets(content, path.name), path.name)
        assert result.peak_bytes < 200 * 2**20 and result.seconds < 5


def test_a_file_that_takes_too_long_is_refused_and_its_worker_killed(ref, tmp_path):
    rows = [FilledRow(f"第{i}村", {"走访慰问户数（户）": i, "发放资金（元）": "约1万"}) for i in range(9_000)]
    slow = write_submission(tmp_path / "浈江区.xlsx", ref, "浈江区", None, rows).read_bytes()
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
        assert big.problem.rule == "sheet-too-large" and big.peak_bytes > safe_read.RECYCLE_ABOVE
        assert reader.read(b"a,b\n", "x.csv").peak_bytes < safe_read.RECYCLE_ABOVE
        assert reader.workers_started == 2


def test_a_worker_that_cannot_start_fails_the_run_instead_of_refusing_files(ref, monkeypatch):
    monkeypatch.setattr(safe_read.sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="the reader process did not start"):
        SafeReader(ref).read(b"a,b\n", "x.csv")


def test_an_unreadable_file_is_refused_with_the_readers_reason(reader):
    result = reader.read(b"\xff" * 10, "x.csv")
    assert (result.parsed, result.problem.rule) == (None, "unreadable-file")


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
