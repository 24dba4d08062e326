"""The suites' guards on what the parser hands them. The parser only ever names a unit of units.csv and an
indicator of indicators.csv, so on real files these rules stay quiet; they are there for the day a change to
the parser breaks that, and this shows they would catch it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from transforms.core.figures import Figure
from transforms.read.parsed import CellFigure, ParsedSubmission


def _cell(indicator: str) -> CellFigure:
    return CellFigure("统计表", "B5", 5, "全县", "unit", indicator, None, "12", Figure(Decimal(12), "exact"))


def test_a_unit_outside_the_list_of_units_is_an_error(validator):
    parsed = ParsedSubmission("999999", dt.date(2023, 12, 20), "填报单位", "统计截止日期",
                              [_cell("households_visited")])
    found = {(i.rule, i.severity) for i in validator.validate(parsed, 1)}
    assert ("unknown-unit", "error") in found


def test_an_indicator_outside_the_catalogue_is_an_error_at_its_cell(validator):
    parsed = ParsedSubmission("440222", dt.date(2023, 12, 20), "填报单位", "统计截止日期", [_cell("made_up")])
    issues = [i for i in validator.validate(parsed, 1) if i.rule == "unknown-indicator"]
    assert [(i.severity, i.sheet, i.cell) for i in issues] == [("error", "统计表", "B5")]


def test_a_file_of_the_reference_passes_both(validator):
    parsed = ParsedSubmission("440222", dt.date(2023, 12, 20), "填报单位", "统计截止日期",
                              [_cell("households_visited")])
    assert {i.rule for i in validator.validate(parsed, 1)} & {"unknown-unit", "unknown-indicator"} == set()
