"""Reference data: reporting units, the indicator catalogue, item types and campaign settings."""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from transforms.core.figures import normalise_text


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Indicator:
    """One indicator of the catalogue: its names, unit and aliases, and what it means, for headers worded in
    other ways: the measure family its figures are counted in, and the words that say it (an action, an object,
    context that makes it likelier). A header needs a word of each non-empty list of actions and objects."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    headline: bool
    aliases: tuple[str, ...]
    measure: str = ""
    actions: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measure:
    """A measure word (户, 万元, 车次), the family it counts in, and its multiplier."""

    word: str
    family: str
    scale: Decimal


@dataclass(frozen=True)
class HeaderWord:
    """A word with a fixed meaning in headers: one that gives the measure ('measure:户' for 户数), or one that says
    the figure is not a catalogue figure (not_issued, not_cumulative, not_a_count, not_relief, breakdown)."""

    word: str
    means: str
    why: str
    why_zh: str = ""


@dataclass(frozen=True)
class ItemType:
    name: str
    unit: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Ratio:
    """A plausibility bound: numerator / denominator of one unit's figures should lie in [minimum, maximum]."""

    name: str
    numerator: str
    denominator: str
    minimum: float | None
    maximum: float | None
    why: str


@dataclass(frozen=True)
class Override:
    """A check a statistician accepted for one unit and day, with the reason."""

    check: str
    unit_code: str
    day: dt.date
    reason: str


@dataclass(frozen=True)
class Overlap:
    """`unit_code`'s figure for `indicator` already includes the figures of `includes`: count them once."""

    unit_code: str
    indicator: str
    includes: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Checks:
    """The statistician's checks: which block publishing, and their settings."""

    blocking: tuple[str, ...] = ("cumulative_falls",)
    z_threshold: float = 3.5
    min_history: int = 3
    ratios: tuple[Ratio, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class HeadlineNumbers:
    """How the bulletin's headline writes a figure ([bulletin.headline_numbers] of campaign.toml): below a keep
    threshold with every reported digit, up to 1万 cut to a few leading digits, from 1万 in 万 cut to a step.
    The defaults are the shipped values, so a campaign.toml without the table reads as shipped."""

    keep_digits_below: int = 10_000
    leading_digits_below_wan: int = 2
    large_step_wan: Decimal = Decimal("0.1")
    money_keep_yuan_below: int = 10_000
    money_step_wan: Decimal = Decimal("0.1")


HEADLINE_NUMBERS_TABLE = "[bulletin.headline_numbers]"
# The smallest and largest a whole-number setting may be, and why the bound, which the message says.
_HEADLINE_WHOLE_NUMBERS = {
    "keep_digits_below": (1, 100_000, "from 10万 a count is written in 万 even in a unit's paragraph"),
    "leading_digits_below_wan": (1, 4, "a figure under 1万 has at most four digits"),
    "money_keep_yuan_below": (1, 10_000, "from 1万元 money is written in 万元"),
}
# A step in 万 must be a power of ten from 0.0001万 (1) to 1万, so the figure is cut at a digit.
_HEADLINE_STEPS = ("large_step_wan", "money_step_wan")
_STEPS_ALLOWED = tuple(Decimal(1).scaleb(-k) for k in range(5))


def headline_numbers(settings: dict) -> HeadlineNumbers:
    """The headline rule from campaign.toml's parsed settings; ValueError naming campaign.toml, the key and the fix."""
    table = settings.get("bulletin", {}).get("headline_numbers", {})
    if not isinstance(table, dict):
        raise ValueError(f"campaign.toml {HEADLINE_NUMBERS_TABLE} must be a table of settings, e.g. "
                         f"keep_digits_below = 10000 on a line under {HEADLINE_NUMBERS_TABLE}")
    known = (*_HEADLINE_WHOLE_NUMBERS, *_HEADLINE_STEPS)
    for key in table:
        if key not in known:
            raise ValueError(f"campaign.toml {HEADLINE_NUMBERS_TABLE} has an unknown setting {key!r}: "
                             f"correct or remove it (the settings are {', '.join(known)})")
    values: dict[str, int | Decimal] = {}
    shipped = HeadlineNumbers()
    for key, (smallest, largest, why) in _HEADLINE_WHOLE_NUMBERS.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not smallest <= value <= largest:
            raise ValueError(f"campaign.toml {HEADLINE_NUMBERS_TABLE} {key} = {value!r}: must be a whole number "
                             f"from {smallest} to {largest} ({why}), e.g. {key} = {getattr(shipped, key)}")
        values[key] = value
    for key in _HEADLINE_STEPS:
        if key not in table:
            continue
        value = table[key]
        step = Decimal(repr(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if step not in _STEPS_ALLOWED:
            raise ValueError(f"campaign.toml {HEADLINE_NUMBERS_TABLE} {key} = {value!r}: must be one of "
                             f"{', '.join(str(s) for s in reversed(_STEPS_ALLOWED))} (the 万 figure is cut at a digit), "
                             f"e.g. {key} = {getattr(shipped, key)}")
        values[key] = step
    return HeadlineNumbers(**values)


def load_headline_numbers(folder: Path) -> HeadlineNumbers:
    """The headline rule of `folder`'s campaign.toml (the shipped one for a home without it)."""
    with _shipped_if_missing(folder, "campaign.toml").open("rb") as fh:
        return headline_numbers(tomllib.load(fh))


@dataclass(frozen=True)
class Campaign:
    name: str
    city: str
    city_code: str
    start_date: dt.date
    end_date: dt.date
    timezone: ZoneInfo
    daily_deadline: dt.time
    rollup_cron: str
    expected_units: tuple[str, ...]
    checks: Checks = Checks()
    overlaps: tuple[Overlap, ...] = ()
    headline_numbers: HeadlineNumbers = HeadlineNumbers()
    short_name: str = ""  # 寒冬送温暖: names the template workbook a clerk is given (寒冬送温暖统计表.xlsx)


@dataclass(frozen=True)
class Reference:
    """Everything in data/reference/, loaded once per run."""

    units: tuple[Unit, ...]
    indicators: tuple[Indicator, ...]
    item_types: tuple[ItemType, ...]
    campaign: Campaign
    measures: tuple[Measure, ...] = ()
    header_words: tuple[HeaderWord, ...] = ()
    template: tuple[TemplateColumn, ...] = ()  # the columns of the campaign's standard workbook, left to right
    _unit_by_alias: dict[str, Unit] = field(default_factory=dict, repr=False, compare=False)

    def unit(self, code: str) -> Unit:
        return next(u for u in self.units if u.code == code)

    def find_unit(self, text: str) -> Unit | None:
        """The unit a sender's name or alias refers to, or None."""
        key = normalise_text(text)
        if key in self._unit_by_alias:
            return self._unit_by_alias[key]
        # "韶关市浈江区民政局（盖章）": the longest alias contained in the text wins.
        hits = [(len(alias), unit) for alias, unit in self._unit_by_alias.items() if alias and alias in key]
        return max(hits, key=lambda hit: hit[0])[1] if hits else None

    @property
    def headline(self) -> tuple[HeadlineFigure, ...]:
        """The headline indicators (headline = 1 in indicators.csv), in catalogue order, as people read them."""
        families = {m.word: m.family for m in self.measures}
        return tuple(HeadlineFigure(i.code, i.name_zh, i.code.replace("_", " "),
                                    "yuan" if families.get(i.unit) == "元" else i.unit)
                     for i in self.indicators if i.headline)


@dataclass(frozen=True)
class TemplateColumn:
    """A column of the campaign's standard workbook (template.csv): its header, and what it holds."""

    header: str  # 棉被（床）
    indicator: str  # items_issued
    item_type: str | None  # 棉被, or None


@dataclass(frozen=True)
class HeadlineFigure:
    """A headline indicator as the command line and the status show it."""

    code: str
    name_zh: str  # 走访慰问户数
    label_en: str  # the code in words: households visited
    unit_en: str  # its measure word in an English line: 户, or yuan for money

    @property
    def column_en(self) -> str:
        return f"{self.label_en} ({self.unit_en})"


def _aliases(text: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in text.split("|") if a.strip())


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a reference CSV as dicts; a byte-order mark (Excel writes one) is not part of the first name."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _shipped_if_missing(folder: Path, name: str) -> Path:
    """The home's copy of a reference file; the shipped one for a home set up before the file existed."""
    path = folder / name
    return path if path.exists() else Path(__file__).resolve().parents[2] / "data" / "reference" / name


# The statistician's checks of a day (transforms/day/checks.py), by the names campaign.toml uses for them
CHECK_NAMES = ("missing_units", "late_units", "cumulative_falls", "outlier", "cross_field", "plausibility")


def _check_names(names, where: str) -> tuple[str, ...]:
    """`names` as given, each a check that exists: a misspelt name would silently switch a block off."""
    unknown = [n for n in names if n not in CHECK_NAMES]
    if unknown:
        raise ValueError(f"campaign.toml {where} names no check {', '.join(map(repr, unknown))}: the checks are "
                         f"{', '.join(CHECK_NAMES)}")
    return tuple(names)


def _checks(settings: dict) -> Checks:
    checks = settings.get("checks", {})
    outlier = checks.get("outlier", {})
    ratios = tuple(
        Ratio(name, r["numerator"], r["denominator"], r.get("min"), r.get("max"), r.get("why", ""))
        for name, r in settings.get("plausibility", {}).items())
    overrides = tuple(
        Override(_check_names([o["check"]], "[[overrides]] check")[0], str(o["unit"]), o["date"], o["reason"])
        for o in settings.get("overrides", []))
    return Checks(_check_names(checks.get("blocking", Checks.blocking), "[checks] blocking"),
                  float(outlier.get("z_threshold", 3.5)),
                  int(outlier.get("min_history", 3)), ratios, overrides)


def _overlaps(settings: dict) -> tuple[Overlap, ...]:
    return tuple(Overlap(str(o["unit"]), o["indicator"], tuple(str(u) for u in o["includes"]), o["reason"])
                 for o in settings.get("overlaps", []))


INDICATOR_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _repeated(codes: list[str]) -> list[str]:
    """The codes listed more than once, in the order they first appear."""
    return [code for code, times in Counter(codes).items() if times > 1]


class ReferenceUnreadable(ValueError):
    """The reference data cannot be read or does not hold together: says which folder, what is wrong and the fix."""


def load_reference(folder: Path) -> Reference:
    """Read units.csv, indicators.csv, item_types.csv and campaign.toml from `folder`; raises ReferenceUnreadable,
    naming the folder, the file and the fix, when they cannot be read or do not agree."""
    try:
        return _read_reference(folder)
    except (OSError, KeyError, ValueError) as exc:  # tomllib's TOMLDecodeError is a ValueError
        raise ReferenceUnreadable(f"cannot read the reference data in {folder}: {exc}; fix the file or copy it "
                                  "again from a fresh `warmline init`") from exc


def _read_reference(folder: Path) -> Reference:
    units = tuple(
        Unit(r["unit_code"].strip(), r["unit_name"].strip(), r["level"].strip(), _aliases(r["aliases"]))
        for r in read_csv_rows(folder / "units.csv")
    )
    indicators = tuple(
        Indicator(r["code"].strip(), r["name_zh"].strip(), r["name_en"].strip(), r["unit"].strip(),
                  r["headline"].strip() == "1", _aliases(r["aliases"]), (r.get("measure") or "").strip(),
                  _aliases(r.get("actions") or ""), _aliases(r.get("objects") or ""), _aliases(r.get("context") or ""))
        for r in read_csv_rows(folder / "indicators.csv")
    )
    measures = tuple(Measure(r["word"].strip(), r["family"].strip(), Decimal(r["scale"].strip() or "1"))
                     for r in read_csv_rows(_shipped_if_missing(folder, "measures.csv")))
    header_words = tuple(HeaderWord(r["word"].strip(), r["means"].strip(), (r.get("why") or "").strip(),
                                    (r.get("why_zh") or "").strip())
                         for r in read_csv_rows(_shipped_if_missing(folder, "header_words.csv")))
    item_types = tuple(
        ItemType(r["item_type"].strip(), r["unit"].strip(), _aliases(r["aliases"]))
        for r in read_csv_rows(folder / "item_types.csv")
    )
    template = tuple(TemplateColumn(r["header"].strip(), r["indicator"].strip(),
                                    (r.get("item_type") or "").strip() or None)
                     for r in read_csv_rows(_shipped_if_missing(folder, "template.csv")))
    with (folder / "campaign.toml").open("rb") as fh:
        settings = tomllib.load(fh)
    c = settings["campaign"]
    hour, minute = (int(p) for p in str(c.get("daily_deadline", "17:00")).split(":"))
    campaign = Campaign(
        name=c["name"], city=c["city"], city_code=str(c["city_code"]),
        start_date=c["start_date"], end_date=c["end_date"], timezone=ZoneInfo(c.get("timezone", "Asia/Shanghai")),
        daily_deadline=dt.time(hour, minute), rollup_cron=c.get("rollup_cron", "0 18 * * *"),
        expected_units=tuple(str(u) for u in c["expected_units"]),
        checks=_checks(settings), overlaps=_overlaps(settings), headline_numbers=headline_numbers(settings),
        short_name=str(c.get("short_name", "")),
    )
    by_alias: dict[str, Unit] = {}
    for unit in units:
        for alias in (unit.name, unit.code, *unit.aliases):
            by_alias.setdefault(normalise_text(alias), unit)
    for name, codes in (("units.csv", [u.code for u in units]), ("indicators.csv", [i.code for i in indicators]),
                        ("item_types.csv", [t.name for t in item_types])):
        if twice := _repeated(codes):
            # line numbers count the header as line 1, as a spreadsheet or editor shows them
            where = "; ".join(f"{code} on lines {', '.join(str(n + 2) for n, c in enumerate(codes) if c == code)}"
                              for code in twice)
            raise ValueError(f"{name} lists the same code more than once ({where}): keep one line for each")
    if odd := [n + 2 for n, i in enumerate(indicators) if not INDICATOR_CODE.fullmatch(i.code)]:
        # the codes name columns of the warehouse's views (marts.headline): plain words only
        raise ValueError(f"indicators.csv has a code that is not lower-case letters, digits and _ on line(s) "
                         f"{', '.join(map(str, odd))}: write it like households_visited")
    families = {m.family: m.word for m in measures}
    if odd := [f"line {n + 2}: {i.measure}" for n, i in enumerate(indicators) if i.measure and i.measure not in families]:
        raise ValueError(f"indicators.csv names a measure family that measures.csv does not have ({'; '.join(odd)}): "
                         f"the column measure takes the family of the indicator's unit, one of "
                         f"{', '.join(families)} (份 and 床 are counted in the family 件)")
    if not any(i.headline for i in indicators):
        raise ValueError("indicators.csv marks no indicator as headline (column headline = 1): mark the figures "
                         "the bulletin leads with")
    known = {u.code for u in units}
    unknown = [u for u in campaign.expected_units if u not in known]
    unknown += [u for o in campaign.overlaps for u in (o.unit_code, *o.includes) if u not in known]
    if unknown:
        raise ValueError(f"campaign.toml expects units not in units.csv: {', '.join(unknown)}")
    codes = {i.code for i in indicators}
    if stray := [c.header for c in template if c.indicator not in codes]:
        raise ValueError(f"template.csv has columns for indicators not in indicators.csv: {', '.join(stray)}; "
                         "add the indicator or remove the column")
    return Reference(units, indicators, item_types, campaign, measures, header_words, template, by_alias)
