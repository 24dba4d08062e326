"""What reading one submitted file yields: its sender and date, figure cells, headers, unread cells and issues."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from transforms.core.figures import Figure
from transforms.core.problems import Problem

PART, TOTAL, SUBTOTAL = "part", "total", "subtotal"
UNMAPPED = "unmapped"  # how a header was read when it maps to nothing


@dataclass(frozen=True)
class CellFigure:
    """A figure cell as read: where it is, what it counts, and its parsed value or the problem with it."""

    sheet: str
    cell: str
    row: int  # the Excel row number, 1-based
    row_label: str
    row_role: str
    indicator: str
    item_type: str | None
    raw_text: str
    figure: Figure | None
    problem: Problem | None = None  # why it is not a figure: no place, the cell says where
    record: int | None = None  # cells rolled up together; a long list is one record, a wide table a record a row

    @property
    def record_key(self) -> int:
        return self.record if self.record is not None else self.row


@dataclass(frozen=True)
class HeaderReading:
    """How one header (a column's, or a list row's name) was read: the indicator it maps to and how that was
    decided (alias, inferred with the rule and the words), or why it maps to nothing and what it could be."""

    sheet: str
    cell: str
    header: str  # as written; a group header and its column joined with ' / '
    unit: str | None
    indicator: str | None
    item_type: str | None  # mapped goods' item type; for an unmapped header, the one suggested with it
    how: str  # alias, inferred or unmapped
    rule: str  # alias; the inference rule; or the reason it is unmapped (ambiguous, contradictory …)
    words: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    detail: str = ""
    detail_zh: str = ""
    cells: int = 0  # figure cells under it: read into figures, or listed as unmapped


@dataclass(frozen=True)
class UnmappedCell:
    """A non-empty cell in a figure column or row that was not loaded, and why: listed, never silently dropped."""

    sheet: str
    cell: str
    header: str
    header_cell: str | None
    row_label: str
    raw_text: str
    reason: str  # the header's: unknown, ambiguous, contradictory, weak, unfamiliar, excluded, breakdown, no-header


@dataclass(frozen=True)
class CrossFieldFinding:
    """A row of a counted file that breaks a rule between its figures (expectations/cross_field.json), found when
    the file was validated and kept in raw.cross_field_findings: the day's checks read it without the suite."""

    sheet: str
    row_number: int  # the Excel row number, 1-based
    cells: str  # the row's figure cells, e.g. 'B5, C5, L5'
    rule: str
    message_zh: str
    message_en: str


@dataclass
class ParsedSubmission:
    """What one file says: sender, as-of date (each with where it was read), figure cells, every header and how it
    was read, the cells left unmapped, and issues."""

    unit_code: str | None = None
    as_of_date: dt.date | None = None
    unit_source: str | None = None
    date_source: str | None = None
    cells: list[CellFigure] = field(default_factory=list)
    issues: list[Problem] = field(default_factory=list)
    headers: list[HeaderReading] = field(default_factory=list)
    unmapped: list[UnmappedCell] = field(default_factory=list)
