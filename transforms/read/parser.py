"""Turn the sheets of one submitted file into its sender, its as-of date and every figure cell it holds, with
every header's reading and every figure cell that could not be loaded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from transforms.core.problems import Problem, problem
from transforms.core.reference import Reference
from transforms.read.headers import (AMBIGUOUS, BREAKDOWN, CONTRADICTORY, EXCLUDED, UNFAMILIAR, UNKNOWN, WEAK,
                               HeaderCatalogue)
from transforms.read.meta_lines import MetaValue, parse_date, read_meta
from transforms.read.parsed import (PART, SUBTOTAL, TOTAL, UNMAPPED, CellFigure, HeaderReading, ParsedSubmission,
                               UnmappedCell)
from transforms.read.tables import NO_HEADER, NO_TABLE, TableReader
from transforms.read.workbook import Sheet

FILE_NAME_SOURCE = "文件名 file name"  # where a unit or date read from the file's name was found
# Why a header maps to nothing, each with its problem code <reason>-header in the catalogue; any other is unknown.
HEADER_REASONS = (UNKNOWN, AMBIGUOUS, CONTRADICTORY, WEAK, UNFAMILIAR, EXCLUDED, BREAKDOWN)

__all__ = ["PART", "TOTAL", "SUBTOTAL", "CellFigure", "ParsedSubmission", "HeaderReading", "UnmappedCell",
           "SubmissionParser", "parse_date"]


class SubmissionParser:
    """Parses the sheets of one file against the reference data; one instance serves many files."""

    def __init__(self, ref: Reference):
        self.ref = ref
        self.headers = HeaderCatalogue(ref)
        self.tables = TableReader(self.headers)
        self.names = {i.code: i.name_zh for i in ref.indicators}

    def parse(self, sheets: list[Sheet], file_name: str) -> ParsedSubmission:
        out = ParsedSubmission()
        units: list[MetaValue] = []
        dates: list[MetaValue] = []
        for sheet in sheets:
            table = self.tables.find(sheet)
            found_units, found_dates, issues = read_meta(sheet, table.first_header_row if table else None, self.ref)
            units += found_units
            dates += found_dates
            out.issues += issues
            reading = self.tables.read(sheet, table) if table else self.tables.read_loose_figures(sheet, 0)
            out.cells += reading.cells
            out.headers += reading.headers
            out.unmapped += reading.unmapped
        out.issues += self.unmapped_issues(out.headers, out.unmapped)
        self._read_file_name(file_name, units, dates)
        out.unit_code, out.unit_source = self._one_value("unit", units, out)
        out.as_of_date, out.date_source = self._one_value("date", dates, out)
        return out

    # -- sender and date ------------------------------------------------------------------------------
    def _read_file_name(self, file_name: str, units: list[MetaValue], dates: list[MetaValue]) -> None:
        # Read even when the sheet says it too: a file name that disagrees with the sheet is a rejection.
        stem = Path(file_name).stem
        unit = self.ref.find_unit(stem)
        if unit:
            units.append(MetaValue(unit.code, stem, FILE_NAME_SOURCE))
        day = parse_date(stem, self.ref.campaign.start_date, self.ref.campaign.end_date)
        if day:
            dates.append(MetaValue(day, stem, FILE_NAME_SOURCE))

    def _one_value(self, what: str, found: list[MetaValue], out: ParsedSubmission) -> tuple[object, str | None]:
        """One value from all sources, or an issue: sources that disagree are a rejection, never a guess."""
        values = {v.meaning for v in found}
        if len(values) == 1:
            return found[0].meaning, found[0].where  # the first source read: the sheet before the file name
        if len(values) > 1:
            # each language names the file name in its own words; a sheet source (统计表!A2) reads the same in both
            listing_zh = "；".join(f"{'文件名' if v.where == FILE_NAME_SOURCE else v.where} “{v.raw}”" for v in found)
            listing_en = "; ".join(f"{'file name' if v.where == FILE_NAME_SOURCE else v.where} “{v.raw}”"
                                   for v in found)
            in_sheet = next((v for v in found if "!" in v.where), None)
            sheet, _, cell = in_sheet.where.partition("!") if in_sheet else (None, None, None)
            out.issues.append(problem(
                "conflicting-unit" if what == "unit" else "conflicting-date", sheet=sheet, cell=cell or None,
                raw_text=in_sheet.raw if in_sheet else listing_en, listing_zh=listing_zh, listing_en=listing_en))
        return None, None

    # -- what was not read --------------------------------------------------------------------------
    def unmapped_issues(self, headers: list[HeaderReading], unmapped: list[UnmappedCell]) -> list[Problem]:
        """A warning for each header whose figures were not loaded (with why and what it could be), for each item
        word counted as 其他物资, and for figures in columns or sheets without a header."""
        issues = []
        for h in headers:
            if h.how == UNMAPPED and h.cells:
                issues.append(self._unmapped_header(h))
            elif h.how != UNMAPPED and h.rule in ("several item words", "unknown item under a goods group"):
                issues.append(problem("unknown-item", sheet=h.sheet, cell=h.cell, raw_text=h.header, header=h.header))
        for (sheet, reason), cells in Counter((u.sheet, u.reason) for u in unmapped
                                              if u.reason in (NO_HEADER, NO_TABLE)).items():
            first = next(u for u in unmapped if u.sheet == sheet and u.reason == reason)
            issues.append(problem("no-header-figures" if reason == NO_HEADER else "no-table-figures", sheet=sheet,
                                  cell=first.cell, raw_text=first.raw_text, sheet_name=sheet, cells=cells))
        return issues

    def _unmapped_header(self, h: HeaderReading) -> Problem:
        """A header with figures under it (h.cells > 0) that maps to nothing: why, and what it could be."""
        reason = h.rule if h.rule in HEADER_REASONS else UNKNOWN
        return problem(f"{reason}-header", sheet=h.sheet, cell=h.cell, raw_text=h.header, header=h.header,
                       cells=h.cells, candidates_zh="、".join(self.names.get(c, c) for c in h.candidates),
                       candidates_en=", ".join(h.candidates), detail_zh=h.detail_zh, detail_en=h.detail)
