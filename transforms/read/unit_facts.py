"""Roll the figure cells of one submission up to the unit's figures, one per indicator (and item type)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from transforms.core.display import plain_number
from transforms.core.figures import APPROX, AT_LEAST, EXACT, UNSPECIFIED, combine_qualifiers
from transforms.core.problems import Problem, problem
from transforms.read.headers import ITEMS_ISSUED
from transforms.read.parser import PART, TOTAL, CellFigure


@dataclass(frozen=True)
class UnitFact:
    """The unit's figure for one indicator (item_type None: all types), with the cells it came from."""

    indicator: str
    item_type: str | None
    value: Decimal | None
    qualifier: str
    parts_unspecified: int
    source_cells: tuple[str, ...]
    raw_text: str


@dataclass(frozen=True)
class _Amount:
    """A figure or a sum of figures, remembering its cells; unspecified parts are counted, not added."""

    value: Decimal | None
    qualifier: str
    unspecified: int
    cells: tuple[str, ...]
    raw: str

    @classmethod
    def of(cls, c: CellFigure) -> "_Amount":
        unspecified = c.figure.qualifier == UNSPECIFIED
        return cls(c.figure.value, c.figure.qualifier, int(unspecified), (f"{c.sheet}!{c.cell}",), c.raw_text)


def _sum(amounts: list[_Amount]) -> _Amount:
    if len(amounts) == 1:
        return amounts[0]
    known = [a for a in amounts if a.value is not None]
    value = sum((a.value for a in known), Decimal(0)) if known else None
    return _Amount(value, combine_qualifiers(a.qualifier for a in amounts), sum(a.unspecified for a in amounts),
                   tuple(c for a in amounts for c in a.cells), " + ".join(a.raw for a in amounts))


def _row_items_all_types(row: list[CellFigure]) -> list[_Amount]:
    """A row's all-types items: its own 物资合计 cell(s) if filled, else its typed cells (棉被, 棉衣…)."""
    explicit = [c for c in row if c.indicator == ITEMS_ISSUED and c.item_type is None]
    typed = [c for c in row if c.indicator == ITEMS_ISSUED and c.item_type is not None]
    return [_Amount.of(c) for c in (explicit or typed)]


SUMMARY_SHEET_WORDS = ("汇总", "合计", "总表", "总计")


@cache
def _shipped_names_zh() -> dict[str, str]:
    from transforms.core.layout import SHIPPED_REFERENCE
    from transforms.core.reference import load_reference

    return {i.code: i.name_zh for i in load_reference(SHIPPED_REFERENCE).indicators}


def unit_facts(cells: list[CellFigure], names_zh: Mapping[str, str] | None = None) -> tuple[list[UnitFact],
                                                                                             list[Problem]]:
    """Figures per (indicator, item_type): the total row's figure where there is one, else the sum of the rows.

    A 小计 (subtotal) row is never added. Sheets combine the same way: a summary sheet (汇总) is the total of
    the others, and sheets without one add up (a sheet per town). Returns the facts and the issues found
    on the way (a total that disagrees with its parts). Cells with a parse problem are left to validation.
    `names_zh` (indicator code → 中文名, from the reference) names indicators in the clerk's messages; the
    shipped catalogue's names when not given.
    """
    names_zh = _shipped_names_zh() if names_zh is None else names_zh
    by_sheet: dict[str, list[CellFigure]] = defaultdict(list)
    for c in cells:
        if c.figure is not None and c.problem is None:
            by_sheet[c.sheet].append(c)
    issues: list[Problem] = []
    across: dict[tuple[str, str | None], dict[str, list[_Amount]]] = defaultdict(lambda: defaultdict(list))
    for sheet, sheet_cells in by_sheet.items():
        role = TOTAL if any(w in sheet for w in SUMMARY_SHEET_WORDS) else PART
        for key, amount in _sheet_amounts(sheet_cells, issues, names_zh).items():
            across[key][role].append(amount)
    facts = []
    for (indicator, item_type), roles in across.items():
        chosen = _choose_total(indicator, item_type, roles, issues, names_zh)
        facts.append(UnitFact(indicator, item_type, chosen.value, chosen.qualifier, chosen.unspecified,
                              chosen.cells, chosen.raw))
    facts.sort(key=lambda f: (f.indicator, f.item_type or ""))
    return facts, issues


def _sheet_amounts(cells: list[CellFigure], issues: list[Problem],
                   names_zh: Mapping[str, str]) -> dict[tuple[str, str | None], _Amount]:
    """One sheet's figure per (indicator, item_type), from its total row or its part rows."""
    rows: dict[int, list[CellFigure]] = defaultdict(list)
    for c in cells:
        rows[c.record_key].append(c)
    by_key: dict[tuple[str, str | None], dict[str, list[_Amount]]] = defaultdict(lambda: defaultdict(list))
    for row in rows.values():
        role = row[0].row_role
        for c in row:
            if not (c.indicator == ITEMS_ISSUED and c.item_type is None):
                by_key[(c.indicator, c.item_type)][role].append(_Amount.of(c))
        items = _row_items_all_types(row)
        if items:
            by_key[(ITEMS_ISSUED, None)][role].append(_sum(items))
    amounts = {}
    for (indicator, item_type), roles in by_key.items():
        if roles.get(PART) or roles.get(TOTAL):  # only subtotal rows: adding them would double count
            amounts[(indicator, item_type)] = _choose_total(indicator, item_type, roles, issues, names_zh)
    return amounts


def _choose_total(indicator: str, item_type: str | None, roles: dict[str, list[_Amount]],
                  issues: list[Problem], names_zh: Mapping[str, str]) -> _Amount:
    """The total where there is one (checked against the parts), else the sum of the parts."""
    parts, totals = roles.get(PART, []), roles.get(TOTAL, [])
    chosen = _sum(totals or parts)
    if totals and parts:
        issues.extend(_check_total(indicator, item_type, chosen, _sum(parts), names_zh))
    return chosen


def _disagree(total: _Amount, parts: _Amount) -> bool:
    t, p = total, parts
    if t.value is None or p.value is None or APPROX in (t.qualifier, p.qualifier):
        return False
    if t.qualifier == EXACT and p.qualifier == EXACT:
        return t.value != p.value
    if t.qualifier == EXACT and p.qualifier == AT_LEAST:
        return p.value > t.value
    if t.qualifier == AT_LEAST and p.qualifier == EXACT:
        return p.value < t.value
    return False


def _check_total(indicator: str, item_type: str | None, total: _Amount, parts: _Amount,
                 names_zh: Mapping[str, str]) -> list[Problem]:
    if not _disagree(total, parts):
        return []
    # the clerk knows an indicator by its Chinese name and goods by their type (棉被); the code is for the statistician
    what_zh = item_type or names_zh.get(indicator, indicator)
    what_en = indicator + (f" ({item_type})" if item_type else "")
    sheet, _, cell = total.cells[0].partition("!")
    return [problem("total-mismatch", sheet=sheet, cell=cell, raw_text=total.raw, what_zh=what_zh, what_en=what_en,
                    total=plain_number(total.value), parts=plain_number(parts.value))]
