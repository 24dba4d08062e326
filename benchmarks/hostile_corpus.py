#!/usr/bin/env python
"""The hostile corpus of issue 17 through warmline's real ingest path: how every file ended, what it cost, and
whether anything a file carried reached a terminal, a page or an export.

    .venv/bin/python benchmarks/hostile_corpus.py [--sample N] [--families a,b] [--batch N] [--keep]

Generates the corpus (tests/fuzz/make_hostile.py) into a temporary folder, lands every file in a fresh home's
inbox, ingests them with one Ingestor (Ingestor.ingest_many, `batch` files a call: what `warmline ingest` runs),
then judges each file against its manifest, runs the audit, writes each touched day's status.html and bulletin,
the Parquet marts and a figures CSV, renders what `warmline ingest` and `warmline status` print, and scans all
of it (tests/fuzz/hostile_check.py). Memory is sampled from /proc (psutil) every 20 ms for this process and every
descendant (the reader's workers), and the peaks the kernel kept are added (getrusage). Prints the evidence
table, a table per family and the files that did not end as expected; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import make_home  # noqa: E402
from tests.fuzz import hostile_check as check  # noqa: E402
from tests.fuzz import make_hostile  # noqa: E402
from transforms.core.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.core.reference import load_reference  # noqa: E402
from transforms.ingest.ingestor import Ingestor  # noqa: E402

MiB, GiB = 2**20, 2**30
MIN_FILES = 1_000
PROCESS_BOUND = 1 * GiB  # resident memory of any one process
TREE_BOUND = 2 * GiB  # of this process and all its descendants together
INGEST_BOUND_SECONDS = 300.0  # the whole corpus's ingest (each file's read is cut at 60 s by the reader)


@dataclass
class Peaks:
    own: int = 0  # this (the ingesting) process
    child: int = 0  # the largest single descendant
    tree: int = 0  # all of them at one moment


class MemorySampler(threading.Thread):
    """Resident memory of this process and its descendants, sampled until stopped."""

    def __init__(self, interval: float = 0.02):
        super().__init__(daemon=True)
        self.interval, self.peaks, self._stop_event = interval, Peaks(), threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self._stop_event.is_set():
            own = me.memory_info().rss
            children = []
            for child in me.children(recursive=True):
                try:
                    children.append(child.memory_info().rss)
                except psutil.Error:  # ended between listing and reading
                    pass
            self.peaks.own = max(self.peaks.own, own)
            self.peaks.child = max([self.peaks.child, *children])
            self.peaks.tree = max(self.peaks.tree, own + sum(children))
            self._stop_event.wait(self.interval)

    def stop(self) -> Peaks:
        self._stop_event.set()
        self.join()
        # what the kernel kept: this process's high-water mark, and the largest of the children it waited for
        # (a worker killed between two samples)
        self.peaks.own = max(self.peaks.own, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        self.peaks.child = max(self.peaks.child, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
        return self.peaks


def mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def evidence(run: check.Run, peaks: Peaks, sampled: bool, total_seconds: float, workers: int) -> list[tuple]:
    """(measure, measured, target, PASS/FAIL) rows of the issue's table."""
    files = len(run.results)
    lost, misread = run.count(check.LOST), run.count(check.MISREAD)
    other = sum(r.verdict == check.MISREAD and check.OTHER in r.got for r in run.results)
    no_report = run.count(check.NO_REPORT)
    unexpected = len(run.unexpected())
    per_file = run.ingest_seconds / files * 1000 if files else 0
    count_ok = sampled or files >= MIN_FILES
    inject = injection_counts(run.injections)
    return [
        ("hostile files", f"{files}{' (sample)' if sampled else ''}, {lost} lost, {misread} misread ({other} with "
         f"figures other than the original's), {no_report} rejected without a report naming the file",
         "≥ 1,000, 0 lost, 0 misread, every rejection with a report",
         mark(count_ok and not lost and not misread and not no_report)),
        ("files ending as their manifest says", f"{files - unexpected} of {files} ({unexpected} not: "
         f"{run.count(check.WRONGLY_REJECTED)} wrongly rejected, {run.count(check.WRONG_RULE)} wrong rule)",
         "all", mark(not unexpected)),
        ("time and memory", f"ingest {run.ingest_seconds:.1f} s ({per_file:.0f} ms a file; whole script "
         f"{total_seconds:.0f} s); peak RSS: ingesting process {peaks.own / MiB:.0f} MiB, largest worker "
         f"{peaks.child / MiB:.0f} MiB, whole tree {peaks.tree / MiB:.0f} MiB; {workers} reader workers started",
         f"ingest ≤ {INGEST_BOUND_SECONDS:.0f} s; no process > 1 GiB; tree < 2 GiB",
         mark(run.ingest_seconds <= INGEST_BOUND_SECONDS and max(peaks.own, peaks.child) <= PROCESS_BOUND
              and peaks.tree < TREE_BOUND)),
        ("injected markup or control characters reaching a terminal, page or export",
         f"{len(run.injections)} ({inject})", "0", mark(not run.injections)),
        ("audit of the warehouse", f"{len(run.audit_findings)} findings", "0", mark(not run.audit_findings)),
        ("files written outside the home (zip path traversal)", f"{len(run.escaped)}", "0", mark(not run.escaped)),
    ]


def injection_counts(injections: list[check.Injection]) -> str:
    counts: dict[str, int] = {}
    for injection in injections:
        counts[injection.output] = counts.get(injection.output, 0) + 1
    return ", ".join(f"{n} {output}" for output, n in sorted(counts.items())) or "none"


def group_injections(injections: list[check.Injection]) -> dict[tuple[str, str], list[check.Injection]]:
    groups: dict[tuple[str, str], list[check.Injection]] = {}
    for injection in injections:
        groups.setdefault((injection.output, injection.what if not injection.what.startswith("formula") else
                           "formula"), []).append(injection)
    return groups


def table(head: tuple, rows: list[tuple]) -> str:
    """A Markdown table (the issue's format)."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def show(text: str) -> str:
    """Text from a hostile file, safe for this terminal."""
    from transforms.core.safe_text import printable

    return printable(text).replace("\n", "\\n").replace("|", "¦")


def report(run: check.Run, peaks: Peaks, sampled: bool, total: float, workers: int, shown: int = 30) -> bool:
    rows = evidence(run, peaks, sampled, total, workers)
    print(table(("measure", "measured", "target", "result"), rows))
    print()
    print(table(("family", "files", "rejected as expected", "loaded as expected", "misread",
                 "misread with other figures", "lost",
                 "other not as expected"), check.family_table(run.results)))
    unexpected = run.unexpected()
    if unexpected:
        print(f"\nFiles that did not end as expected ({len(unexpected)}; the first {shown}):")
        for r in unexpected[:shown]:
            print(f"  {r.entry['file']} [{r.family}] expected {r.entry['status']} {r.entry.get('rule') or ''}: "
                  f"{r.verdict}: {show(r.got)[:220]}")
    if run.injections:
        print(f"\nInjections ({len(run.injections)}), by output and what reached it:")
        for (output, what), found in group_injections(run.injections).items():
            print(f"  {output}: {show(what)}: {len(found)} place(s), e.g. {show(found[0].where)[:150]}")
    for finding in run.audit_findings[:10]:
        print(f"  audit: {show(finding)}")
    return all(row[3] == "PASS" for row in rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, help="run about N files spread over every family")
    parser.add_argument("--families", help=f"comma-separated, of: {', '.join(make_hostile.FAMILIES)}")
    parser.add_argument("--batch", type=int, default=200, help="files per ingest_many call (default 200)")
    parser.add_argument("--show", type=int, default=30, help="how many unexpected files to list (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and the home (their folder is printed)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="warmline-hostile-bench-"))
    try:
        corpus = root / "corpus"
        entries = make_hostile.write(corpus, args.families.split(",") if args.families else None)
        generated = time.perf_counter() - started
        if args.sample:
            entries = check.spread_sample(entries, args.sample)
        print(f"corpus: {len(entries)} files generated in {generated:.1f} s into {corpus}", flush=True)
        ref = load_reference(SHIPPED_REFERENCE)
        layout = make_home(root / "home")
        sampler = MemorySampler()
        sampler.start()
        try:
            ingestor = Ingestor(layout, ref, quiet_seconds=0)  # files are complete when landed: no quiet watch
            try:
                run = check.run(entries, corpus, layout, ingestor, root, batch=args.batch)
                workers = ingestor.reader.workers_started
            finally:
                ingestor.reader.close()  # its workers end with it
        finally:
            peaks = sampler.stop()
        total = time.perf_counter() - started
        print(f"run on {dt.date.today()}, {os.cpu_count()} cores; home {layout.home}\n")
        ok = report(run, peaks, bool(args.sample), total, workers, args.show)
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
