"""chart.png: the city-wide headline figures by day, and each unit's figures as bars, labelled in Chinese.

Chinese labels need a font that has the glyphs; without one matplotlib draws empty boxes and only warns.
The chart picks a CJK font by family name, and refuses to save a chart in which any glyph is missing.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure

from transforms.bulletin.data import BulletinData, BulletinError, CityFigure
from transforms.bulletin.official_numbers import official_number
from transforms.bulletin.text import Wording, month_day
from transforms.core.reference import HeadlineNumbers
from transforms.day.gate import DRAFT_MARK

# Simplified Chinese first; the first installed one is used. Debian: fonts-noto-cjk, fonts-wqy-zenhei.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
                "AR PL UMing CN")
FONT_PACKAGE = "fonts-noto-cjk"
MISSING_GLYPH = "missing from font"
COLORS = {"reported": "#c0392b", "carried_forward": "#e6a39a"}
SHORT_MARK = "*"  # a figure that may be short of cells that could not be read (the bulletin's notes say which)
SHORT_NOTE = "* 报表中有未能识别的数字，可能偏少（见通报注释） / may be short of figures that could not be read"


class ChartFontError(BulletinError):
    """No font with the chart's Chinese glyphs."""


def cjk_font_family() -> str:
    """The family name of an installed CJK font, or ChartFontError naming the Debian package to install."""
    found = _installed(CJK_FAMILIES)
    if found is None:
        # A font installed after matplotlib cached its font list is not in that list yet.
        known = {entry.fname for entry in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = _installed(CJK_FAMILIES)
    if found is None:
        raise ChartFontError(f"no Chinese font for the bulletin's chart (looked for {', '.join(CJK_FAMILIES[:3])}…); "
                             f"install the Debian package {FONT_PACKAGE}: apt-get install -y {FONT_PACKAGE}")
    return found


def _installed(families: tuple[str, ...]) -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in families if family in names), None)


def draw_chart(data: BulletinData, wording: Wording, font_family: str | None = None) -> Figure:
    """Top row: each headline figure by day; bottom row: each unit's figure as a bar, 未报送 where missing."""
    family = font_family or cjk_font_family()
    with rc_context({"font.family": family}):
        figure = Figure(figsize=(16, 10), dpi=100, layout="constrained")
        figure.suptitle(f"{data.campaign}（截至{data.day.year}年{month_day(data.day)}）", fontsize=16)
        axes = figure.subplots(2, len(data.headline), squeeze=False, gridspec_kw={"height_ratios": (1, 1.6)})
        phrases = {p.indicator: p for p in wording.ordered(data.indicators)}
        for column, city in enumerate(data.headline):
            unit_word = phrases[city.indicator].unit_word if city.indicator in phrases else city.unit
            scale, axis_unit = (10_000, "万元") if city.unit == "元" else (1, unit_word)
            _by_day(axes[0][column], data, city, unit_word, scale, f"全市{city.name_zh}（{axis_unit}）",
                    wording.headline_numbers)
            _by_unit(axes[1][column], data, city.indicator, unit_word, scale, f"各单位{city.name_zh}（{axis_unit}）",
                     with_names=column == 0)
        if any(data.short_of(None, city.indicator) for city in data.headline):
            figure.text(0.01, 0.005, SHORT_NOTE, fontsize=10, color="#a40e26", ha="left", va="bottom")
    return figure


def _by_day(ax, data: BulletinData, city: CityFigure, unit_word: str, scale: int, title: str,
            headline_numbers: HeadlineNumbers) -> None:
    """The city-wide figure on each day of the campaign so far, the latest labelled as the bulletin's headline
    writes it (by campaign.toml's `headline_numbers` rule)."""
    days = [row["as_of_date"] for row in data.history]
    points = [(i, row[city.indicator] / scale) for i, row in enumerate(data.history) if row[city.indicator] is not None]
    if points:
        ax.plot([x for x, _ in points], [y for _, y in points], marker="o", color=COLORS["reported"])
    step = math.ceil(len(days) / 4) or 1
    ticks = list(range(len(days) - 1, -1, -step))[::-1]  # the bulletin's day always has its label
    ax.set_xticks(ticks, [month_day(days[i]) for i in ticks])
    ax.set_xlim(-0.5, max(len(days) - 0.5, 0.5))
    top = max([y for _, y in points] + [1])
    ax.set_ylim(0, top * 1.2)
    ax.set_title(title)
    if city.qualifier is not None:
        mark = SHORT_MARK if data.short_of(None, city.indicator) else ""
        ax.annotate(official_number(city.value, city.qualifier, unit_word, headline=True, rule=headline_numbers) + mark,
                    (len(days) - 1, (city.value or 0) / scale), textcoords="offset points", xytext=(-6, 6), ha="right")


def _by_unit(ax, data: BulletinData, indicator: str, unit_word: str, scale: int, title: str, with_names: bool) -> None:
    """One bar per unit, labelled as its paragraph writes it; 未报送 for a unit that never reported."""
    units = data.units
    for row, unit in enumerate(units):
        fig = next((f for f in unit.figures if f.indicator == indicator and f.item_type is None), None)
        if unit.status == "missing":
            label, value = "未报送", 0.0
        elif fig is None or fig.value is None:
            label, value = ("—" if fig is None else official_number(None, fig.qualifier, unit_word)), 0.0
        else:
            label, value = official_number(fig.value, fig.qualifier, unit_word), fig.value / scale
        if unit.status != "missing" and data.short_of(unit.code, indicator):
            label += SHORT_MARK
        ax.barh(row, value, color=COLORS.get(unit.status, "#cccccc"))
        ax.annotate(label, (value, row), textcoords="offset points", xytext=(3, 0), va="center", fontsize=9,
                    color="#666666" if value == 0 else "#000000")
    names = [u.name if u.status != "carried_forward" else f"{u.name}（截至{month_day(u.report_date)}）" for u in units]
    ax.set_yticks(range(len(units)), names if with_names else [""] * len(units))
    ax.invert_yaxis()
    ax.set_xlim(0, max([bar.get_width() for bar in ax.patches] + [1]) * 1.45)
    ax.set_title(title)


def write_chart(data: BulletinData, wording: Wording, path: Path, font_family: str | None = None,
                draft: bool = False) -> None:
    """Save the chart as PNG; ChartFontError if any character would be drawn as an empty box. A draft's chart
    says 草稿（未发布） above its title, in red, so a copy of the picture alone cannot pass for the release."""
    family = font_family or cjk_font_family()
    figure = draw_chart(data, wording, family)
    if draft:
        figure.text(0.01, 0.995, DRAFT_MARK, color="#c00000", fontsize=20, fontweight="bold", va="top",
                    family=family)
    with warnings.catch_warnings(record=True) as caught, rc_context({"font.family": family}):
        warnings.simplefilter("always")
        # No Software/date metadata: the same warehouse gives the same bytes.
        figure.savefig(path, format="png", metadata={"Software": None})
    missing = sorted({str(w.message) for w in caught if MISSING_GLYPH in str(w.message)})
    for w in caught:
        if MISSING_GLYPH not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        path.unlink(missing_ok=True)
        raise ChartFontError(f"the chart's font lacks Chinese glyphs ({missing[0]}); install the Debian package "
                             f"{FONT_PACKAGE}: apt-get install -y {FONT_PACKAGE}")
