#!/usr/bin/env python
"""What the defences against hostile files cost: the precheck per file, and reading in a worker process.

    .venv/bin/python benchmarks/safe_read.py [ROUNDS]

On the messy-workbook corpus (tests/fixtures/make_fixtures.py) and the worked example, it times:
the precheck; reading and parsing in this process (what warmline did before); the same through one long-lived
worker; a fresh worker per file (the alternative); 200 files through the worker; and 200 files the way the
Ingestor reads them since issue 9 (SafeReader.read_many: the precheck inside the workers, two side by side).

Measured on the project's 2-vCPU machine (49 files, best of 3 rounds, two runs):
  precheck                      median 0.5 ms, max 0.9 ms a file
  in-process read + parse       median 0.6 ms a file
  long-lived worker             median 0.9 ms a file: +0.3 ms of transfer once started (start: 0.18 s)
  fresh worker per file         median 184 ms a file
  200 files through the worker  0.19 s (in process: 0.12 s)
Since issue 9 (same corpus, 2 rounds): 200 files with the precheck, through read_many on two workers 0.15 s,
against 0.16 s through one worker without it. On 200 generated workbooks (benchmarks/generate.py): the precheck
in the parent then one worker 3.3 ms a file; read_many with the precheck in the workers, one worker 3.2 ms,
two workers 1.8 ms.
"""

from __future__ import annotations

import contextlib
import io
import runpy
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.core.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.core.reference import load_reference  # noqa: E402
from transforms.read.guarded_reader import SafeReader  # noqa: E402
from transforms.read.parser import SubmissionParser  # noqa: E402
from transforms.read.precheck import precheck  # noqa: E402
from transforms.read.workbook import read_sheets  # noqa: E402
from transforms.read.worked_example import write_demo  # noqa: E402


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main(rounds: int = 3) -> None:
    ref = load_reference(SHIPPED_REFERENCE)
    parser = SubmissionParser(ref)
    with tempfile.TemporaryDirectory() as scratch:
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(REPO / "tests" / "fixtures" / "make_fixtures.py"))["main"]([scratch])
        paths = [p for p in Path(scratch).iterdir() if p.suffix != ".json"] + write_demo(Path(scratch) / "demo", ref)
        files = [(p.read_bytes(), p.name) for p in paths]

    def in_process(content: bytes, name: str) -> None:
        parser.parse(read_sheets(content, name), name)

    # One worker without its own precheck: the reading alone, as first measured (the precheck is timed apart).
    def fresh(content: bytes, name: str) -> None:
        with SafeReader(ref, precheck=False, workers=1) as once:
            once.read(content, name)

    with SafeReader(ref, precheck=False, workers=1) as reader, SafeReader(ref) as pair:
        start = timed(reader.read, *files[0])
        results = {}
        for label, fn in (("precheck", precheck), ("in-process read + parse", in_process),
                          ("long-lived worker", reader.read), ("fresh worker per file", fresh)):
            best = None
            for _ in range(rounds):
                times = [timed(fn, *f) for f in files]
                best = times if best is None or statistics.median(times) < statistics.median(best) else best
            results[label] = best
        batch = (files * (200 // len(files) + 1))[:200]
        through_worker = min(timed(lambda: [reader.read(*f) for f in batch]) for _ in range(rounds))
        here = min(timed(lambda: [in_process(*f) for f in batch]) for _ in range(rounds))
        side_by_side = min(timed(lambda: pair.read_many(batch)) for _ in range(rounds))

    print(f"{len(files)} files, best of {rounds} rounds; worker start {start * 1000:.0f} ms")
    print("| what | median per file | max per file |")
    print("|---|---|---|")
    for label, times in results.items():
        print(f"| {label} | {statistics.median(times) * 1000:.1f} ms | {max(times) * 1000:.1f} ms |")
    print(f"| 200 files through the worker | {through_worker:.2f} s (in process: {here:.2f} s) | |")
    print(f"| 200 files, precheck included, read_many on {pair.workers} workers (what the Ingestor does now) | "
          f"{side_by_side:.2f} s | |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
