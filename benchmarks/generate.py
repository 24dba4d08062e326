"""Generate realistic submissions for N units over D days, and the reference data they need.

    .venv/bin/python benchmarks/generate.py --units 40 --days 25 --out /tmp/subs [--home /tmp/home]

Each file is the standard workbook (transforms.read.template.write_submission) as a unit's clerk fills it in: 4 to
14 towns or streets, cumulative figures that grow from day to day, some written 余, 约 or 若干, cells left
blank, the 合计 row filled in about half the files. Of every hundred files about four are corrections (the same
unit and day again, landing later), one is the same bytes sent twice and two carry a defect a clerk makes
(a unit in a cell, a negative figure), which gets them rejected. Landing times (mtimes) follow the days.

Units beyond Shaoguan's twelve are synthetic (模拟县0001, code 449900001, …): they are written into the
units.csv and campaign.toml of `--home` (a benchmark's own home), never into data/reference/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.core.layout import SHIPPED_REFERENCE, Layout  # noqa: E402
from transforms.core.reference import Reference, load_reference  # noqa: E402
from transforms.read.template import FilledRow, write_submission  # noqa: E402

TOWNS = ("东河街道", "西河街道", "南门街道", "北门街道", "新城镇", "龙仙镇", "坝仔镇", "江尾镇", "官渡镇", "周陂镇",
         "翁城镇", "新江镇", "铁龙镇", "马市镇", "罗坝镇", "澄江镇", "司前镇", "隘子镇", "沈所镇", "太平镇",
         "顿岗镇", "城南镇", "黄坑镇", "龙归镇", "樟市镇", "乌石镇", "大塘镇", "枫湾镇", "白土镇", "花坪镇")
# Template headers a county fills in, with the daily increment range of one town.
COUNTY_FIGURES = (("走访慰问户数（户）", 5, 60), ("走访慰问人数（人）", 8, 120), ("发放资金（元）", 800, 30000),
                  ("棉衣（件）", 2, 40), ("棉被（床）", 1, 25), ("食品（份）", 3, 50), ("巡查次数（次）", 1, 4),
                  ("出动人员（人次）", 3, 20), ("救助惠及人次（人次）", 5, 90))
SYNTHETIC_NAME = "模拟县{:04d}"
SYNTHETIC_CODE = "4499{:05d}"
START = dt.datetime(2023, 12, 15, 9, 0)  # the first landing time; later days land a day later each


@dataclass(frozen=True)
class Generated:
    """What was written: the files in landing order and how many of each kind."""

    files: tuple[Path, ...]
    corrections: int
    duplicates: int
    defective: int


def unit_names(ref: Reference, count: int) -> list[str]:
    """The first `count` reporting units: Shaoguan's expected units, then synthetic ones."""
    real = [ref.unit(code).name for code in ref.campaign.expected_units]
    return real[:count] + [SYNTHETIC_NAME.format(n) for n in range(1, count - len(real) + 1)]


def write_reference(home: Path, units: int) -> Reference:
    """A home's reference data: the shipped files, with synthetic units added so that `units` are expected."""
    layout = Layout(home)
    layout.create()
    shipped = load_reference(SHIPPED_REFERENCE)
    extra = max(0, units - len(shipped.campaign.expected_units))
    codes = list(shipped.campaign.expected_units)[:units]
    # written anew from the shipped list: a home that already has synthetic units (a benchmark's second call)
    # must not list them twice
    shutil.copyfile(SHIPPED_REFERENCE / "units.csv", layout.reference / "units.csv")
    with (layout.reference / "units.csv").open("a", encoding="utf-8") as fh:
        for n in range(1, extra + 1):
            code = SYNTHETIC_CODE.format(n)
            codes.append(code)
            fh.write(f"{code},{SYNTHETIC_NAME.format(n)},county,{SYNTHETIC_NAME.format(n)}民政局\n")
    toml = layout.reference / "campaign.toml"
    listed = "expected_units = [\n" + "".join(f'  "{c}",\n' for c in codes) + "]"
    toml.write_text(re.sub(r"expected_units = \[[^\]]*\]", lambda _: listed, toml.read_text(encoding="utf-8")),
                    encoding="utf-8")
    return load_reference(layout.reference)


def _figure_text(rng: random.Random, header: str, value: int) -> object:
    """How a clerk writes a figure: mostly digits, sometimes 余 or 约, 若干 for food now and then."""
    roll = rng.random()
    if header == "食品（份）" and roll < 0.03:
        return "若干"
    if roll < 0.05 and value >= 100:
        return f"{value // 10 * 10}余"
    if header == "发放资金（元）" and roll < 0.12 and value >= 10000:
        return f"约{value / 10000:.1f}万"
    return value


def _rows(rng: random.Random, towns: list[str], headers: list[tuple], bases: dict, day: int,
          defect: str | None) -> tuple[list[FilledRow], FilledRow]:
    rows, sums, exact = [], {}, True
    for town in towns:
        cells = {}
        for header, low, _high in headers:
            if rng.random() < 0.06:
                continue  # a cell left blank: no figure, not 0
            value = bases[(town, header)] * (day + 1) + rng.randrange(low)
            text = _figure_text(rng, header, value)
            exact &= isinstance(text, int)
            cells[header] = text
            sums[header] = sums.get(header, 0) + value
        rows.append(FilledRow(town, cells))
    if defect == "unit-in-cell":
        rows[0].cells[headers[0][0]] = f"{rows[0].cells.get(headers[0][0], 120)}户"
    elif defect == "negative":
        rows[-1].cells[headers[-1][0]] = -5
    total = FilledRow("合计", dict(sums) if exact and rng.random() < 0.5 and not defect else {})
    return rows, total


def generate(out: Path, ref: Reference, units: int, days: int, seed: int = 9, start_day: int = 0) -> Generated:
    """Write units × days files into `out` (the last few slots hold corrections and duplicates), in landing order."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    names = unit_names(ref, units)
    plans = {}
    for name in names:
        towns = rng.sample(TOWNS, rng.randrange(4, 15))
        headers = [h for h in COUNTY_FIGURES if rng.random() < 0.8] or list(COUNTY_FIGURES[:1])
        bases = {(t, h): rng.randrange(low, high) for t in towns for h, low, high in headers}
        plans[name] = (towns, headers, bases)
    files, sent, corrections, duplicates, defective = [], [], 0, 0, 0
    slot = 0
    for d in range(start_day, start_day + days):
        day = ref.campaign.start_date + dt.timedelta(days=d)
        for u in range(len(names)):
            landed = START + dt.timedelta(days=d, minutes=7 * u + rng.randrange(5))
            kind = rng.random()
            if sent and kind < 0.01:  # the same bytes sent again under another name
                first = rng.choice(sent)
                path = out / f"{first.stem}_重发_{slot:05d}.xlsx"
                shutil.copyfile(first, path)
                duplicates += 1
            else:
                name, on = names[u], day
                if sent and kind < 0.05:  # a correction of a recent report: same unit and day, sent again
                    name, on_text = rng.choice(sent[-len(names):]).stem.split("_")[:2]
                    on = dt.datetime.strptime(on_text, "%Y%m%d").date()
                    corrections += 1
                defect = None
                if kind > 0.98:
                    defect = rng.choice(("unit-in-cell", "negative"))
                    defective += 1
                towns, headers, bases = plans[name]
                rows, total = _rows(rng, towns, headers, bases, (on - ref.campaign.start_date).days, defect)
                path = write_submission(out / f"{name}_{on:%Y%m%d}_寒冬送温暖统计表_{slot:05d}.xlsx", ref,
                                        f"{name}民政局", on, rows, total)
                sent.append(path)
            stamp = landed.timestamp()
            os.utime(path, (stamp, stamp))
            files.append(path)
            slot += 1
    return Generated(tuple(files), corrections, duplicates, defective)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--days", type=int, default=25)
    parser.add_argument("--out", type=Path, required=True, help="folder for the workbooks")
    parser.add_argument("--home", type=Path, help="a benchmark home to write the reference data into")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    ref = write_reference(args.home, args.units) if args.home else load_reference(SHIPPED_REFERENCE)
    if not args.home and args.units > len(ref.campaign.expected_units):
        raise SystemExit(f"more than {len(ref.campaign.expected_units)} units need synthetic ones: give --home")
    made = generate(args.out, ref, args.units, args.days, args.seed)
    print(f"wrote {len(made.files)} files to {args.out}: {made.corrections} corrections, "
          f"{made.duplicates} duplicates, {made.defective} with a defect")


if __name__ == "__main__":
    main()
