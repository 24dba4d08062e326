"""Measure publishing the analysts' copy: ATTACH + COPY FROM DATABASE (writer stays open) against CHECKPOINT,
close and a file copy (writer must close), and the Parquet export of the marts, on a synthetic warehouse the
size of a whole campaign (12 units x 92 days, one report in ten corrected) with 10, 100 and 1000 town rows
per report.

    .venv/bin/python benchmarks/publish_analytics.py [--towns 10 --towns 100] [--repeat 5]

Results are recorded in benchmarks/publish_analytics.md; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms import warehouse  # noqa: E402
from transforms.core.layout import SHIPPED_REFERENCE, Layout  # noqa: E402
from transforms.core.reference import load_reference  # noqa: E402
from transforms.warehouse import analysts_copy  # noqa: E402
from transforms.warehouse.analysts_copy import export_parquet, publish_analytics  # noqa: E402

# Synthetic rows straight into the raw tables: every expected unit reports every day of the campaign, one report
# in ten is corrected by a later file (the first is superseded), and each report has `towns` rows of figures.
SUBMISSIONS = """
INSERT INTO raw.submissions
WITH reports AS (
    SELECT u.unit_code, u.unit_name, d.day::DATE AS as_of_date, v.version,
           hash(u.unit_code, d.day) % 10 = 0 AS corrected
    FROM ref.units AS u,
         generate_series(DATE '2023-12-15', DATE '2024-03-15', INTERVAL 1 DAY) AS d(day),
         (VALUES (1), (2)) AS v(version)
    WHERE u.expected
)
SELECT md5(concat_ws('|', unit_code, as_of_date, version)), concat(unit_name, '_', as_of_date, '_v', version, '.xlsx'),
       md5(concat_ws('|', 'bytes', unit_code, as_of_date, version)),
       as_of_date + INTERVAL 16 HOUR + version * INTERVAL 1 MINUTE, unit_code, as_of_date,
       CASE WHEN corrected AND version = 1 THEN 'superseded' ELSE 'loaded' END,
       NULL, 'data/raw/archive/x.xlsx', NULL, now(), 0, 0
FROM reports
WHERE version = 1 OR corrected
"""
FIGURES = """
INSERT INTO raw.figures
SELECT sub.submission_id, '统计表', 'B' || (t.town + 5), '镇' || t.town, 'part', i.indicator, NULL,
       (hash(sub.submission_id, i.indicator, t.town) % 500)::DOUBLE, 'exact',
       (hash(sub.submission_id, i.indicator, t.town) % 500)::VARCHAR
FROM raw.submissions AS sub, ref.indicators AS i, range($towns) AS t(town)
"""
FACTS = """
INSERT INTO raw.facts
SELECT f.submission_id, sub.unit_code, sub.as_of_date, f.indicator, NULL, sum(f.value), 'exact', 0,
       string_agg('统计表!' || f.cell, ' + '), string_agg(f.raw_text, '+')
FROM raw.figures AS f JOIN raw.submissions AS sub USING (submission_id)
GROUP BY ALL
"""


def build(path: Path, towns: int) -> None:
    """A whole campaign's submissions, facts and figures, `towns` rows per report."""
    con = warehouse.connect(path)
    try:
        warehouse.prepare(con, load_reference(SHIPPED_REFERENCE))
        con.execute(SUBMISSIONS)
        con.execute(FIGURES, {"towns": towns})
        con.execute(FACTS)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def spread(samples: list[float]) -> str:
    return f"{min(samples):.3f} / {statistics.median(samples):.3f} / {max(samples):.3f} s"


def measure(towns: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        layout = Layout(Path(tmp))
        layout.warehouse.parent.mkdir(parents=True)
        build(layout.warehouse, towns)
        con = warehouse.connect(layout.warehouse)
        counts = con.execute("SELECT (SELECT count(*) FROM raw.submissions), (SELECT count(*) FROM raw.facts), "
                             "(SELECT count(*) FROM raw.figures)").fetchone()
        attach_copy = {}
        for version in ("v1.0.0", "v1.5.0"):  # what the copy uses, and the newest format DuckDB 1.5 reads
            analysts_copy.STORAGE_VERSION = version
            attach_copy[version] = [timed(lambda: publish_analytics(con, layout.analytics)) for _ in range(repeat)]
            attach_copy[version + " size"] = layout.analytics.stat().st_size / 2**20
        parquet = [timed(lambda: export_parquet(con, layout.parquet)) for _ in range(repeat)]
        con.close()

        def checkpoint_copy() -> None:
            writer = warehouse.connect(layout.warehouse)
            writer.execute("CHECKPOINT")
            writer.close()
            tmp_copy = layout.analytics.with_name("copy.duckdb.tmp")
            shutil.copyfile(layout.warehouse, tmp_copy)
            os.replace(tmp_copy, layout.analytics.with_name("copy.duckdb"))

        file_copy = [timed(checkpoint_copy) for _ in range(repeat)]
        print(f"{towns} towns per report: {counts[0]:,} submissions, {counts[1]:,} facts, {counts[2]:,} figures; "
              f"warehouse {layout.warehouse.stat().st_size / 2**20:.1f} MiB")
        for version in ("v1.0.0", "v1.5.0"):
            print(f"  ATTACH ({version}) + COPY FROM DATABASE + DETACH + os.replace: "
                  f"{spread(attach_copy[version])} (min / median / max), copy {attach_copy[version + ' size']:.1f} MiB")
        print(f"  CHECKPOINT + close + copyfile + os.replace (2.0's own format):  {spread(file_copy)}")
        print(f"  Parquet export of the marts views:                               {spread(parquet)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, action="append", help="rows per report (default: 10, 100, 1000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for towns in args.towns or [10, 100, 1000]:
        measure(towns, args.repeat)


if __name__ == "__main__":
    main()
