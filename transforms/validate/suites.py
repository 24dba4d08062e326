"""Validate a parsed submission with the Great Expectations suites kept in expectations/."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from bisect import bisect_right
from dataclasses import replace
from pathlib import Path

import pandas as pd

from expectations import SUITES_DIR
from transforms.core.problems import Problem, catalogue, problem
from transforms.core.reference import Reference
from transforms.read.parsed import CellFigure, CrossFieldFinding
from transforms.read.parser import ParsedSubmission
from transforms.validate.data_docs import FileRows, run_name

INVALID = "invalid"  # qualifier given to a cell the parser could not read, so the suite reports it
_INDEX = "row_id"


FIGURE_COLUMNS = [_INDEX, "sheet", "cell", "行号", "indicator", "item_type", "raw_text", "value", "qualifier",
                  "problem_zh", "problem_en", "problem_rule", "count", "count_fraction"]
# Measure families whose figures may have a fraction: money (万元 with decimals, fen) and goods, which are also
# weighed (斤, 吨). Every other indicator counts households, people, times or places: whole numbers.
FRACTIONAL_FAMILIES = frozenset({"元", "件"})
SUBMISSION_COLUMNS = [_INDEX, "unit_code", "as_of_date", "days_into_campaign", "figures_found"]


def compared_figures(suite_file: Path) -> list[str]:
    """The indicators a suite compares two by two (its rules' column_A and column_B), in the order they appear:
    the suite file is the one place that says which."""
    rules = json.loads(suite_file.read_text(encoding="utf-8"))["expectations"]
    return list(dict.fromkeys(r["kwargs"][side] for r in rules for side in ("column_A", "column_B")))


# The figures the `cross_field` suite compares; a row without one of them has NaN there.
CROSS_FIELD_FIGURES = compared_figures(SUITES_DIR / "cross_field.json")
CROSS_FIELD_COLUMNS = [_INDEX, "sheet", "row_number", "cells", *CROSS_FIELD_FIGURES]


def whole_counts(ref: Reference) -> frozenset[str]:
    """The indicators counted in whole numbers (households, people, times, places)."""
    return frozenset(i.code for i in ref.indicators if i.measure and i.measure not in FRACTIONAL_FAMILIES)


def figures_suite_rows(parsed: ParsedSubmission, counted_whole: frozenset[str] = frozenset()) -> list[dict]:
    """One row per figure cell, the shape the `figures` suite checks; `count` and `count_fraction` are filled for
    the indicators of `counted_whole` only."""
    rows = []
    for i, c in enumerate(parsed.cells):
        value = c.figure.value if c.figure else None
        counted = value is not None and c.indicator in counted_whole
        rows.append({
            _INDEX: i, "sheet": c.sheet, "cell": c.cell, "行号": c.row, "indicator": c.indicator,
            "item_type": c.item_type, "raw_text": c.raw_text,
            "value": float(value) if value is not None else math.nan,
            "qualifier": c.figure.qualifier if c.figure else INVALID,
            "problem_zh": c.problem.message_zh if c.problem else "",
            "problem_en": c.problem.message_en if c.problem else "",
            "problem_rule": c.problem.rule if c.problem else "",
            "count": float(value) if counted else math.nan,
            "count_fraction": float(value % 1) if counted else math.nan,
        })
    return rows


def submission_rows(parsed: ParsedSubmission, ref: Reference, facts_found: int) -> list[dict]:
    """One row describing the file, the shape the `submission` suite checks."""
    start = ref.campaign.start_date
    return [{
        _INDEX: 0, "unit_code": parsed.unit_code,
        "as_of_date": parsed.as_of_date.isoformat() if parsed.as_of_date else None,
        "days_into_campaign": (parsed.as_of_date - start).days if parsed.as_of_date else math.nan,
        "figures_found": facts_found,
    }]


def cross_field_rows(cells: list[CellFigure]) -> list[dict]:
    """One row per sheet row of a file, the shape the `cross_field` suite checks: the figures it compares (summed
    when several cells of the row count the same one) and every figure cell of the row. The cells are those
    raw.figures keeps of a counted file that are not per item type and have a value."""
    rows: dict[tuple[str, int], dict] = {}
    for c in cells:
        if c.figure is None or c.figure.value is None or c.item_type is not None:
            continue
        row = rows.setdefault((c.sheet, c.row), {"sheet": c.sheet, "row_number": c.row, "cells": []})
        row["cells"].append(c.cell)
        if c.indicator in CROSS_FIELD_FIGURES:
            row[c.indicator] = row.get(c.indicator, 0.0) + float(c.figure.value)
    return [{**row, "cells": ", ".join(sorted(row["cells"]))} for _, row in sorted(rows.items())]


def submission_frame(parsed: ParsedSubmission, ref: Reference, facts_found: int) -> pd.DataFrame:
    return pd.DataFrame(submission_rows(parsed, ref, facts_found), columns=SUBMISSION_COLUMNS)


def rule_notes(meta: dict) -> list[str]:
    """An expectation's notes in Data Docs: its problem's code and title, what the clerk does, and why the rule is."""
    entry = catalogue()[meta["rule"]]
    return [f"{meta['rule']}: {entry['title_zh']} / {entry['title_en']}", f"{entry['fix_zh']} {entry['fix_en']}",
            meta["why"]]


class SubmissionValidator:
    """Runs the suites on a submission; build once per process (Great Expectations costs seconds to import)."""

    SUITES = ("submission", "figures", "cross_field")

    def __init__(self, ref: Reference, suites_dir: Path = SUITES_DIR, quality_dir: Path | None = None):
        """`quality_dir` (data/quality/): keep each submission's validation results there for Data Docs."""
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.ref = ref
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self._context.data_sources.add_pandas("warmline").add_dataframe_asset("frame")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self.counted_whole = whole_counts(ref)
        self.suites = {}
        self.specs = {}
        self.results_store = None
        for name in self.SUITES:
            spec = json.loads((suites_dir / f"{name}.json").read_text(encoding="utf-8"))
            # each rule's title and fix come from the problem catalogue, where the clerk's messages are: Data Docs
            # show them with the rule's why, so a statistician reads there what the clerk was told to do
            spec["expectations"] = [dict(e, notes=rule_notes(e["meta"])) for e in spec["expectations"]]
            self.specs[name] = spec
            suite = gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"])
            # Great Expectations drops an unknown expectation type with only a log line: refuse that here.
            if len(suite.expectations) != len(spec["expectations"]):
                raise ValueError(f"{name}.json: {len(spec['expectations']) - len(suite.expectations)} "
                                 "expectation(s) were not understood by Great Expectations")
            self.suites[name] = suite
        campaign = ref.campaign
        self.parameters = {
            "unit_codes": [u.code for u in ref.units],
            "indicator_codes": [i.code for i in ref.indicators],
            "campaign_days": (campaign.end_date - campaign.start_date).days,
        }
        if quality_dir is not None:
            self.keep_results(quality_dir)

    def keep_results(self, quality_dir: Path) -> None:
        """From now on, keep each submission's validation results in a Great Expectations file-mode context in
        `quality_dir` (a few milliseconds a file); `warmline status` builds Data Docs from them."""
        from transforms.validate.data_docs import ResultStore

        if self.results_store is None or self.results_store.folder != Path(quality_dir):
            self.results_store = ResultStore(quality_dir, self.specs)

    def _validate(self, suite_name: str, frame: pd.DataFrame):
        """The ExpectationSuiteValidationResult of `suite_name` on `frame`, or None for an empty frame."""
        if frame.empty:
            return None
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(self.suites[suite_name], expectation_parameters=self.parameters, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [_INDEX]})

    def failures(self, suite_name: str, frame: pd.DataFrame) -> list[tuple[dict, list[int]]]:
        """(rule meta, failing row_ids) of every expectation of `suite_name` that `frame` breaks."""
        return self._failures_of(suite_name, self._validate(suite_name, frame))

    def cross_field(self, files: list[list[CellFigure]]) -> list[list[CrossFieldFinding]]:
        """Each file's rows that break a rule of the `cross_field` suite (`files`: each one's figure cells), all
        files in one run: a run's cost hardly depends on its size."""
        rows = [cross_field_rows(cells) for cells in files]
        frame, starts = _stacked(rows, CROSS_FIELD_COLUMNS)
        found: list[list[CrossFieldFinding]] = []
        for mine, failures in zip(rows, _by_file(self.failures("cross_field", frame), starts, len(files))):
            found.append([])
            for meta, hits in failures:
                for i in sorted(hits):
                    row = {**dict.fromkeys(CROSS_FIELD_FIGURES, math.nan), **mine[i]}
                    broken = problem(meta["rule"], **{figure: row[figure] for figure in CROSS_FIELD_FIGURES})
                    found[-1].append(CrossFieldFinding(row["sheet"], row["row_number"], row["cells"], broken.rule,
                                                       broken.message_zh, broken.message_en))
        return found

    def _kept_failures(self, suite_name: str, frame: pd.DataFrame, parsed: ParsedSubmission, when: dt.datetime):
        """failures(), with the result kept for Data Docs when a results store is set."""
        result = self._validate(suite_name, frame)
        if result is not None and self.results_store is not None:
            self.results_store.keep(suite_name, result, run_name(parsed.unit_code, parsed.as_of_date), when)
        return self._failures_of(suite_name, result)

    @staticmethod
    def _failures_of(suite_name: str, result) -> list[tuple[dict, list[int]]]:
        if result is None:
            return []
        failures = []
        for r in result.results:
            if r.success:
                continue
            meta = dict(r.expectation_config.meta or {})
            exception = (r.exception_info or {}).get("raised_exception") if isinstance(r.exception_info, dict) else False
            if exception:
                raise RuntimeError(f"expectation {meta.get('rule')} of suite {suite_name} could not run: "
                                   f"{r.exception_info.get('exception_message')}")
            rows = [int(hit[_INDEX]) for hit in r.result.get("unexpected_index_list") or []]
            failures.append((meta, rows))
        return failures

    def rehearse(self, parsed: ParsedSubmission, facts_found: int) -> None:
        """Run every suite on `parsed` and keep nothing: a process's first run of a suite costs several times the
        next (Great Expectations builds its metric registry and caches on first use), which a long-running writer
        pays at its start rather than on a clerk's first file."""
        self.failures("submission", submission_frame(parsed, self.ref, facts_found))
        self.failures("figures", pd.DataFrame(figures_suite_rows(parsed, self.counted_whole), columns=FIGURE_COLUMNS))
        self.cross_field([parsed.cells])

    def validate(self, parsed: ParsedSubmission, facts_found: int) -> list[Problem]:
        """Every rule broken, as issues located at the cell; an empty list means the file passes."""
        when = dt.datetime.now(dt.timezone.utc)  # one validation run: both suites' results kept under this time
        meta_frame = submission_frame(parsed, self.ref, facts_found)
        meta_failures = self._kept_failures("submission", meta_frame, parsed, when)
        rows = figures_suite_rows(parsed, self.counted_whole)
        frame = pd.DataFrame(rows, columns=FIGURE_COLUMNS)
        return self._issues(parsed, meta_failures, rows, self._kept_failures("figures", frame, parsed, when))

    def validate_many(self, items: list[tuple[ParsedSubmission, int]],
                      run_times: list[dt.datetime] | None = None) -> list[list[Problem]]:
        """validate() of many submissions, with one Great Expectations run per suite for all of them.

        A run's cost hardly depends on its size, and it was most of what a file cost; every rule is row by row,
        so the issues of each submission are exactly those validate() finds, in the same order. `run_times`
        (one per submission, distinct) are the times each one's results are kept under for Data Docs.
        """
        if len(items) <= 1 and run_times is None:
            return [self.validate(parsed, found) for parsed, found in items]
        metas = [submission_rows(parsed, self.ref, found) for parsed, found in items]
        figures = [figures_suite_rows(parsed, self.counted_whole) for parsed, _ in items]
        # one frame per suite built from every file's rows: a DataFrame per file cost a millisecond each
        meta_all, meta_starts = _stacked(metas, SUBMISSION_COLUMNS)
        frames_all, frame_starts = _stacked(figures, FIGURE_COLUMNS)
        meta_result = self._validate("submission", meta_all)
        frames_result = self._validate("figures", frames_all)
        meta_failures = _by_file(self._failures_of("submission", meta_result), meta_starts, len(items))
        frame_failures = _by_file(self._failures_of("figures", frames_result), frame_starts, len(items))
        if self.results_store is not None:
            now = dt.datetime.now(dt.timezone.utc)
            times = run_times or [now + dt.timedelta(microseconds=2 * i) for i in range(len(items))]
            names = [run_name(parsed.unit_code, parsed.as_of_date) for parsed, _ in items]
            for suite, result, stacked, starts, rows in (("submission", meta_result, meta_all, meta_starts, metas),
                                                         ("figures", frames_result, frames_all, frame_starts, figures)):
                if result is not None:
                    self.results_store.keep_split(suite, result, stacked, [
                        FileRows(name, when, start, len(mine))
                        for name, when, start, mine in zip(names, times, starts, rows)], _INDEX)
        return [self._issues(parsed, meta_failures[i], figures[i], frame_failures[i])
                for i, (parsed, _) in enumerate(items)]

    def _issues(self, parsed: ParsedSubmission, meta_failures: list, figure_rows: list[dict],
                figure_failures: list) -> list[Problem]:
        campaign = self.ref.campaign
        issues = []
        context = {"as_of_date": parsed.as_of_date, "campaign_start": campaign.start_date,
                   "campaign_end": campaign.end_date}
        for meta, _rows in meta_failures:
            where = {"unit": parsed.unit_source, "date": parsed.date_source}.get(meta.get("where"))
            sheet, _, cell = (where or "").partition("!")
            issues.append(problem(meta["rule"], sheet=sheet or None, cell=cell or None, **context))
        for meta, rows in figure_failures:
            for i in sorted(rows):
                row = figure_rows[i]
                found = problem(meta["rule"], sheet=row["sheet"], cell=row["cell"], raw_text=row["raw_text"],
                                text=row["raw_text"], problem_zh=row["problem_zh"], problem_en=row["problem_en"])
                # the parser knows best why a cell is not a figure: its code, under the suite's message (its words)
                issues.append(replace(found, rule=row["problem_rule"] or found.rule))
        return issues


def _stacked(rows: list[list[dict]], columns: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Every file's rows one under the other as one frame, row_id numbered through; and the row each file's rows
    start at."""
    starts, n = [], 0
    for mine in rows:
        starts.append(n)
        n += len(mine)
    if not n:
        return pd.DataFrame(), starts
    whole = pd.DataFrame([row for mine in rows for row in mine], columns=columns)
    whole[_INDEX] = range(len(whole))
    return whole, starts


def _by_file(failures: list[tuple[dict, list[int]]], starts: list[int], files: int) -> list[list]:
    """Failures of a stacked run, per file: (rule meta, the file's own row_ids), in the suite's order."""
    out: list[list] = [[] for _ in range(files)]
    for meta, rows in failures:
        mine: dict[int, list[int]] = {}
        for row in rows:
            # the last file starting at or before the row: a file without rows shares its start with the next
            i = bisect_right(starts, row) - 1
            mine.setdefault(i, []).append(row - starts[i])
        for i, local in sorted(mine.items()):
            out[i].append((meta, local))
    return out
