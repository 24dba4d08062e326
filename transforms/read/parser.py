"""Turn the sheets of one submitted file into its sender, its as-of date and every figure cell it holds, with
every header's reading and every figure cell that could not be loaded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from transforms.core.reference import Reference
from transforms.read.headers import (AMBIGUOUS, BREAKDOWN, CONTRADICTORY, EXCLUDED, UNFAMILIAR, WEAK,
                               HeaderCatalogue)
from transforms.read.meta_lines import MetaValue, parse_date, read_meta
from transforms.read.parsed import (ERROR, PART, SUBTOTAL, TOTAL, UNMAPPED, WARNING, CellFigure, HeaderReading, Issue,
                               ParsedSubmission, UnmappedCell)
from transforms.read.tables import NO_HEADER, NO_TABLE, TableReader
from transforms.read.workbook import Sheet

FILE_NAME_SOURCE = "文件名 file name"  # where a unit or date read from the file's name was found

__all__ = ["ERROR", "WARNING", "PART", "TOTAL", "SUBTOTAL", "CellFigure", "Issue", "ParsedSubmission",
           "HeaderReading", "UnmappedCell", "SubmissionParser", "parse_date"]


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
        out.unit_code, out.unit_source = self._settle("unit", units, out)
        out.as_of_date, out.date_source = self._settle("date", dates, out)
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

    def _settle(self, what: str, found: list[MetaValue], out: ParsedSubmission) -> tuple[object, str | None]:
        """One value from all sources, or an issue: sources that disagree are a rejection, never a guess."""
        values = {v.meaning for v in found}
        if len(values) == 1:
            return found[0].meaning, found[0].where  # the first source read: the sheet before the file name
        if len(values) > 1:
            # each language names the file name in its own words; a sheet source (统计表!A2) reads the same in both
            listing_zh = "；".join(f"{'文件名' if v.where == FILE_NAME_SOURCE else v.where} “{v.raw}”" for v in found)
            listing_en = "; ".join(f"{'file name' if v.where == FILE_NAME_SOURCE else v.where} “{v.raw}”"
                                   for v in found)
            zh_what, en_what = ("填报单位", "reporting unit") if what == "unit" else ("统计截止日期", "as-of date")
            in_sheet = next((v for v in found if "!" in v.where), None)
            sheet, _, cell = in_sheet.where.partition("!") if in_sheet else (None, None, None)
            out.issues.append(Issue(
                f"conflicting-{what}", ERROR,
                f"{zh_what}前后不一致（{listing_zh}），请统一为同一{zh_what}",
                f"the file gives different {en_what}s ({listing_en}) — make them agree",
                sheet, cell or None, in_sheet.raw if in_sheet else listing_en))
        return None, None

    # -- what was not read --------------------------------------------------------------------------
    def unmapped_issues(self, headers: list[HeaderReading], unmapped: list[UnmappedCell]) -> list[Issue]:
        """A warning for each header whose figures were not loaded (with why and what it could be), for each item
        word counted as 其他物资, and for figures in columns or sheets without a header."""
        issues = []
        for h in headers:
            if h.how == UNMAPPED and h.cells:
                issues.append(self._unmapped_header(h))
            elif h.how != UNMAPPED and h.rule in ("several item words", "unknown item under a goods group"):
                issues.append(Issue(
                    "unknown-item", WARNING,
                    f"表头“{h.header}”的物资种类未在目录中，已按“其他物资”计入发放物资合计；如属已知种类请在物资目录中添加",
                    f"the goods '{h.header}' are not a known item type: counted into items issued as 其他物资 — "
                    "add the word to item_types.csv if it is a known type", h.sheet, h.cell, h.header))
        for (sheet, reason), cells in Counter((u.sheet, u.reason) for u in unmapped
                                              if u.reason in (NO_HEADER, NO_TABLE)).items():
            first = next(u for u in unmapped if u.sheet == sheet and u.reason == reason)
            where = "没有表头的列" if reason == NO_HEADER else "未识别出统计表的工作表"
            issues.append(Issue(
                f"{reason}-figures", WARNING,
                f"工作表“{sheet}”中有 {cells} 个数字位于{where}，未导入；请为这些数字所在的列填写指标名称",
                f"{cells} figure(s) on sheet '{sheet}' are in {'a column without a header' if reason == NO_HEADER else 'no recognised table'} "
                "and were not loaded — give their column an indicator's name", sheet, first.cell, first.raw_text))
        return issues

    def _unmapped_header(self, h: HeaderReading) -> Issue:
        names = "、".join(self.names.get(c, c) for c in h.candidates)
        said = {
            AMBIGUOUS: (f"可能是{names}，无法确定是哪一项",
                        f"it could be {', '.join(h.candidates)}: which one cannot be told"),
            CONTRADICTORY: (f"计量单位与指标含义不符（{h.detail_zh}）",
                            f"its measure disagrees with its words ({h.detail})"),
            WEAK: (f"只能看出可能是{names}，但没有计量单位，无法确认",
                   f"it may be {', '.join(h.candidates)}, but without a measure that is too weak to decide"),
            UNFAMILIAR: (h.detail_zh, f"{h.detail}: a statistician accepts it once with `warmline headers accept`"),
            EXCLUDED: (f"不计入统计（{h.detail_zh}）", f"it is not a figure of this count ({h.detail})"),
            BREAKDOWN: ("是“其中”分项，已包含在其他数字中，不重复计入",
                        "it is a breakdown (其中) of another figure, which already counts it"),
        }
        zh, en = said.get(h.rule, ("不是已知指标", "it matches no indicator"))
        fix_zh = "；如需导入，请使用标准表头并注明计量单位（如“走访慰问户数（户）”）" if h.rule != BREAKDOWN else ""
        fix_en = " — use a standard header with its measure (e.g. 走访慰问户数（户）) to have it loaded" \
            if h.rule != BREAKDOWN else ""
        return Issue(
            f"{h.rule if h.rule in said else 'unknown'}-header",
            WARNING,
            f"表头“{h.header}”{zh}，该{'列' if h.cells else '行'}{h.cells}个数字未导入{fix_zh}",
            f"the header '{h.header}' was not loaded ({h.cells} figure(s)): {en}{fix_en}",
            h.sheet, h.cell, h.header)
