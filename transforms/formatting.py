"""Figures for people: thousands separators and the qualifier in words."""

from __future__ import annotations

from transforms.figures import APPROX, AT_LEAST, UNSPECIFIED


def plain_number(value: float | int) -> str:
    """24684.0 -> '24,684'; 370.5 -> '370.5'."""
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
