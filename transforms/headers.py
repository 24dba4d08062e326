"""Recognise column headers against the indicator catalogue: which indicator, which item type, which scale."""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass
from decimal import Decimal

from transforms.figures import normalise_text
from transforms.reference import Reference

ITEMS_ISSUED = "items_issued"

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "（": "(", "）": ")"})
_UNIT_IN_BRACKETS = re.compile(r"^(?P<name>.*?)\((?P<unit>[^()]*)\)$")
_SCALE_PREFIX = {"万": Decimal(10_000), "千": Decimal(1_000), "亿": Decimal(100_000_000), "百": Decimal(100)}
UNIT_WORDS = ("人次", "车次", "户", "人", "元", "件", "次", "床", "套", "份", "个", "袋", "桶", "张", "双", "辆", "名", "所", "家")


@dataclass(frozen=True)
class HeaderMatch:
    """What a column holds: an indicator, for items_issued maybe an item type, and the header's multiplier."""

    indicator: str
    item_type: str | None
    scale: Decimal
    unit: str | None


@functools.lru_cache(maxsize=1 << 14)
def split_header(text: str) -> tuple[str, str | None]:
    """'金额（万元）' -> ('金额', '万元'); spaces, line breaks and bracket styles do not matter."""
    s = normalise_text(str(text)).translate(_BRACKETS)
    match = _UNIT_IN_BRACKETS.match(s)
    if match and match.group("name"):
        return match.group("name"), match.group("unit") or None
    return s, None


def unit_scale(unit: str | None) -> Decimal:
    """10000 for 万元 or 万人, 1 for 元 or 户; a unit is a multiplier only when a unit word follows it."""
    if unit and len(unit) > 1 and unit[0] in _SCALE_PREFIX and unit[1:] in UNIT_WORDS:
        return _SCALE_PREFIX[unit[0]]
    return Decimal(1)


class HeaderCatalogue:
    """Lookup from a normalised header name to an indicator (and item type), built from the reference data."""

    def __init__(self, ref: Reference):
        self._indicator: dict[str, str] = {}
        for ind in ref.indicators:
            for alias in (ind.code, ind.name_zh, *ind.aliases):
                self._indicator.setdefault(split_header(alias)[0], ind.code)
        self._item_type: dict[str, str] = {}
        for item in ref.item_types:
            for alias in (item.name, *item.aliases):
                self._item_type.setdefault(split_header(alias)[0], item.name)

    def match(self, *parts: str | None) -> HeaderMatch | None:
        """Match a header given as its rows from top to bottom (a group header over a column header)."""
        texts = [str(p) for p in parts if p is not None and normalise_text(str(p))]
        if not texts:
            return None
        name, unit = split_header(texts[-1])
        candidates = [name]
        if len(texts) > 1:
            candidates.append(split_header("".join(texts[:-1]))[0] + name)
        for candidate in candidates:
            if candidate in self._indicator:
                return HeaderMatch(self._indicator[candidate], None, unit_scale(unit), unit)
        for candidate in candidates:
            if candidate in self._item_type:
                return HeaderMatch(ITEMS_ISSUED, self._item_type[candidate], unit_scale(unit), unit)
        return None
