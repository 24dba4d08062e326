"""Figures as Chinese official writing has them: 2.4万余户, 约418.5万元, 5584余件, 若干份.

Rules (the bulletin never shows more than was reported, nor a rounded figure as exact):
- digits are only ever cut (舍), never rounded up (入): 24684 is never 2.5万;
- a figure cut below what was reported, or reported as "at least", gets 余 after the number (and scale);
- an approximate figure gets 约 before the number, and no 余;
- money (元) of 1万 or more is written in 万元 (亿元 from 1亿); other counts in full digits up to 10万;
- 若干 (unspecified) is a word, never a number.

Headline figures (the city-wide sentence and the chart) are written as the press office writes them, by the rule
in campaign.toml's [bulletin.headline_numbers] (reference.HeadlineNumbers; shipped values in brackets):
- a count below keep_digits_below (10000) keeps every reported digit: 105件（套）, 1130户, 1130余户, 约1130户, 9999户;
- a count from keep_digits_below up to 1万 keeps leading_digits_below_wan (2) leading digits: with
  keep_digits_below = 1000, 1130户 → 1100余户;
- a count of 1万 or more is written in 万, cut to large_step_wan (0.1万): 10000 → 1万, 12345 → 1.2万余,
  24684 → 2.4万余; from 1亿 in 亿, cut to 0.1亿;
- money below money_keep_yuan_below (10000元) is cut to the whole yuan: 8500元, 5584.5元 → 5584余元 (cents
  cut, so 余); from there up to 1万元 it keeps leading_digits_below_wan leading digits;
- money of 1万元 or more is written in 万元, cut to money_step_wan (0.1万): 4185000.5元 → 418.5万余元; from
  1亿元 in 亿元, cut to 0.1亿.
The same cutting, 余 and 约 rules as above apply: a headline figure is only ever cut, never rounded up.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from transforms.core.figures import APPROX, AT_LEAST, EXACT, UNSPECIFIED
from transforms.core.reference import HeadlineNumbers

MONEY = "元"
WAN = Decimal(10_000)
YI = Decimal(100_000_000)
CENT = Decimal("0.01")


def official_number(value: float | int | Decimal | None, qualifier: str, unit: str, *, headline: bool = False,
                    rule: HeadlineNumbers = HeadlineNumbers()) -> str:
    """The figure as printed, unit word included: (24684, 'exact', '户', headline=True) -> '2.4万余户'.
    `rule` (campaign.toml's [bulletin.headline_numbers]) says how a headline figure is cut; it has no effect
    without headline=True."""
    if qualifier == UNSPECIFIED:
        return f"若干{unit}"
    if qualifier not in (EXACT, AT_LEAST, APPROX) or value is None:
        raise ValueError(f"no figure to write: value {value!r}, qualifier {qualifier!r}")
    # Sums of doubles carry noise (12000.000000000002): settle on the cent first, then cut.
    amount = Decimal(repr(float(value))).quantize(CENT, ROUND_HALF_EVEN)
    if amount < 0:
        raise ValueError(f"a figure cannot be negative: {value!r}")
    scale_word, scale, step = _headline_scale(amount, unit, rule) if headline else _scale(amount, unit)
    shown = (amount / step).to_integral_value(ROUND_FLOOR) * step
    number = _digits(shown / scale)
    if qualifier == APPROX:
        return f"约{number}{scale_word}{unit}"
    if qualifier == AT_LEAST or shown != amount:
        return f"{number}{scale_word}余{unit}"
    return f"{number}{scale_word}{unit}"


def _headline_scale(amount: Decimal, unit: str, rule: HeadlineNumbers) -> tuple[str, Decimal, Decimal]:
    """(scale word, scale, step the figure is cut to) for a headline figure, by the press office's rule."""
    money = unit == MONEY
    if amount >= YI:
        return "亿", YI, YI / 10
    if amount < (rule.money_keep_yuan_below if money else rule.keep_digits_below):
        # As reported, to the whole unit (a headline's money to the whole yuan: cents are not news). The thresholds
        # stop where 万 begins (10万 for counts, 1万元 for money), so no scale word is due here.
        return "", Decimal(1), Decimal(1)
    if amount >= WAN:
        return "万", WAN, WAN * (rule.money_step_wan if money else rule.large_step_wan)
    digits = len(str(int(amount)))
    return "", Decimal(1), Decimal(10) ** max(digits - rule.leading_digits_below_wan, 0)


def _scale(amount: Decimal, unit: str) -> tuple[str, Decimal, Decimal]:
    """(scale word, scale, step the figure is cut to) for this amount, as a unit's paragraph writes it."""
    if unit == MONEY:
        if amount >= YI:
            return "亿", YI, YI / 100
        if amount >= WAN:
            return "万", WAN, WAN / 100
        return "", Decimal(1), CENT
    if amount >= YI:
        return "亿", YI, YI / 100
    if amount >= 10 * WAN:
        return "万", WAN, WAN / 100
    return "", Decimal(1), Decimal(1)


def _digits(number: Decimal) -> str:
    """418.50 -> '418.5', 48.00 -> '48', 2E+1 -> '20': no exponent, no trailing zeros, no separators."""
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
