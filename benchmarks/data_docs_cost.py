"""Measure what Great Expectations Data Docs cost per validated file: keeping each suite's result in the file-mode
context at ingest (chosen), against running each validation through a checkpoint with UpdateDataDocsAction; and
what building the site costs, all at once and for the new results only.

    .venv/bin/python benchmarks/data_docs_cost.py [--files 24] [--stored 300]

Results are recorded in benchmarks/data_docs.md; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms import warehouse  # noqa: E402
from transforms.core.layout import SHIPPED_REFERENCE, Layout  # noqa: E402
from transforms.core.reference import load_reference  # noqa: E402
from transforms.ingest.ingestor import Ingestor  # noqa: E402
from transforms.read.template import FilledRow, write_submission  # noqa: E402
from transforms.validate.data_docs import ResultStore, stored_validations  # noqa: E402

UNITS = ("浈江区", "始兴县", "翁源县", "南雄市", "乐昌市", "新丰县")


def make_home(root: Path) -> Layout:
    layout = Layout(root)
    for folder in layout.folders():
        folder.mkdir(parents=True, exist_ok=True)
    for source in SHIPPED_REFERENCE.iterdir():
        if source.is_file():
            (layout.reference / source.name).write_bytes(source.read_bytes())
    return layout


def land(layout: Layout, ref, scratch: Path, files: int) -> list[Path]:
    """`files` workbooks (units × days from 16 Dec), each landed an hour old so ingest does not wait for it."""
    paths = []
    for n in range(files):
        unit, day = UNITS[n % len(UNITS)], dt.date(2023, 12, 16) + dt.timedelta(days=n // len(UNITS))
        name = f"{unit}_{day:%m%d}.xlsx"
        made = write_submission(scratch / name, ref, unit, day, [FilledRow("全县", {
            "走访慰问户数（户）": 100 + n, "走访慰问人数（人）": 300 + n, "巡查次数（次）": 10 + n})])
        target = layout.inbox / name
        target.write_bytes(made.read_bytes())
        stamp = time.time() - 3600
        os.utime(target, (stamp, stamp))
        paths.append(target)
    return paths


def ingest_seconds(root: Path, ref, validator, files: int) -> list[float]:
    """Seconds to ingest each of `files` workbooks into a fresh home."""
    layout = make_home(root)
    scratch = root / "scratch"
    scratch.mkdir()
    paths = land(layout, ref, scratch, files)
    con = warehouse.connect(layout.warehouse)
    warehouse.prepare(con, ref)
    ingestor = Ingestor(layout, ref, validator)
    seconds = []
    try:
        for path in paths:
            start = time.perf_counter()
            ingestor.ingest(path, con)
            seconds.append(time.perf_counter() - start)
    finally:
        con.close()
    return seconds


def checkpoint_seconds(root: Path, validator, runs: int) -> list[float]:
    """The alternative: each validation through a checkpoint whose UpdateDataDocsAction rebuilds the site."""
    import great_expectations as gx
    import pandas as pd
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="file", project_root_dir=str(root))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.variables.save()
    spec = validator.specs["figures"]
    suite = ctx.suites.add_or_update(gx.ExpectationSuite(name="figures", expectations=spec["expectations"]))
    batch = ctx.data_sources.add_pandas("warmline").add_dataframe_asset("frame") \
        .add_batch_definition_whole_dataframe("whole")
    definition = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name="figures", data=batch,
                                                                                  suite=suite))
    checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
        name="ingest", validation_definitions=[definition], actions=[UpdateDataDocsAction(name="docs")],
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]}))
    frame = pd.DataFrame({"row_id": range(12), "sheet": "统计表", "cell": [f"B{i}" for i in range(12)],
                          "行号": range(12), "indicator": "households_visited", "item_type": None,
                          "raw_text": "100", "value": 100.0, "qualifier": "exact", "problem_zh": "",
                          "problem_en": "", "problem_rule": ""})
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=validator.parameters)
        seconds.append(time.perf_counter() - start)
    return seconds


def spread(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--stored", type=int, default=300, help="results in the store for the full-build timing")
    args = parser.parse_args()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ref = load_reference(SHIPPED_REFERENCE)

    start = time.perf_counter()
    from transforms.validate.suites import SubmissionValidator

    plain = SubmissionValidator(ref)
    print(f"import Great Expectations and build the validator: {time.perf_counter() - start:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        without = ingest_seconds(root / "without", ref, plain, args.files)
        start = time.perf_counter()
        keeping = SubmissionValidator(ref, quality_dir=root / "with" / "data" / "quality")
        print(f"validator with a file-mode context in data/quality/: {time.perf_counter() - start:.2f} s")
        kept = ingest_seconds(root / "with", ref, keeping, args.files)
        print(f"ingest per file, no results kept: {spread(without)}")
        print(f"ingest per file, 2 results kept:  {spread(kept)} "
              f"(median +{(statistics.median(kept) - statistics.median(without)) * 1000:.0f} ms)")

        quality = root / "with" / "data" / "quality"
        start = time.perf_counter()
        ResultStore(quality).build()
        print(f"first build, {len(stored_validations(quality))} results: {time.perf_counter() - start:.2f} s")
        store = keeping.results_store
        result = store.context.validation_results_store.get(
            store.context.validation_results_store.list_keys()[0])
        while len(stored_validations(quality)) < args.stored:
            store.keep("figures", result, f"bench_{len(stored_validations(quality))}")
        start = time.perf_counter()
        ResultStore(quality).build()
        print(f"build of the pages of {args.stored - 2 * args.files} new results and the index "
              f"({args.stored} stored): {time.perf_counter() - start:.2f} s")
        store.keep("figures", result, "bench_new_1")
        store.keep("submission", result, "bench_new_2")
        start = time.perf_counter()
        ResultStore(quality).build()
        print(f"build of 2 new pages and the index ({args.stored + 2} stored): {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        store.context.build_data_docs()
        print(f"full rebuild, {args.stored + 2} results: {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        ResultStore(quality).build()
        print(f"nothing new (status when every page exists): {time.perf_counter() - start:.3f} s")
        print(f"checkpoint.run with UpdateDataDocsAction, per validation: "
              f"{spread(checkpoint_seconds(root / 'checkpoint', plain, 5))}")


if __name__ == "__main__":
    main()
