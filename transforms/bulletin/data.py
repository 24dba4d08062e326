"""What a day's bulletin says, read from the warehouse alone: campaign, headline, units and their figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from transforms.warehouse import rows
from transforms.warehouse.unread import Unread, day_unread, may_be_short


class BulletinError(RuntimeError):
    """The bulletin of a day cannot be written; the message says why and what to run."""


@dataclass(frozen=True)
class SourceFigure:
    """One unit-level figure as a submission states it (raw.facts), with where it came from."""

    unit_code: str
    unit_name: str
    report_date: dt.date
    indicator: str
    item_type: str | None
    value: float | None
    qualifier: str
    parts_unspecified: int
    submission_id: str
    file_name: str
    source_cells: str
    raw_text: str


@dataclass(frozen=True)
class CityFigure:
    """A headline indicator's city-wide figure on the day, and the unit figures it sums."""

    indicator: str
    name_zh: str
    unit: str
    value: float | None
    qualifier: str | None
    parts_unspecified: int
    sources: tuple[SourceFigure, ...]


@dataclass(frozen=True)
class UnitReport:
    """One unit on the day: reported, carried forward (from report_date) or missing, and its figures."""

    code: str
    name: str
    level: str
    expected: bool
    status: str
    report_date: dt.date | None
    submission_id: str | None
    file_name: str | None
    figures: tuple[SourceFigure, ...]
    rejected_files: int = 0  # its files for the day that were returned for correction (rejected)


@dataclass(frozen=True)
class BulletinData:
    """Everything the bulletin of `day` is written from."""

    day: dt.date
    campaign: str
    city: str
    start_date: dt.date
    headline: tuple[CityFigure, ...]
    units_reporting: int
    units_carried: int
    units_missing: int
    units: tuple[UnitReport, ...]
    indicators: dict[str, dict]
    history: tuple[dict, ...]
    corrections: tuple[dict, ...] = ()  # published figures of earlier days that a correction changed
    unread: tuple[Unread, ...] = ()  # figures in the counted files that were not loaded

    def short_of(self, unit_code: str | None, indicator: str) -> int:
        """Unread cells that may belong to `indicator` of a unit (None: of any unit, for a city-wide figure)."""
        short = may_be_short(list(self.unread))
        units = [unit_code] if unit_code is not None else list(short)
        return sum(short.get(code, {}).get(indicator, 0) for code in units)

    @property
    def units_expected(self) -> int:
        return self.units_reporting + self.units_carried + self.units_missing

    def units_with(self, status: str) -> list[UnitReport]:
        return [u for u in self.units if u.expected and u.status == status]


def read_bulletin_data(con: duckdb.DuckDBPyConnection, day: dt.date) -> BulletinData:
    """Read day `day` from the marts; BulletinError when nothing has been computed for it."""
    campaign = rows(con, "bulletin_campaign")
    headline = rows(con, "bulletin_headline", {"day": day})
    if not campaign or not headline:
        raise BulletinError(f"no figures for {day} in the warehouse: the day is outside the campaign or has not "
                            f"been computed; run `warmline run --date {day}` first")
    figures = [SourceFigure(**{k: r[k] for k in SourceFigure.__dataclass_fields__})
               for r in rows(con, "bulletin_unit_figures", {"day": day})]
    units = tuple(
        UnitReport(u["unit_code"], u["unit_name"], u["level"], u["expected"], u["day_status"], u["report_date"],
                   u["submission_id"], u["file_name"], tuple(f for f in figures if f.unit_code == u["unit_code"]),
                   u["rejected_files"])
        for u in rows(con, "bulletin_units", {"day": day}))
    city = tuple(
        CityFigure(h["indicator"], h["name_zh"], h["unit"], h["value"], h["qualifier"], h["parts_unspecified"],
                   tuple(f for f in figures if f.indicator == h["indicator"] and f.item_type is None))
        for h in headline)
    first = headline[0]
    return BulletinData(
        day=day, campaign=campaign[0]["name"], city=campaign[0]["city"], start_date=campaign[0]["start_date"],
        headline=city, units_reporting=first["units_reporting"], units_carried=first["units_carried"],
        units_missing=first["units_missing"], units=units,
        indicators={i["indicator"]: i for i in rows(con, "bulletin_indicators")},
        history=tuple(rows(con, "bulletin_headline_by_day", {"day": day})),
        corrections=tuple(rows(con, "corrections_before_day", {"day": day})), unread=tuple(day_unread(con, day)))
