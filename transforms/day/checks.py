"""The statistician's checks of a day: completeness, falling cumulative figures, outliers, cross-field rules
and plausibility ratios. Which checks block publishing is set in campaign.toml; the rest warn.

Everything is read from the warehouse: the cross-field rules ran when each file was validated, and their findings
were recorded with it (raw.cross_field_findings), so checking a day never loads Great Expectations."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import statistics
from dataclasses import dataclass

import duckdb

from expectations import SUITES_DIR
from transforms.core.display import local_time_text, plain_number
from transforms.core.reference import CHECK_NAMES, Reference
from transforms.warehouse import rows, sql

MISSING, LATE, FALLS, OUTLIER, CROSS_FIELD, PLAUSIBILITY = CHECK_NAMES
MAD_TO_SIGMA = 0.6745  # the modified z-score of Iglewicz and Hoaglin, as DHIS2 uses it


@dataclass(frozen=True)
class CheckResult:
    """One finding: which check, about which unit and figure, what was expected, and whether it blocks."""

    check: str
    unit_code: str
    unit_name: str
    indicator: str | None
    found: str
    expected: str
    message_zh: str
    message_en: str
    blocking: bool = False
    accepted_reason: str | None = None  # an override in campaign.toml: looked at and accepted
    where: str | None = None  # file and cell(s) when the finding has a place

    @property
    def blocks(self) -> bool:
        return self.blocking and self.accepted_reason is None


def day_rows(con: duckdb.DuckDBPyConnection, name: str, day: dt.date) -> list[dict]:
    """The rows of query `name` for day `day` (warehouse.rows with $day)."""
    return rows(con, name, {"day": day})


def modified_z(value: float, history: list[float]) -> tuple[float | None, float, float]:
    """(modified z-score or None when MAD is 0, low, high): how far `value` is from the unit's own history."""
    median = statistics.median(history)
    mad = statistics.median(abs(h - median) for h in history)
    if mad == 0:
        return None, min(history), max(history)
    return MAD_TO_SIGMA * (value - median) / mad, median, mad


def suite_rules(name: str) -> list[str]:
    """The rules of the suite expectations/<name>.json, in its order (the order its findings are listed in)."""
    spec = json.loads((SUITES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return [e["meta"]["rule"] for e in spec["expectations"]]


class DayChecks:
    """Runs every check of day `day`."""

    def __init__(self, ref: Reference):
        self.ref = ref
        self.settings = ref.campaign.checks
        self._accepted = {(o.check, o.unit_code, o.day): o.reason for o in self.settings.overrides}
        self.indicators = {i.code: i for i in ref.indicators}

    def _result(self, check: str, day: dt.date, unit_code: str, unit_name: str, indicator: str | None,
                found: str, expected: str, zh: str, en: str, where: str | None = None,
                detail: str | None = None) -> CheckResult:
        accepted = self._accepted.get((detail or check, unit_code, day)) or self._accepted.get((check, unit_code, day))
        return CheckResult(check, unit_code, unit_name, indicator, found, expected, zh, en,
                           check in self.settings.blocking, accepted, where)

    def run(self, con: duckdb.DuckDBPyConnection, day: dt.date) -> list[CheckResult]:
        return self.completeness(con, day) + self.cumulative(con, day) + self.plausibility(con, day) + \
            self.cross_field(con, day)

    def completeness(self, con, day: dt.date) -> list[CheckResult]:
        out = []
        for r in day_rows(con, "check_completeness", day):
            name, received, deadline = r["unit_name"], r["received_local"], r["deadline_local"]
            if r["completeness"] == "missing":
                out.append(self._result(MISSING, day, r["unit_code"], name, None, "未报送 no report",
                                        "每日报送 a report every day",
                                        f"{name}尚未报送任何数据", f"{name} has not reported yet"))
            elif r["completeness"] == "late":
                out.append(self._result(
                    LATE, day, r["unit_code"], name, None, local_time_text(received, day),
                    f"{deadline:%m-%d %H:%M} 前 before",
                    f"{name}报送时间{received:%m月%d日%H:%M}，晚于截止时间{deadline:%H:%M}",
                    f"{name} reported at {received:%Y-%m-%d %H:%M}, after the {deadline:%H:%M} deadline"))
        return out

    def cumulative(self, con, day: dt.date) -> list[CheckResult]:
        """Falling cumulative figures, and increments far from the unit's own history (outliers)."""
        out = []
        # ordered by unit, indicator and item type (the all-types row last), then date: each series in one run
        series = itertools.groupby(day_rows(con, "check_increments", day),
                                   key=lambda r: (r["unit_code"], r["indicator"], r["item_type"]))
        for (unit, indicator, item_type), grouped in series:
            days = list(grouped)
            if days[-1]["as_of_date"] != day:
                continue
            now, before = days[-1], days[:-1]
            what = indicator + (f"（{item_type}）" if isinstance(item_type, str) else "")
            catalogue = self.indicators.get(indicator)
            what_zh = (catalogue.name_zh if catalogue else indicator) + (
                f"（{item_type}）" if isinstance(item_type, str) else "")
            what_en = (catalogue.name_en if catalogue else indicator) + (
                f" ({item_type})" if isinstance(item_type, str) else "")
            name = now["unit_name"]
            if bool(now["falls_below_earlier"]):
                out.append(self._result(
                    FALLS, day, unit, name, what, plain_number(now["value"]),
                    f"≥ {plain_number(now['previous_value'])}（{now['previous_date']:%m-%d}）",
                    f"{name}{what_zh}累计数{plain_number(now['value'])}低于{now['previous_date']:%m月%d日}报送的"
                    f"{plain_number(now['previous_value'])}，累计数不应减少，请核实后更正",
                    f"{name} {what_en}: the cumulative figure {plain_number(now['value'])} is below the "
                    f"{plain_number(now['previous_value'])} reported on {now['previous_date']:%Y-%m-%d}; "
                    "a cumulative figure cannot fall — ask the unit to correct it"))
                continue
            history = [float(r["increment"]) for r in before if r["increment"] is not None]
            if now["increment"] is None or len(history) < self.settings.min_history:
                continue
            out += self._outlier(day, unit, name, what, (what_zh, what_en), float(now["increment"]), history)
        return out

    def _outlier(self, day, unit, name, what, words: tuple[str, str], increment: float,
                 history: list[float]) -> list[CheckResult]:
        z, centre, spread = modified_z(increment, history)
        if z is None:
            low, high = centre, spread  # no spread in the history: its own min-max bounds
            if low <= increment <= high:
                return []
        else:
            if abs(z) <= self.settings.z_threshold:
                return []
            half = self.settings.z_threshold * spread / MAD_TO_SIGMA
            low, high = max(centre - half, 0), centre + half
        return [self._result(
            OUTLIER, day, unit, name, what, f"+{plain_number(increment)}",
            f"+{plain_number(round(low))} ~ +{plain_number(round(high))}",
            f"{name}{words[0]}当日新增{plain_number(increment)}，远离该单位以往每日新增（通常在{plain_number(round(low))}至"
            f"{plain_number(round(high))}之间），请核实",
            f"{name} {words[1]}: today's increment of {plain_number(increment)} is far from the unit's usual "
            f"{plain_number(round(low))} to {plain_number(round(high))} a day — please verify")]

    def plausibility(self, con, day: dt.date) -> list[CheckResult]:
        out = []
        units: dict[str, list[dict]] = {}
        for r in day_rows(con, "check_unit_figures", day):
            units.setdefault(r["unit_code"], []).append(r)
        for unit, figures in sorted(units.items()):
            values = {r["indicator"]: r["value"] for r in figures}
            name = figures[0]["unit_name"]
            for ratio in self.settings.ratios:
                top, bottom = values.get(ratio.numerator), values.get(ratio.denominator)
                if top is None or bottom is None or bottom == 0:
                    continue
                value = top / bottom
                if (ratio.minimum is None or value >= ratio.minimum) and (ratio.maximum is None or value <= ratio.maximum):
                    continue
                bound = (f"{ratio.minimum:g} ~ {ratio.maximum:g}" if ratio.minimum is not None and ratio.maximum is not None
                         else f"≤ {ratio.maximum:g}" if ratio.maximum is not None else f"≥ {ratio.minimum:g}")
                out.append(self._result(
                    PLAUSIBILITY, day, unit, name, f"{ratio.numerator}/{ratio.denominator}", f"{value:.2f}", bound,
                    f"{name}{ratio.name}为{value:.2f}，超出合理范围{bound}（{ratio.why}）",
                    f"{name} {ratio.name} is {value:.2f}, outside {bound} ({ratio.why})", detail=ratio.name))
        return out

    def cross_field(self, con, day: dt.date) -> list[CheckResult]:
        """Rows of the day's loaded files that break a rule between their figures, as found at validation."""
        found = con.execute(sql("check_cross_field"), {"day": day, "rules": suite_rules("cross_field")}).fetchall()
        return [self._result(CROSS_FIELD, day, unit_code, unit_name, rule, "", "", message_zh, message_en,
                             f"{file_name} {sheet}!{cells}", detail=rule)
                for unit_code, unit_name, file_name, sheet, cells, rule, message_zh, message_en in found]
