import datetime as dt
import hashlib
import os
import re
import shutil
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ingest_inbox
from transforms import warehouse
from transforms.ingest.ingestor import Ingestor
from transforms.read.template import FilledRow, write_submission
from transforms.read.worked_example import DEMO_DATE, demo_file_name, write_demo


def query(layout, sql, params=None):
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def land(layout, path, when: dt.datetime):
    """Put a file in the inbox as if it landed at `when` (received_at is the file's mtime there)."""
    target = layout.inbox / path.name
    if path != target:
        shutil.copyfile(path, target)
    when = when.replace(tzinfo=SHANGHAI)
    os.utime(target, (when.timestamp(), when.timestamp()))
    return target


def test_demo_headline_matches_the_worked_example(demo_home):
    row = query(demo_home, "SELECT * FROM marts.headline WHERE as_of_date = ?", [DEMO_DATE])
    assert row == [(DEMO_DATE, 24684.0, "exact", 4185000.0, "approx", 5584.0, "at_least", 371.0, "at_least", 6, 0, 6)]


def test_demo_city_totals_count_units_and_unspecified_parts(demo_home):
    rows = query(demo_home, "SELECT indicator, value, qualifier, units_reporting, units_carried, units_missing, "
                            "parts_unspecified FROM marts.city_totals WHERE as_of_date = ? AND indicator IN "
                            "('items_issued', 'beneficiaries', 'patrol_staff') ORDER BY indicator", [DEMO_DATE])
    assert rows == [("beneficiaries", 11233.0, "at_least", 6, 0, 6, 0),
                    ("items_issued", 5584.0, "at_least", 6, 0, 6, 1),
                    ("patrol_staff", 1486.0, "exact", 6, 0, 6, 0)]


def test_every_file_is_archived_by_hash_and_leaves_the_inbox(demo_home):
    archived = sorted(p.name for p in demo_home.archive.iterdir())
    rows = query(demo_home, "SELECT sha256, status, archive_path FROM raw.submissions ORDER BY sha256")
    assert [f"{sha}.xlsx" for sha, _, _ in rows] == archived
    assert {status for _, status, _ in rows} == {"loaded"}
    assert list(demo_home.inbox.iterdir()) == []


def test_facts_keep_their_provenance(demo_home):
    rows = query(demo_home, "SELECT f.source_cells, f.raw_text, s.file_name FROM raw.facts f "
                            "JOIN raw.submissions s USING (submission_id) "
                            "WHERE f.unit_code = '440222' AND f.indicator = 'funds_disbursed'")
    assert rows == [("统计表!F5", "约370.5万", demo_file_name("始兴县"))]


def test_same_bytes_twice_is_a_duplicate_and_changes_nothing(demo_home, ingestor, tmp_path, ref):
    before = query(demo_home, "SELECT * FROM marts.city_totals")
    again = tmp_path / "again"
    again.mkdir()
    original = write_demo(again, ref)[2]
    land(demo_home, original, dt.datetime(2023, 12, 20, 18, 0))
    (outcome,) = ingest_inbox(ingestor)
    assert outcome.status == "duplicate"
    assert outcome.reason.startswith(f"same content as {original.name} (")
    assert query(demo_home, "SELECT * FROM marts.city_totals") == before
    assert query(demo_home, "SELECT count(*), count(DISTINCT sha256) FROM raw.submissions") == [(7, 6)]


def test_the_same_inbox_file_found_again_is_one_receipt(home, ingestor, ref, tmp_path):
    path = land(home, write_demo(tmp_path, ref)[0], dt.datetime(2023, 12, 20, 9, 0))
    content, stat = path.read_bytes(), path.stat()
    ingest_inbox(ingestor)
    path.write_bytes(content)  # as if a crash had left it in the inbox after its state was recorded
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (outcome,) = ingest_inbox(ingestor)
    assert outcome.status == "loaded"
    assert query(home, "SELECT count(*) FROM raw.submissions") == [(1,)]
    assert query(home, "SELECT count(*) FROM raw.facts") == [(9,)]


def test_later_file_for_same_unit_and_date_supersedes_and_both_are_kept(home, ingestor, ref, tmp_path):
    first = write_submission(tmp_path / "翁源县_v1.xlsx", ref, "翁源县民政局", DEMO_DATE,
                             [FilledRow("全县", {"走访慰问户数（户）": 6000})])
    second = write_submission(tmp_path / "翁源县_v2.xlsx", ref, "翁源县民政局", DEMO_DATE,
                              [FilledRow("全县", {"走访慰问户数（户）": 6802})])
    land(home, first, dt.datetime(2023, 12, 20, 9, 0))
    land(home, second, dt.datetime(2023, 12, 20, 15, 0))
    ingest_inbox(ingestor, DEMO_DATE)
    rows = query(home, "SELECT file_name, status, reason FROM raw.submissions ORDER BY received_at")
    assert [(f, s) for f, s, _ in rows] == [("翁源县_v1.xlsx", "superseded"), ("翁源县_v2.xlsx", "loaded")]
    assert rows[0][2].startswith("superseded by 翁源县_v2.xlsx")
    assert query(home, "SELECT households_visited FROM marts.headline WHERE as_of_date = ?", [DEMO_DATE]) == \
        [(6802.0,)]


def test_an_earlier_file_processed_late_does_not_win(home, ingestor, ref, tmp_path):
    later = write_submission(tmp_path / "翁源县_later.xlsx", ref, "翁源县", DEMO_DATE,
                             [FilledRow("全县", {"走访慰问户数（户）": 6802})])
    land(home, later, dt.datetime(2023, 12, 20, 15, 0))
    ingest_inbox(ingestor)
    earlier = write_submission(tmp_path / "翁源县_earlier.xlsx", ref, "翁源县", DEMO_DATE,
                               [FilledRow("全县", {"走访慰问户数（户）": 6000})])
    land(home, earlier, dt.datetime(2023, 12, 20, 9, 0))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert outcome.status == "superseded"
    assert query(home, "SELECT households_visited FROM marts.headline WHERE as_of_date = ?", [DEMO_DATE]) == \
        [(6802.0,)]


def test_rejected_file_gets_a_report_and_nothing_reaches_the_facts(home, ingestor, ref, tmp_path):
    bad = write_submission(tmp_path / "浈江区_bad.xlsx", ref, "浈江区民政局", DEMO_DATE, [
        FilledRow("犁市镇", {"走访慰问户数（户）": -5, "巡查次数（次）": "一百二十户"}),
        FilledRow("花坪镇", {"走访慰问户数（户）": 10}),
    ])
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert outcome.status == "rejected"
    assert [(i.rule, i.cell, i.raw_text) for i in outcome.issues if i.severity == "error"] == [
        ("unit-in-cell", "L5", "一百二十户"), ("negative-figure", "B5", "-5")]
    assert query(home, "SELECT count(*) FROM raw.facts") == [(0,)]
    assert query(home, "SELECT status, reason, report_path FROM raw.submissions") == [(
        "rejected",
        "统计表!L5 “一百二十户”: 数字后不应带单位“户”，请只填数字，单位写在表头 — the unit '户' belongs in the column "
        "header — write the number alone (+1 more)",
        f"data/raw/rejected/浈江区_bad.xlsx.{outcome.receipt.submission_id}.txt")]
    report = (home.home / outcome.report_path).read_text(encoding="utf-8")
    assert "文件 File:              浈江区_bad.xlsx" in report
    assert "收到时间 Received:      2023-12-20 16:05 (Asia/Shanghai)" in report
    assert "1. 统计表!L5 “一百二十户”\n" in report and "write the number alone [unit-in-cell]\n" in report
    assert "2. 统计表!B5 “-5”\n" in report and "[negative-figure]" in report
    assert "数值不能为负数" in report and "a figure cannot be negative" in report
    assert query(home, "SELECT households_visited, units_missing FROM marts.headline WHERE as_of_date = ?",
                 [DEMO_DATE]) == [(None, 12)]


def test_counts_are_whole_and_below_ten_million_money_and_goods_may_have_fractions(home, ingestor, ref, tmp_path):
    bad = write_submission(tmp_path / "浈江区_counts.xlsx", ref, "浈江区民政局", DEMO_DATE, [
        FilledRow("犁市镇", {"走访慰问户数（户）": 0.28, "出动人员（人次）": "1.23456万"}),
        FilledRow("花坪镇", {"走访慰问户数（户）": 197132294, "发放资金（元）": 1234.56, "食品（份）": 2.5}),
    ])
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert outcome.status == "rejected"
    assert sorted((i.rule, i.cell, i.raw_text) for i in outcome.issues if i.severity == "error") == [
        ("fractional-count", "B5", "0.28"), ("fractional-count", "M5", "1.23456万"),
        ("implausible-count", "B6", "197132294")]
    report = (home.home / outcome.report_path).read_text(encoding="utf-8")
    assert "户数、人数、次数和个数只能是整数，这里是0.28：请填写整数" in report
    assert "the count is over ten million" in report

    fine = write_submission(tmp_path / "浈江区_fractions.xlsx", ref, "浈江区民政局", DEMO_DATE, [
        FilledRow("犁市镇", {"走访慰问户数（户）": "1.2345万", "发放资金（元）": 1234.56, "食品（份）": 2.5})])
    land(home, fine, dt.datetime(2023, 12, 20, 16, 6))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert outcome.status == "loaded", outcome.reason
    assert {(f.indicator, Decimal(f.value)) for f in outcome.facts if f.item_type is None} >= {
        ("households_visited", Decimal(12345)), ("funds_disbursed", Decimal("1234.56"))}


def test_unreadable_file_is_rejected_and_archived(home, ingestor):
    broken = home.inbox / "浈江区_20231220.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")
    (outcome,) = ingest_inbox(ingestor)
    assert outcome.status == "rejected"
    assert outcome.issues[0].rule == "unreadable-file"
    assert "重新保存" in outcome.issues[0].message_zh
    assert (outcome.unit_code, outcome.as_of_date) == ("440204", dt.date(2023, 12, 20))  # from its name
    assert (home.home / outcome.receipt.archive_path).read_bytes() == b"PK\x03\x04 this is not really a workbook"


def test_file_without_sender_or_indicator_is_rejected_with_every_reason(home, ingestor):
    (home.inbox / "notes.csv").write_text("名称,备注\n甲,乙\n", encoding="utf-8")
    (outcome,) = ingest_inbox(ingestor)
    assert outcome.status == "rejected"
    assert sorted(i.rule for i in outcome.issues if i.severity == "error") == \
        ["missing-date", "missing-unit", "no-indicator"]


def test_date_outside_the_campaign_is_rejected(home, ingestor, ref, tmp_path):
    path = write_submission(tmp_path / "翁源县.xlsx", ref, "翁源县", dt.date(2022, 12, 20),
                            [FilledRow("全县", {"走访慰问户数（户）": 5})])
    land(home, path, dt.datetime(2023, 12, 20, 9))
    (outcome,) = ingest_inbox(ingestor)
    assert [(i.rule, i.cell) for i in outcome.issues] == [("date-outside-campaign", "B3")]
    assert "2022-12-20" in outcome.issues[0].message_zh and "2023-12-15" in outcome.issues[0].message_zh


def test_a_file_still_being_written_is_left_in_the_inbox_and_read_once_complete(home, ref, validator, reader,
                                                                                tmp_path):
    ingestor = Ingestor(home, ref, validator, reader)  # watches a file changed in the last second before reading it
    content = write_submission(tmp_path / "x.xlsx", ref, "翁源县", DEMO_DATE,
                               [FilledRow("全县", {"走访慰问户数（户）": 5})]).read_bytes()
    path = home.inbox / "翁源县.xlsx"
    with path.open("wb") as writer:  # a copy in progress: half written, the rest comes while warmline looks
        writer.write(content[:len(content) // 2])
        writer.flush()
        finisher = threading.Timer(0.3, lambda: (writer.write(content[len(content) // 2:]), writer.flush()))
        finisher.start()
        (first,) = ingest_inbox(ingestor)
        finisher.join()
    assert (first.status, first.reason) == ("skipped", "still being written (its size or time changed while it was "
                                                       "read); left in the inbox for the next run")
    assert query(home, "SELECT count(*) FROM raw.submissions") == [(0,)] and list(home.archive.iterdir()) == []
    (second,) = ingest_inbox(ingestor)
    assert second.status == "loaded" and list(home.inbox.iterdir()) == []


def test_a_file_taken_by_another_run_before_it_was_read_is_skipped(home, ingestor):
    con = warehouse.connect(home.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        outcome = ingestor.ingest(home.inbox / "已被取走.xlsx", con)
    finally:
        con.close()
    assert (outcome.status, outcome.reason, outcome.receipt.file_name) == (
        "skipped", "no longer in the inbox: another run took it first", "已被取走.xlsx")
    assert query(home, "SELECT count(*) FROM raw.submissions") == [(0,)]


def test_a_file_rewritten_while_it_was_ingested_stays_for_the_next_run(home, ingestor, ref, tmp_path, monkeypatch):
    first = land(home, write_submission(tmp_path / "翁源县.xlsx", ref, "翁源县", DEMO_DATE,
                                        [FilledRow("全县", {"走访慰问户数（户）": 6000})]), dt.datetime(2023, 12, 20, 9))
    newer = write_submission(tmp_path / "new" / "翁源县.xlsx", ref, "翁源县", DEMO_DATE,
                             [FilledRow("全县", {"走访慰问户数（户）": 6802})]).read_bytes()
    judge = ingestor.judge

    def rewritten_meanwhile(reads):
        first.write_bytes(newer)  # the sender copies a new version over it while the old one is being read
        return judge(reads)

    monkeypatch.setattr(ingestor, "judge", rewritten_meanwhile)
    (outcome,) = ingest_inbox(ingestor)
    monkeypatch.undo()
    assert outcome.status == "loaded" and first.read_bytes() == newer  # recorded, and the new version kept
    (again,) = ingest_inbox(ingestor, DEMO_DATE)
    assert again.status == "loaded" and again.receipt.sha256 != outcome.receipt.sha256
    assert query(home, "SELECT status FROM raw.submissions ORDER BY received_at") == [("superseded",), ("loaded",)]
    assert query(home, "SELECT households_visited FROM marts.headline WHERE as_of_date = ?", [DEMO_DATE]) == \
        [(6802.0,)]


def test_the_report_of_a_file_with_the_longest_possible_name_gets_a_shortened_name(home, ingestor):
    name = "浈" * 83 + ".xlsx"  # 254 bytes: ext4 allows 255, and the report adds '.<id>.txt'
    (home.inbox / name).write_bytes(b"PK\x03\x04 cut short")
    (outcome,) = ingest_inbox(ingestor)
    assert (outcome.status, outcome.receipt.file_name) == ("rejected", name)
    assert outcome.report_path == f"data/raw/rejected/{'浈' * 66}.{outcome.receipt.submission_id}.txt"
    assert f"文件 File:              {name}" in (home.home / outcome.report_path).read_text(encoding="utf-8")


def test_a_file_too_large_to_read_is_archived_whole_and_refused(home, ingestor, monkeypatch):
    monkeypatch.setattr("transforms.ingest.ingestor.MAX_FILE_BYTES", 4096)
    big = bytes(range(256)) * 64 + b"PK"  # 16 KB, read and archived in chunks, never whole
    (home.inbox / "浈江区.xlsx").write_bytes(big)
    (outcome,) = ingest_inbox(ingestor)
    assert (outcome.status, outcome.issues[0].rule) == ("rejected", "file-too-large")
    assert (home.home / outcome.receipt.archive_path).read_bytes() == big
    assert outcome.receipt.sha256 == hashlib.sha256(big).hexdigest()
    assert not [p for p in home.archive.iterdir() if p.name.startswith(".")]


def test_an_archived_copy_keeps_only_a_plain_extension(home, ingestor):
    (home.inbox / ("报表." + "x" * 200)).write_bytes(b"not a table")
    (home.inbox / "报表.XLSX\n").write_bytes(b"not a table either")
    outcomes = ingest_inbox(ingestor)
    assert sorted(Path(o.receipt.archive_path).name for o in outcomes) == sorted(
        o.receipt.sha256 for o in outcomes)


@pytest.mark.parametrize("syncfs", ["works", "fails"])
def test_a_batch_makes_its_archived_copies_durable_before_recording_them(home, ingestor, monkeypatch, syncfs):
    from tests.test_ingest_many import ingest_many
    from transforms.ingest import ingestor as ingest_module

    write_demo(home.inbox, ingestor.ref)
    synced, fsynced, recorded_after = [], [], []
    real_fsync, real_record_many = os.fsync, ingest_module.record_many
    monkeypatch.setattr(ingest_module, "_syncfs", lambda fd: synced.append(fd) or (0 if syncfs == "works" else -1))
    monkeypatch.setattr(os, "fsync", lambda fd: fsynced.append(fd) or real_fsync(fd))
    monkeypatch.setattr(ingest_module, "record_many",
                        lambda con, outcomes: recorded_after.append((len(synced), len(fsynced))) or
                        real_record_many(con, outcomes))
    outcomes = ingest_many(ingestor)
    archived = list(home.archive.iterdir())
    assert [o.status for o in outcomes] == ["loaded"] * 6 and len(archived) == 6
    # one syncfs for the batch; where it fails, an fsync of each copy and of the folder; all before recording
    assert len(synced) == 1
    assert len(fsynced) == (0 if syncfs == "works" else 7)
    assert recorded_after == [(1, len(fsynced))]


def _with_saved_value(path: Path, cell: str, error: str, formula: bool = True) -> None:
    """Turn `cell` of the workbook's sheet into a formula whose saved value is `error` (as Excel saves =1/0), or,
    without `formula`, into a number cell holding `error` as its value (as a script can write NaN)."""
    import re

    def change(sheet: str) -> str:
        sheet, found = re.subn(rf'<c r="{cell}"([^>]*)><v>[^<]*</v></c>',
                               rf'<c r="{cell}"\1 t="e"><f>1/0</f><v>{error}</v></c>' if formula
                               else rf'<c r="{cell}"\1><v>{error}</v></c>', sheet)
        assert found == 1
        return sheet

    _rewrite_part(path, "xl/worksheets/sheet1.xml", change)


def _rewrite_part(path: Path, part: str, change) -> None:
    """Rewrite one XML part of a workbook with `change` (text → text), the others as they were."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[part] = change(parts[part].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_a_formula_error_in_a_figure_cell_rejects_the_file_naming_the_cell(home, ingestor, ref, tmp_path):
    # the reader sees #DIV/0! and #REF! as blank cells: counted as "no figure", the unit's total would be short
    bad = write_submission(tmp_path / "浈江区_公式.xlsx", ref, "浈江区民政局", DEMO_DATE, [
        FilledRow("犁市镇", {"走访慰问户数（户）": 7}), FilledRow("花坪镇", {"走访慰问户数（户）": 10})])
    _with_saved_value(bad, "B6", "#DIV/0!")
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert outcome.status == "rejected"
    assert [(i.rule, i.sheet, i.cell) for i in outcome.issues] == [("formula-error", "统计表", "B6")]
    report = (home.home / outcome.report_path).read_text(encoding="utf-8")
    assert "统计表!B6" in report and "fix the formula in Excel (or type the figure)" in report
    assert query(home, "SELECT count(*) FROM raw.facts") == [(0,)]


def test_links_and_pipes_in_the_inbox_are_refused_unopened_with_a_report(home, ingestor, ref, tmp_path):
    # a link could lead anywhere on this machine: its target is never read, archived or quoted
    secret = tmp_path / "secret.xlsx"
    write_submission(secret, ref, "浈江区民政局", DEMO_DATE, [FilledRow("犁市镇", {"走访慰问户数（户）": 7})])
    (home.inbox / "浈江区_20231220.xlsx").symlink_to(secret)
    (home.inbox / "dangling.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    os.mkfifo(home.inbox / "pipe.xlsx")
    from flows.ingest_submission import pending_files

    assert sorted(p.name for p in pending_files(home)) == ["dangling.xlsx", "pipe.xlsx", "浈江区_20231220.xlsx"]
    con = warehouse.connect(home.warehouse)
    try:
        warehouse.prepare(con, ref)
        outcomes = ingestor.ingest_many(pending_files(home), con)
    finally:
        con.close()
    assert {o.receipt.file_name: (o.status, [i.rule for i in o.issues]) for o in outcomes} == {
        name: ("rejected", ["not-a-regular-file"]) for name in ("dangling.xlsx", "pipe.xlsx", "浈江区_20231220.xlsx")}
    linked = next(o for o in outcomes if o.receipt.file_name == "浈江区_20231220.xlsx")
    assert linked.unit_code == "440204"  # whose it is, from the name only
    report = (home.home / linked.report_path).read_text(encoding="utf-8")
    assert "is a symbolic link, not a file; warmline neither opens nor follows it" in report
    assert str(secret) not in report
    archived = (home.home / linked.receipt.archive_path).read_bytes()
    assert archived == f"warmline: 浈江区_20231220.xlsx was a symbolic link to {secret}; it was not opened\n".encode()
    assert list(home.inbox.iterdir()) == [] and secret.exists()  # the links and the pipe left; the target stays
    assert query(home, "SELECT count(*) FROM raw.facts") == [(0,)]


def test_a_repeat_of_a_rejected_file_gets_a_short_report_naming_the_first(home, ingestor, ref, tmp_path):
    bad = write_submission(tmp_path / "浈江区_bad.xlsx", ref, "浈江区民政局", DEMO_DATE,
                           [FilledRow("犁市镇", {"走访慰问户数（户）": -5})])
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (first,) = ingest_inbox(ingestor, DEMO_DATE)
    # the same bytes under another name, in a later run; and an empty file twice in one batch
    again = home.inbox / "浈江区_再发.xlsx"
    shutil.copyfile(bad, again)
    land(home, again, dt.datetime(2023, 12, 20, 16, 30))
    for n, name in enumerate(("空.xlsx", "空2.xlsx")):
        (home.inbox / name).write_bytes(b"")
        land(home, home.inbox / name, dt.datetime(2023, 12, 20, 16, 40 + n))
    outcomes = {o.receipt.file_name: o for o in ingest_inbox(ingestor, DEMO_DATE)}
    assert {name: o.status for name, o in outcomes.items()} == {
        "浈江区_再发.xlsx": "duplicate", "空.xlsx": "rejected", "空2.xlsx": "duplicate"}
    report = (home.home / outcomes["浈江区_再发.xlsx"].report_path).read_text(encoding="utf-8")
    assert "This file has exactly the bytes of 浈江区_bad.xlsx, received 2023-12-20 16:05 and rejected" in report
    assert f"Its report:     {Path(first.report_path).name}" in report
    empty = (home.home / outcomes["空2.xlsx"].report_path).read_text(encoding="utf-8")
    assert "the bytes of 空.xlsx" in empty and Path(outcomes["空.xlsx"].report_path).name in empty
    assert query(home, "SELECT report_path IS NOT NULL FROM raw.submissions WHERE file_name = '浈江区_再发.xlsx'") \
        == [(True,)]


def test_a_repeat_of_a_loaded_file_gets_no_report(demo_home, ingestor, tmp_path):
    source = next(demo_home.archive.iterdir())
    shutil.copyfile(source, demo_home.inbox / "again.xlsx")
    (outcome,) = ingest_inbox(ingestor)
    assert (outcome.status, outcome.report_path) == ("duplicate", None)


def test_a_number_cell_holding_nan_rejects_the_file_naming_the_cell(home, ingestor, ref, tmp_path):
    bad = write_submission(tmp_path / "浈江区_nan.xlsx", ref, "浈江区民政局", DEMO_DATE, [
        FilledRow("犁市镇", {"走访慰问户数（户）": 7}), FilledRow("花坪镇", {"走访慰问户数（户）": 10})])
    _with_saved_value(bad, "B6", "NaN", formula=False)
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, [i.rule for i in outcome.issues]) == ("rejected", ["not-a-number"])
    assert outcome.issues[0].message_en == ("sheet '统计表', cell B6 holds an invalid number (nan), not a figure — "
                                            "type the figure again in Excel and send the file again")


def _with_shared_text(path: Path, text: str, written: str) -> None:
    """Write `written` in place of the shared string `text`, in the sheet XML's own escapes (_x0000_ is a NUL)."""
    def change(shared: str) -> str:
        assert shared.count(f"<t>{text}</t>") == 1
        return shared.replace(f"<t>{text}</t>", f"<t>{written}</t>")

    _rewrite_part(path, "xl/sharedStrings.xml", change)


@pytest.mark.parametrize(("text", "written", "cell", "code"), [
    ("走访慰问户数（户）", "走访慰问_x0000_户数（户）", "B4", "U+0000"),  # a NUL in a header would read as another header
    ("犁市镇", "_x001B_[31m犁市镇", "A5", "U+001B"),  # an escape sequence would colour a terminal
    ("犁市镇", "犁市镇\u202e", "A5", "U+202E"),  # a right-to-left override turns the text shown around
])
def test_text_with_a_control_character_rejects_the_file_naming_the_cell(home, ingestor, ref, tmp_path, text,
                                                                         written, cell, code):
    bad = write_submission(tmp_path / "浈江区_控制.xlsx", ref, "浈江区民政局", DEMO_DATE,
                           [FilledRow("犁市镇", {"走访慰问户数（户）": 7})])
    _with_shared_text(bad, text, written)
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, [i.rule for i in outcome.issues]) == ("rejected", ["control-character"])
    assert outcome.issues[0].message_en.startswith(
        f"sheet '统计表', cell {cell} holds an invisible control character ({code})"), outcome.issues[0].message_en


CSV_TABLE = "填报单位：浈江区民政局\n统计截止日期：2023年12月20日\n镇（街道）,走访慰问户数（户）\n{town},12\n"


@pytest.mark.parametrize(("case", "content", "rule", "says"), [
    ("a NUL in a label", CSV_TABLE.format(town="犁市\x00镇").encode("utf-8"), "control-character",
     "sheet '浈江区_x', cell A4 holds an invisible control character (U+0000)"),
    ("a field of a million characters", CSV_TABLE.format(town="犁" * 1_000_000).encode("utf-8"), "text-too-long",
     "sheet '浈江区_x', line 4 holds a cell of text, more than Excel's limit of 32,767 a cell"),
    ("a field of 40,000 characters", CSV_TABLE.format(town="犁" * 40_000).encode("utf-8"), "text-too-long",
     "sheet '浈江区_x', cell A4 holds 40,000 characters, more than Excel's limit of 32,767 a cell"),
    ("a workbook named .csv", None, "workbook-named-csv", "the file is named .csv but is an Excel workbook"),
])
def test_a_csv_is_refused_for_what_is_really_wrong_with_it(home, ingestor, ref, tmp_path, case, content, rule, says):
    """Not 'the CSV file is UTF-16' for a stray NUL or a workbook, nor a parser's field-limit error."""
    bad = tmp_path / "浈江区_x.csv"
    if content is None:
        write_submission(tmp_path / "book.xlsx", ref, "浈江区民政局", DEMO_DATE, [FilledRow("犁市镇", {"走访慰问户数（户）": 7})])
        content = (tmp_path / "book.xlsx").read_bytes()
    bad.write_bytes(content)
    land(home, bad, dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, [i.rule for i in outcome.issues]) == ("rejected", [rule])
    assert outcome.issues[0].message_en.startswith(says), outcome.issues[0].message_en


def _wide_csv(columns: int) -> bytes:
    headers = ",".join(f"自定义项目{n}（个）" for n in range(columns))
    figures = ",".join("1" for _ in range(columns))
    return (f"填报单位：浈江区民政局\n统计截止日期：2023年12月20日\n镇（街道）,走访慰问户数（户）,{headers}\n"
            f"犁市镇,12,{figures}\n").encode("utf-8")


def test_a_sheet_wider_than_excel_is_refused_unread(home, ingestor, tmp_path):
    (tmp_path / "浈江区_宽.csv").write_bytes(_wide_csv(50_000))
    land(home, tmp_path / "浈江区_宽.csv", dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, [i.rule for i in outcome.issues]) == ("rejected", ["too-many-columns"])
    assert outcome.issues[0].message_en.startswith("sheet '浈江区_宽' has 50,002 columns, more than Excel's 16,384")


def test_a_file_of_thousands_of_unknown_columns_keeps_200_problems_counts_the_rest_and_is_refused(home, ingestor,
                                                                                                    tmp_path):
    """Bounded whatever the file: its problems, kept one by one, stop at 200 and a line counts the rest."""
    (tmp_path / "浈江区_多列.csv").write_bytes(_wide_csv(3_000))
    land(home, tmp_path / "浈江区_多列.csv", dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    rules = [i.rule for i in outcome.issues]
    assert outcome.status == "rejected" and rules[0] == "too-many-unmapped" and len(rules) == 200
    assert outcome.issues[0].message_en.startswith("3,000 figure cells stand under headers that mean nothing known")
    assert rules[-1] == "more-issues" and re.fullmatch(r"and [\d,]+ more not listed one by one \(.+\)",
                                                       outcome.issues[-1].message_en)
    stored = query(home, "SELECT count(*) FROM raw.issues")
    assert stored == [(200,)]


def test_a_legacy_xls_cell_holding_a_formula_error_rejects_the_file_naming_it(home, ingestor, tmp_path):
    """The reader sees #DIV/0! in an .xls as an empty cell; the file is refused as an .xlsx one would be."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("统计表")
    for r, (label, value) in enumerate([("填报单位：浈江区民政局", None), ("统计截止日期：2023-12-20", None),
                                        ("镇（街道）", "走访慰问户数（户）"), ("犁市镇", 12), ("花坪镇", None)]):
        sheet.write(r, 0, label)
        if value is not None:
            sheet.write(r, 1, value)
    sheet.row(4).set_cell_error(1, "#DIV/0!")
    book.save(str(tmp_path / "浈江区_公式.xls"))
    land(home, tmp_path / "浈江区_公式.xls", dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, [i.rule for i in outcome.issues]) == ("rejected", ["formula-error"])
    assert outcome.issues[0].message_en.startswith("sheet '统计表', cell B5 holds a formula error")


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n", "mixed"])
def test_a_csv_loads_whatever_its_lines_end_with(home, ingestor, tmp_path, ending):
    lines = CSV_TABLE.format(town="犁市镇").splitlines()
    text = "".join(line + ("\r\n", "\n", "\r")[n % 3] for n, line in enumerate(lines)) if ending == "mixed" \
        else ending.join(lines) + ending
    (tmp_path / "浈江区_行尾.csv").write_bytes(text.encode("utf-8"))
    land(home, tmp_path / "浈江区_行尾.csv", dt.datetime(2023, 12, 20, 16, 5))
    (outcome,) = ingest_inbox(ingestor, DEMO_DATE)
    assert (outcome.status, [(c.row_label, c.cell, c.raw_text) for c in outcome.cells]) == ("loaded", [("犁市镇", "B4", "12")])
