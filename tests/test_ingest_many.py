"""Ingesting files in batches (Ingestor.ingest_many): each file ends exactly as it would alone, and one file's
failure touches no other file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ingest_inbox, land_mixed_batch, make_home
from transforms import warehouse
from transforms.ingest.ingestor import IngestFailed, Ingestor
from transforms.read.worked_example import DEMO_DATE, write_demo

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TABLES = {
    "submissions": "SELECT submission_id, file_name, status, reason, unit_code, as_of_date, report_path, "
                   "figures_read, warnings FROM raw.submissions ORDER BY submission_id",
    "figures": "SELECT * FROM raw.figures ORDER BY ALL",
    "facts": "SELECT * FROM raw.facts ORDER BY ALL",
    "issues": "SELECT * FROM raw.issues ORDER BY ALL",
}


def land_mix(layout, ref, scratch: Path) -> list[str]:
    return land_mixed_batch(layout, ref, scratch, unreadable=True)


def rows(layout) -> dict:
    con = warehouse.connect(layout.warehouse, read_only=True)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    finally:
        con.close()


def ingest_many(ingestor: Ingestor, paths=None) -> list:
    layout = ingestor.layout
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, ingestor.ref)
        files = paths or sorted(layout.inbox.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return ingestor.ingest_many(files, con)
    finally:
        con.close()


@pytest.fixture
def two_homes(tmp_path, ref, validator, reader):
    """The same files in two homes: one to ingest one by one, one in a batch."""
    homes = []
    for name in ("one", "many"):
        layout = make_home(tmp_path / name)
        land_mix(layout, ref, tmp_path / f"scratch-{name}")
        homes.append(Ingestor(layout, ref, validator, reader, quiet_seconds=0))
    return homes


@pytest.mark.parametrize("batch_files", [200, 3, 1])
def test_a_batch_ends_every_file_as_ingesting_them_one_by_one(two_homes, batch_files, monkeypatch):
    # in batches of 3 or 1, the duplicate and the correction come in a later batch than their first file, which
    # arrives while the earlier batch is still being validated (read ahead)
    monkeypatch.setattr("transforms.ingest.ingestor.BATCH_FILES", batch_files)
    one, many = two_homes
    alone = ingest_inbox(one)
    together = ingest_many(many)
    assert [(o.receipt.file_name, o.status, o.reason) for o in together] == \
        [(o.receipt.file_name, o.status, o.reason) for o in alone]
    assert [o.status for o in together] == ["loaded"] * 7 + ["duplicate", "rejected", "rejected"]
    assert together[7].reason.startswith(f"same content as {together[0].receipt.file_name} (")
    assert rows(many.layout) == rows(one.layout)
    assert sorted(p.name for p in many.layout.rejected.iterdir()) == \
        sorted(p.name for p in one.layout.rejected.iterdir())
    assert list(many.layout.inbox.iterdir()) == []


def test_the_same_file_given_twice_in_a_batch_is_one_receipt(home, ingestor, ref, tmp_path):
    path = write_demo(home.inbox, ref)[0]
    first, second = ingest_many(ingestor, [path, path])
    assert (first.status, second.status) == ("loaded", "loaded")
    assert first.receipt.submission_id == second.receipt.submission_id
    assert rows(home)["submissions"] == [(first.receipt.submission_id, path.name, "loaded", None, "440200901",
                                          DEMO_DATE, None, 19, 0)]


def test_a_file_whose_validation_fails_stays_in_the_inbox_and_the_others_are_recorded(two_homes, monkeypatch):
    _, many = two_homes
    validate, validate_many = many.validator.validate, many.validator.validate_many

    def refuse_the_correction(parsed, found):  # a rule that cannot run on one file
        if parsed.unit_code == "440229" and any(c.raw_text == "6900" for c in parsed.cells):
            raise RuntimeError("expectation could not run")
        return validate(parsed, found)

    def batch_fails(items, run_times=None):
        if any(p.unit_code == "440229" and any(c.raw_text == "6900" for c in p.cells) for p, _ in items):
            raise RuntimeError("expectation could not run")
        return validate_many(items, run_times)

    monkeypatch.setattr(many.validator, "validate", refuse_the_correction)
    monkeypatch.setattr(many.validator, "validate_many", batch_fails)
    with pytest.raises(IngestFailed) as failed:
        ingest_many(many)
    assert [p.name for p, _ in failed.value.failed] == ["翁源县_更正.xlsx"]
    assert str(failed.value).startswith("ingest failed for 1 file(s) (翁源县_更正.xlsx): RuntimeError: expectation "
                                        "could not run; they stay in the inbox, the other 9 were recorded.")
    assert [o.status for o in failed.value.outcomes] == ["loaded"] * 6 + ["duplicate", "rejected", "rejected"]
    assert [p.name for p in many.layout.inbox.iterdir()] == ["翁源县_更正.xlsx"]
    assert len(rows(many.layout)["submissions"]) == 9


def test_a_duplicate_of_a_file_that_failed_in_the_same_batch_is_read_in_its_place(home, ingestor, ref, tmp_path,
                                                                                  monkeypatch):
    source = write_demo(tmp_path, ref)[0]
    first, again, third = home.inbox / "a.xlsx", home.inbox / "b.xlsx", home.inbox / "c.xlsx"
    for n, path in enumerate((first, again, third)):
        shutil.copyfile(source, path)
        os.utime(path, (1703034000 + n, 1703034000 + n))
    read_as = ingestor._read_as

    def fail_first(receipt, read):
        if receipt.file_name == "a.xlsx":
            raise OSError("disk went away")
        return read_as(receipt, read)

    monkeypatch.setattr(ingestor, "_read_as", fail_first)
    with pytest.raises(IngestFailed) as failed:
        ingest_many(ingestor, [first, again, third])
    assert [(o.receipt.file_name, o.status) for o in failed.value.outcomes] == [("b.xlsx", "loaded"),
                                                                              ("c.xlsx", "duplicate")]
    assert failed.value.outcomes[1].reason.startswith("same content as b.xlsx (")
    assert [p.name for p in home.inbox.iterdir()] == ["a.xlsx"]
