"""The worked example: Shaoguan's cold-wave relief figures of 20 December 2023, one workbook per unit.

Figures and wording come from the Civil Affairs Bureau's public news release of 2023-12-25;
each unit's cells are written as an official would, 余 and 约 and 若干 included.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from transforms.core.reference import Reference
from transforms.read.template import FilledRow, write_submission

DEMO_DATE = dt.date(2023, 12, 20)

# unit code -> (sender as written on the sheet, rows, total row); cells by template header.
DEMO_SUBMISSIONS: dict[str, tuple[str, list[FilledRow], FilledRow]] = {
    "440200901": ("韶关市民政局", [
        FilledRow("困难群众走访慰问", {"走访慰问户数（户）": 17882, "发放资金（元）": "48万余",
                                "物资合计（件）": 2405, "派出工作组（个）": 38}),
        FilledRow("困境儿童关爱", {"走访儿童人数（人）": 2982, "物资合计（件）": 419}),
        FilledRow("街面联合巡查", {"巡查次数（次）": 321, "出动人员（人次）": 1312, "出动车辆（车次）": 327,
                              "街面救助（人次）": 45}),
    ], FilledRow("合计", {"走访慰问户数（户）": 17882, "走访儿童人数（人）": 2982, "发放资金（元）": "48万余",
                        "物资合计（件）": 2824, "巡查次数（次）": 321, "出动人员（人次）": 1312,
                        "出动车辆（车次）": 327, "街面救助（人次）": 45, "派出工作组（个）": 38})),
    "440200902": ("韶关市救助管理站", [
        FilledRow("街面巡查救助", {"巡查次数（次）": "50余", "出动人员（人次）": 174, "出动车辆（车次）": 50,
                              "街面救助（人次）": 15, "劝导入站（人）": 3, "物资合计（件）": 31}),
    ], FilledRow("合计", {})),
    "440204": ("浈江区民政局", [
        FilledRow("区救助小组", {"走访慰问人次（人次）": 420, "棉衣（件）": 183, "棉被（床）": 90, "食品（份）": "若干"}),
    ], FilledRow("合计", {})),
    "440282": ("南雄市民政局", [
        FilledRow("全市18个镇（街道）", {"检查机构数（个）": 18, "棉衣（件）": "1000余"}),
    ], FilledRow("合计", {})),
    "440222": ("始兴县民政局", [
        FilledRow("县民政局", {"发放资金（元）": "约370.5万", "救助惠及人次（人次）": "9600余"}),
    ], FilledRow("合计", {})),
    "440229": ("翁源县民政局", [
        FilledRow("县民政局及各镇", {"走访慰问户数（户）": 6802, "走访慰问人数（人）": 11490,
                              "物资合计（件）": 1456, "救助惠及人次（人次）": 1633}),
    ], FilledRow("合计", {})),
}


def demo_file_name(unit_name: str, day: dt.date = DEMO_DATE) -> str:
    return f"{unit_name}_寒冬送温暖统计表_{day:%Y%m%d}.xlsx"


def write_demo(folder: Path, ref: Reference) -> list[Path]:
    """Write the worked example's workbooks into `folder` (the inbox); returns their paths.

    Each file is dated as if it had landed on the afternoon of 2023-12-20, before the daily deadline, a few
    minutes apart: received_at is a file's time in the inbox, and the example's units all reported on time.
    """
    written = []
    landed = dt.datetime.combine(DEMO_DATE, dt.time(15, 0), ref.campaign.timezone)
    for n, (code, (sender, rows, total)) in enumerate(DEMO_SUBMISSIONS.items()):
        target = write_submission(folder / demo_file_name(ref.unit(code).name), ref, sender, DEMO_DATE, rows, total)
        stamp = (landed + dt.timedelta(minutes=7 * n)).timestamp()
        os.utime(target, (stamp, stamp))
        written.append(target)
    return written
