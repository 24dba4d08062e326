"""Figures for people: thousands separators and the qualifier in words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from transforms.core.figures import APPROX, AT_LEAST, UNSPECIFIED


def plain_number(value: Decimal | float | int) -> str:
    """24684.0 -> '24,684'; 370.5 -> '370.5'; Decimal('418.50') -> '418.5'.

    A Decimal is a figure as read from a cell and keeps every digit it has (two figures a clerk is asked to
    compare must not round to the same text); a float is a computed figure, cut to two decimals."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return f"{int(value):,}"
        return f"{value.normalize():,f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def figure_text(value: float | None, qualifier: str | None, parts_unspecified: int = 0) -> str:
    """'24,684', 'about 4,185,000', 'at least 5,584 (+1 unspecified)', 'some (no number)', '—' for no figure."""
    if qualifier is None:
        return "—"
    if value is None or qualifier == UNSPECIFIED:
        return "some (no number)"
    text = plain_number(value)
    if qualifier == APPROX:
        text = f"about {text}"
    elif qualifier == AT_LEAST:
        text = f"at least {text}"
    if parts_unspecified:
        text += f" (+{parts_unspecified} unspecified)"
    return text


def local_time_text(local: dt.datetime | None, now: dt.date) -> str:
    """A campaign-time moment with its date: '12-20 16:42' in the year of `now` (campaign time), '2023-12-20 16:42'
    in any other, so that a file of last winter never passes for this one's; '—' for none."""
    if local is None:
        return "—"
    return f"{local:%m-%d %H:%M}" if local.year == now.year else f"{local:%Y-%m-%d %H:%M}"
