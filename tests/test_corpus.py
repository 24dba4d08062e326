"""The messy-workbook corpus (tests/fixtures/make_fixtures.py): every file ends as its manifest says."""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import REPO, ingest_inbox, make_home
from transforms.ingest.ingestor import Ingestor

MAKE_FIXTURES = REPO / "tests" / "fixtures" / "make_fixtures.py"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    main = runpy.run_path(str(MAKE_FIXTURES))["main"]
    assert main([str(out), "--check"]) == 0, "the corpus did not read back as written"
    return out


def manifest() -> list[dict]:
    """The manifest, made at collection time so that each corpus file is a test of its own."""
    with tempfile.TemporaryDirectory() as out:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(MAKE_FIXTURES))["main"]([out])
        return json.loads((Path(out) / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def outcomes(corpus, tmp_path_factory, ref, validator) -> dict:
    """Ingest the whole corpus once, into one home, as a day's inbox would be."""
    layout = make_home(tmp_path_factory.mktemp("corpus-home"))
    for entry in json.loads((corpus / "expected.json").read_text(encoding="utf-8")):
        (layout.inbox / entry["file"]).write_bytes((corpus / entry["file"]).read_bytes())
    return {o.receipt.file_name: o for o in ingest_inbox(Ingestor(layout, ref, validator))}


def _facts(outcome) -> list[dict]:
    return sorted(({"indicator": f.indicator, "item_type": f.item_type,
                    "value": None if f.value is None else Decimal(f.value).normalize(),
                    "qualifier": f.qualifier} for f in outcome.facts),
                  key=lambda f: (f["indicator"], f["item_type"] or ""))


def _expected_facts(entry) -> list[dict]:
    return sorted(({**f, "value": None if f["value"] is None else Decimal(str(f["value"])).normalize()}
                   for f in entry["facts"]), key=lambda f: (f["indicator"], f["item_type"] or ""))


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_corpus_file_ends_as_its_manifest_says(entry, outcomes):
    outcome = outcomes[entry["file"]]
    errors = [f"{i.sheet}!{i.cell}" for i in outcome.issues if i.severity == "error" and i.cell]
    assert (outcome.status, outcome.unit_code, str(outcome.as_of_date) if outcome.as_of_date else None) == \
        (entry["status"], entry["unit_code"], entry["as_of_date"]), outcome.reason
    if entry["status"] == "loaded":
        assert _facts(outcome) == _expected_facts(entry)
        assert sorted(i.raw_text for i in outcome.issues if i.rule.endswith("-header")) == \
            sorted(entry["warnings_headers"])
    else:
        assert set(entry["rejection_cells"]) <= set(errors), [i.message_en for i in outcome.issues]
        assert outcome.report_path
        # every problem once: no file-level echo of a problem already located in a cell
        assert not ({"missing-unit", "missing-date"} & {i.rule for i in outcome.issues if i.severity == "error"}
                    and any(i.rule.startswith("conflicting-") for i in outcome.issues))
