"""Figures as Chinese official writing has them: 2.4万余户, 约418.5万元, 5584余件, 若干份.

Rules (the bulletin never shows more than was reported, nor a rounded figure as exact):
- digits are only ever cut (舍), never rounded up (入): 24684 is never 2.5万;
- a figure cut below what was reported, or reported as "at least", gets 余 after the number (and scale);
- an approximate figure gets 约 before the number, and no 余;
- money (元) of 1万 or more is written in 万元 (亿元 from 1亿); other counts in full digits up to 10万;
- headline figures are rounded further, as press releases write them: 0.1万 above 1万, two significant
  digits below (5584 → 5500余), money to 0.1万元;
- 若干 (unspecified) is a word, never a number.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from transforms.figures import APPROX, AT_LEAST, EXACT, UNSPECIFIED

MONEY = "元"
WAN = Decimal(10_000)
YI = Decimal(100_000_000)
CENT = Decimal("0.01")


def official_number(value: float | int | Decimal | None, qualifier: str, unit: str, *, headline: bool = False) -> str:
    """The figure as printed, unit word included: (24684, 'exact', '户', headline=True) -> '2.4万余户'."""
    if qualifier == UNSPECIFIED:
        return f"若干{unit}"
    if qualifier not in (EXACT, AT_LEAST, APPROX) or value is None:
        raise ValueError(f"no figure to write: value {value!r}, qualifier {qualifier!r}")
    # Sums of doubles carry noise (12000.000000000002): settle on the cent first, then cut.
    amount = Decimal(repr(float(value))).quantize(CENT, ROUND_HALF_EVEN)
    if amount < 0:
        raise ValueError(f"a figure cannot be negative: {value!r}")
    scale_word, scale, step = _scale(amount, unit, headline)
    shown = (amount / step).to_integral_value(ROUND_FLOOR) * step
    number = _digits(shown / scale)
    if qualifier == APPROX:
        return f"约{number}{scale_word}{unit}"
    if qualifier == AT_LEAST or shown != amount:
        return f"{number}{scale_word}余{unit}"
    return f"{number}{scale_word}{unit}"


def _scale(amount: Decimal, unit: str, headline: bool) -> tuple[str, Decimal, Decimal]:
    """(scale word, scale, step the figure is cut to) for this amount."""
    if unit == MONEY:
        if amount >= YI:
            return "亿", YI, YI / (10 if headline else 100)
        if amount >= WAN:
            return "万", WAN, WAN / (10 if headline else 100)
        return "", Decimal(1), Decimal(1) if headline else CENT
    if headline:
        if amount >= YI:
            return "亿", YI, YI / 10
        if amount >= WAN:
            return "万", WAN, WAN / 10
        digits = len(str(int(amount)))
        return "", Decimal(1), Decimal(10) ** max(digits - 2, 0)
    if amount >= YI:
        return "亿", YI, YI / 100
    if amount >= 10 * WAN:
        return "万", WAN, WAN / 100
    return "", Decimal(1), Decimal(1)


def _digits(number: Decimal) -> str:
    """418.50 -> '418.5', 48.00 -> '48', 2E+1 -> '20': no exponent, no trailing zeros, no separators."""
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
