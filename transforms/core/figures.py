"""Figures as officials write them: parse a cell into a value and a qualifier, and sum figures."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable

from transforms.core.problems import ProblemFound, problem

EXACT, AT_LEAST, APPROX, UNSPECIFIED = "exact", "at_least", "approx", "unspecified"
QUALIFIERS = (EXACT, AT_LEAST, APPROX, UNSPECIFIED)

# Cells that mean "no figure here", which is not the same as 0.
NO_FIGURE = {"", "-", "--", "—", "——", "–", "―", "/", "无", "空", "n/a", "na"}

_APPROX_PREFIX = ("大约", "接近", "约", "近")
_APPROX_SUFFIX = ("左右", "上下")
_AT_LEAST_SUFFIX = ("以上", "余", "多")
_MULTIPLIER = {"万": Decimal(10_000), "亿": Decimal(100_000_000), "千": Decimal(1_000), "百": Decimal(100)}
_ARABIC = re.compile(r"^(\d+(?:\.\d+)?)(亿|万|千|百)?$")
_ARABIC_WAN_YI = re.compile(r"^(\d+(?:\.\d+)?)亿(\d+(?:\.\d+)?)万$")
_CHINESE_NUMERAL = re.compile(r"^[零〇一二两三四五六七八九十百千万亿点壹贰叁肆伍陆柒捌玖拾佰仟]+$")
_UNIT_WORDS = ("人次", "车次", "户", "人", "元", "件", "次", "床", "套", "份", "个", "袋", "桶", "张", "双", "辆", "名")


@dataclass(frozen=True)
class Figure:
    """A parsed figure: value is None only when the qualifier is unspecified."""

    value: Decimal | None
    qualifier: str


@functools.lru_cache(maxsize=1 << 16)  # the same few hundred labels and headers come in every file
def normalise_text(text: str) -> str:
    """Full-width to half-width, no spaces, separators or Excel's leading apostrophe."""
    s = unicodedata.normalize("NFKC", text).strip().lstrip("'")
    return re.sub(r"[\s,，]", "", s)


def parse_figure(cell: object, scale: Decimal | int = 1) -> Figure | None:
    """Parse one cell: None for no figure, a Figure otherwise; raises ProblemFound for text that is not one.

    `scale` is the multiplier the column header carries (10000 for 金额（万元）).
    """
    scale = Decimal(scale)
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ProblemFound(problem("not-a-number", text=str(cell)))
    if isinstance(cell, (int, float, Decimal)):
        if isinstance(cell, float) and cell != cell:  # NaN from a reader means an empty cell
            return None
        return Figure(_exact_decimal(cell) * scale, EXACT)
    text = normalise_text(str(cell))
    if text.lower() in NO_FIGURE:
        return None
    if text == "若干":
        return Figure(None, UNSPECIFIED)

    qualifier, body = EXACT, text
    for prefix in _APPROX_PREFIX:
        if body.startswith(prefix):
            qualifier, body = APPROX, body[len(prefix):]
            break
    for suffix in _APPROX_SUFFIX + _AT_LEAST_SUFFIX:
        if body.endswith(suffix) and len(body) > len(suffix):
            if qualifier == EXACT:
                qualifier = AT_LEAST if suffix in _AT_LEAST_SUFFIX else APPROX
            body = body[: -len(suffix)]
            break
    negative = body.startswith("-")
    value = _number(body.lstrip("-"), original=str(cell))
    if negative:
        value = -value
    return Figure(value * scale, qualifier)


def _exact_decimal(number: int | float | Decimal) -> Decimal:
    # A float such as 370.5 from a workbook must not turn into 370.49999…
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def _number(body: str, original: str) -> Decimal:
    match = _ARABIC.match(body)
    if match:
        return Decimal(match.group(1)) * _MULTIPLIER.get(match.group(2) or "", Decimal(1))
    match = _ARABIC_WAN_YI.match(body)
    if match:
        return Decimal(match.group(1)) * _MULTIPLIER["亿"] + Decimal(match.group(2)) * _MULTIPLIER["万"]
    if _CHINESE_NUMERAL.match(body):
        import cn2an  # slow to import: only for a figure written in Chinese numerals, never for `warmline --help`

        try:
            return Decimal(str(cn2an.cn2an(body, "smart")))
        except (ValueError, KeyError, IndexError, InvalidOperation):
            pass
    for unit in _UNIT_WORDS:
        if body.endswith(unit) and len(body) > len(unit):
            try:
                _number(body[: -len(unit)], original)
            except ProblemFound:
                break
            raise ProblemFound(problem("unit-in-cell", unit=unit))
    raise ProblemFound(problem("not-a-number", text=original))


def combine_qualifiers(qualifiers: Iterable[str]) -> str:
    """Qualifier of a sum: approx if any part is, else at_least if any part is, else exact."""
    seen = set(qualifiers) - {UNSPECIFIED}
    if not seen:
        return UNSPECIFIED
    if APPROX in seen:
        return APPROX
    if AT_LEAST in seen:
        return AT_LEAST
    return EXACT


@dataclass(frozen=True)
class FigureSum:
    """A sum of figures: unspecified parts are left out of the value and counted."""

    value: Decimal | None
    qualifier: str
    parts_unspecified: int


def sum_figures(figures: Iterable[Figure]) -> FigureSum:
    """Add figures: the value of the parts with a number, the qualifier by sum_qualifier's rule."""
    figures = list(figures)
    known = [f for f in figures if f.qualifier != UNSPECIFIED]
    unspecified = len(figures) - len(known)
    if not known:
        return FigureSum(None, UNSPECIFIED, unspecified)
    total = sum((f.value for f in known), Decimal(0))
    return FigureSum(total, combine_qualifiers(f.qualifier for f in known), unspecified)
