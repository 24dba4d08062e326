"""The layout corpus (tests/fixtures/make_layouts.py): list sheets in their common shapes, meta lines written
together, headers worded by meaning. Every file ends as its manifest says: its facts, each header's mapping, every
figure cell it did not load listed, and one day of them through the whole pipeline to the city's headline."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import runpy
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO, ingest_inbox, make_home
from tests.test_corpus import _expected_facts, _facts
from transforms import warehouse
from transforms.ingest.ingestor import Ingestor

MAKE_LAYOUTS = REPO / "tests" / "fixtures" / "make_layouts.py"


def _generate(out: Path) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        assert runpy.run_path(str(MAKE_LAYOUTS))["main"]([str(out), "--check"]) == 0, "the corpus reads back wrong"
    return json.loads((out / "layouts.json").read_text(encoding="utf-8"))


def manifest() -> list[dict]:
    """The manifest, made at collection time so that each file is a test of its own."""
    with tempfile.TemporaryDirectory() as out:
        return _generate(Path(out))["files"]


@pytest.fixture(scope="session")
def layouts(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("layouts")
    return out, _generate(out)


@pytest.fixture(scope="session")
def outcomes(layouts, tmp_path_factory, ref, validator, reader) -> dict:
    """Ingest the whole corpus once into one home, and keep what the warehouse recorded of each file."""
    out, spec = layouts
    layout = make_home(tmp_path_factory.mktemp("layouts-home"))
    for entry in spec["files"]:
        shutil.copyfile(out / entry["file"], layout.inbox / entry["file"])
    found = {o.receipt.file_name: o for o in ingest_inbox(Ingestor(layout, ref, validator, reader, quiet_seconds=0))}
    return found


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_layout_file_ends_as_its_manifest_says(entry, outcomes):
    outcome = outcomes[entry["file"]]
    assert (outcome.status, outcome.unit_code, str(outcome.as_of_date) if outcome.as_of_date else None) == \
        (entry["status"], entry["unit_code"], entry["as_of_date"]), outcome.reason
    if entry["status"] == "loaded":
        assert _facts(outcome) == _expected_facts(entry)
    mapped = {(h.sheet, h.cell, h.indicator, h.item_type) for h in outcome.headers if h.indicator}
    assert mapped == {(m["sheet"], m["cell"], m["indicator"], m["item_type"]) for m in entry["mapped"]}
    unmapped = {(u.sheet, u.cell): u for u in outcome.unmapped}
    assert set(unmapped) == {(u["sheet"], u["cell"]) for u in entry["unmapped"]}
    for expected in entry["unmapped"]:  # each listed with its own text and the header it sits under
        cell = unmapped[(expected["sheet"], expected["cell"])]
        assert (Decimal(cell.raw_text) if _number(cell.raw_text) else cell.raw_text) == \
            (Decimal(expected["raw"]) if _number(expected["raw"]) else expected["raw"])
        assert expected["header"].replace(" ", "") in cell.header.replace(" ", "")
    warned = sorted(i.raw_text for i in outcome.issues if i.rule == "unknown-item")
    expected = sorted(entry.get("warnings_headers", []))
    assert len(warned) == len(expected) and all(e in w for e, w in zip(expected, warned)), warned


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def test_one_day_of_layouts_goes_through_to_the_city_headline_and_the_bulletin(layouts, tmp_path, ref, validator,
                                                                               reader):
    from transforms.bulletin.build import bulletin_folder, load_wording, write_bulletin
    from transforms.bulletin.official_numbers import official_number

    out, spec = layouts
    day = dt.date.fromisoformat(spec["city_day"]["as_of_date"])
    layout = make_home(tmp_path / "home")
    for entry in spec["files"]:
        if entry["as_of_date"] == spec["city_day"]["as_of_date"] and entry["status"] == "loaded":
            shutil.copyfile(out / entry["file"], layout.inbox / entry["file"])
    outcomes = ingest_inbox(Ingestor(layout, ref, validator, reader, quiet_seconds=0), day)
    assert sorted(o.status for o in outcomes) == ["loaded"] * 6
    con = warehouse.connect(layout.warehouse)
    try:
        totals = {row[0]: row[1:] for row in con.execute(
            "SELECT indicator, value, qualifier FROM marts.city_totals WHERE as_of_date = ?", [day]).fetchall()}
        written = write_bulletin(con, day, bulletin_folder(layout.bulletins, day), load_wording(layout.reference))
    finally:
        con.close()
    expected = spec["city_day"]["headline"]
    assert {code: (Decimal(str(totals[code][0])).normalize(), totals[code][1]) for code in expected} == \
        {code: (Decimal(str(f["value"])).normalize(), f["qualifier"]) for code, f in expected.items()}
    headline = written[0].read_text(encoding="utf-8").split("\n\n")[2]
    for code, f in expected.items():  # the press writes each headline figure as officials do
        unit = {"households_visited": "户", "funds_disbursed": "元", "items_issued": "件（套）", "patrols_run": "次"}[code]
        assert official_number(f["value"], f["qualifier"], unit, headline=True) in headline, (code, headline)
