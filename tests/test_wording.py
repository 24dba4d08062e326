"""The wording corpus (tests/wording/): figure phrases from public civil-affairs releases, each with the indicator it
must map to or none. The header reader's precision and recall on it, as a bracketed header, with the measure in
a unit column, and as the rows of a list sheet read by the whole sheet reader."""

from __future__ import annotations

import runpy

import pytest

from tests.conftest import REPO
from transforms.read.headers import HeaderCatalogue
from transforms.read.parser import SubmissionParser
from transforms.read.workbook import read_sheets

CORPUS = runpy.run_path(str(REPO / "tests" / "wording" / "make_wording_corpus.py"))
# Floors, not targets: each half's (precision, recall) when last measured (README, "How well it reads"), so that
# a change that reads real wordings worse cannot pass unnoticed. The lexicon was tuned on the development half
# only; the held-out half's errors were never looked at. The targets (99.5 %, 95 %) are not met on it.
# Recall floors were lowered when the reader began to load an inferred header only if it knows every word of it
# (the rest are suggested for review): held-out precision rose from 86.7 % to 96.2 %, recall fell from 89.0 %
# to 67.9 %.
FLOORS = {"dev": (0.99, 0.87), "heldout": (0.96, 0.67)}


@pytest.fixture(scope="module")
def catalogue(ref):
    return HeaderCatalogue(ref)


@pytest.mark.parametrize("split", CORPUS["SPLITS"])
def test_header_reader_precision_and_recall(split, catalogue, report_figures):
    phrases = CORPUS["load"](split)
    score, errors = CORPUS["score"](catalogue, phrases)
    if split == "dev":  # the held-out figure is not shown on every run: seeing it move with each edit is tuning on it
        report_figures.append(f"wording {score.line(split)}")
    precision, recall = FLOORS[split]
    assert score.precision >= precision and score.recall >= recall, [
        f"{kind} {p.doc_id} {p.header} -> {got}" for kind, p, got in errors] if split == "dev" else score.line(split)


@pytest.mark.parametrize("split", CORPUS["SPLITS"])
def test_a_measure_in_a_unit_column_reads_as_in_brackets(split, catalogue):
    phrases = CORPUS["load"](split)
    assert [CORPUS["read_header"](catalogue, p, unit_column=True) for p in phrases] == \
        [CORPUS["read_header"](catalogue, p) for p in phrases]


@pytest.mark.parametrize("split", CORPUS["SPLITS"])
def test_the_sheet_reader_reads_each_phrase_as_a_list_row_as_the_header_reader_does(split, catalogue, ref,
                                                                                      tmp_path):
    parser = SubmissionParser(ref)
    written = CORPUS["write_workbooks"](tmp_path, CORPUS["load"](split))
    for name, placed in written.items():
        parsed = parser.parse(read_sheets((tmp_path / name).read_bytes(), name), name)
        # an unmapped header may carry the item type it was suggested with; the header reader says only "unmapped"
        readings = {h.cell: (h.indicator, h.item_type if h.indicator else None) for h in parsed.headers}
        for cell, phrase in placed:
            expected = CORPUS["read_header"](catalogue, phrase)
            assert readings.get(cell, (None, None)) == expected, (name, cell, phrase.header)
