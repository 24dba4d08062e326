"""Memory of ingesting files one at a time in one process, without Prefect: what the writer does per landed file
(an ingest of one file and a publication), so that growth seen in the service's writer can be told apart from
growth in warmline's own code. Prints; asserts nothing.

    .venv/bin/python benchmarks/ingest_memory_in_process.py [--files 1000] [--no-publish]

Generates `--files` workbooks (benchmarks/generate.py: 40 units, as many days as needed) into a temporary home,
warms up as the writer does (flows.ingest_submission.warm_up), then lands and ingests them one by one, each on
its own connection and followed by a publication of the analysts' copy, as the writer's task does. Prints the
resident memory every 100 files and the least-squares growth per 100 files from the 100th on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generate import generate, write_reference  # noqa: E402

from transforms.core.layout import Layout  # noqa: E402
from transforms.core.memory import release_free_memory, resident_mib  # noqa: E402


def slope_per_100(samples: list[tuple[int, float]]) -> float:
    n = len(samples)
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    spread = sum((x - mean_x) ** 2 for x, _ in samples) or 1.0
    return 100 * sum((x - mean_x) * (y - mean_y) for x, y in samples) / spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--no-publish", action="store_true", help="ingest only, no publication after each file")
    parser.add_argument("--threads", type=int, default=0,
                        help="run each file in a pool of this many threads, a new thread now and then, as Prefect's "
                             "task worker runs each task (default 0: all in the main thread)")
    parser.add_argument("--trace", action="store_true", help="trace Python's allocations (tracemalloc) and print where "
                                                             "they grew from the 200th file to the last")
    parser.add_argument("--trim", action="store_true", help="return freed heap to the system after each file "
                                                            "(glibc malloc_trim), as the writer does")
    args = parser.parse_args()
    units = 40
    with tempfile.TemporaryDirectory(prefix="warmline-memory-") as work:
        root = Path(work)
        layout = Layout(root / "home")
        layout.create()
        ref = write_reference(layout.home, units)
        generate(root / "sources", ref, units, -(-args.files // units))
        files = sorted((root / "sources").iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))[:args.files]

        from flows.ingest_submission import ingestor_for, warm_up
        from transforms import warehouse
        from transforms.warehouse.analysts_copy import publish

        if args.trace:
            tracemalloc.start(12)
        warm_up(str(layout.home))
        ingestor = ingestor_for(str(layout.home))
        print(f"{len(files)} files; after warming up: {resident_mib():.0f} MiB", flush=True)
        samples, started = [], time.perf_counter()
        def one_file(landed: Path) -> None:
            con = warehouse.connect(layout.warehouse)
            try:
                ingestor.ingest_many([landed], con, complete=[landed])
                if not args.no_publish:
                    publish(layout, con)
            finally:
                con.close()
            if args.trim:
                release_free_memory()

        pool = None
        for n, source in enumerate(files, start=1):
            landed = layout.inbox / source.name
            shutil.copy2(source, landed)
            if args.threads:
                if pool is None or n % 25 == 0:  # Prefect's workers come and go: fresh threads, fresh arenas
                    if pool is not None:
                        pool.shutdown()
                    pool = ThreadPoolExecutor(args.threads)
                pool.submit(one_file, landed).result()
            else:
                one_file(landed)
            if n % 100 == 0:
                samples.append((n, resident_mib()))
                traced = f", Python's own {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB" if args.trace else ""
                print(f"  after {n:5d} files: {samples[-1][1]:.0f} MiB{traced}", flush=True)
            if args.trace and n == 200:
                first = tracemalloc.take_snapshot()
        ingestor.reader.close()
        if args.trace and len(files) > 200:
            grown = tracemalloc.take_snapshot().compare_to(first, "traceback")
            print("where Python's allocations grew from the 200th file on (top 8):")
            for stat in grown[:8]:
                print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
                      + " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(stat.traceback[-6:])))
        seconds = time.perf_counter() - started
        grown = [s for s in samples if s[0] >= 100]
        if len(grown) >= 2:
            print(f"growth from the 100th file on: {slope_per_100(grown):+.2f} MiB per 100 files; "
                  f"{grown[0][1]:.0f} -> {grown[-1][1]:.0f} MiB; {seconds / len(files) * 1000:.0f} ms a file "
                  f"({'ingest' if args.no_publish else 'ingest and publish'}); load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
