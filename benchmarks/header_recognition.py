"""What reading headers by meaning costs a file (issue 13): parse time per file now against a baseline tree.

    .venv/bin/python benchmarks/header_recognition.py [--baseline 263aac3] [--units 40 --days 25] [--rounds 5]

Two corpora, each read from disk once into sheets (python_calamine) so that only parsing is timed:
- the generated submissions of benchmarks/generate.py (the template's headers: every one a catalogue alias);
- the layout corpus of tests/fixtures/make_layouts.py (list sheets, meta lines together, headers in other
  words: most headers inferred), each file repeated to the same count.
Each is parsed with SubmissionParser (sheets → figure cells, header readings, unmapped cells) once to warm the
caches, then `--rounds` times; the median per file is printed. The same is done with the baseline tree (a git
worktree at `--baseline`, before headers were read by meaning), in a child process, on the same files. The
difference is what recognition adds to a file once warm. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Runs in a child with the tree to measure first on sys.path: parse the pickled sheets, print ms a file.
PARSE = r"""
import pickle, statistics, sys, time
from pathlib import Path
tree, sheets_file, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, tree)
try:
    from transforms.core.reference import load_reference
    from transforms.read.parser import SubmissionParser
    from transforms.read.workbook import Sheet
except ImportError:  # a tree from before transforms/ had a package per stage
    from transforms.reference import load_reference
    from transforms.submission import SubmissionParser
    from transforms.workbook import Sheet
files = pickle.loads(Path(sheets_file).read_bytes())
parser = SubmissionParser(load_reference(Path(tree) / "data" / "reference"))
docs = [([Sheet(*s) for s in sheets], name) for name, sheets in files]
def once():
    started = time.perf_counter()
    for sheets, name in docs:
        parser.parse(sheets, name)
    return (time.perf_counter() - started) / len(docs) * 1000
first = once()
times = [once() for _ in range(rounds)]
print(f"{first:.4f} {statistics.median(times):.4f} {min(times):.4f}")
"""


def read_all(folder: Path, repeat_to: int | None = None) -> list:
    """Every workbook or CSV in `folder` as (file name, [(sheet name, rows, merged)]), read once."""
    sys.path.insert(0, str(REPO))
    from transforms.read.workbook import SUPPORTED_SUFFIXES, read_sheets

    files = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            sheets = read_sheets(path.read_bytes(), path.name)
            files.append((path.name, [(s.name, s.rows, s.merged) for s in sheets]))
    if repeat_to:
        files = [files[i % len(files)] for i in range(repeat_to)]
    return files


def timed(tree: Path, files: list, rounds: int) -> tuple[float, float, float]:
    with tempfile.NamedTemporaryFile(suffix=".pickle") as fh:
        fh.write(pickle.dumps(files))
        fh.flush()
        out = subprocess.run([sys.executable, "-c", PARSE, str(tree), fh.name, str(rounds)], capture_output=True,
                             text=True, check=True, cwd=tree)
    first, median, best = (float(x) for x in out.stdout.split())
    return first, median, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="263aac3", help="the tree to compare with (a git revision)")
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--days", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="warmline-headers-") as scratch:
        root = Path(scratch)
        generated, layouts, baseline = root / "generated", root / "layouts", root / "baseline"
        subprocess.run([sys.executable, str(REPO / "benchmarks/generate.py"), "--units", str(args.units), "--days",
                        str(args.days), "--out", str(generated), "--home", str(root / "home")], check=True,
                       capture_output=True)
        subprocess.run([sys.executable, str(REPO / "tests/fixtures/make_layouts.py"), str(layouts)], check=True,
                       capture_output=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(baseline), args.baseline],
                       check=True, capture_output=True)
        try:
            corpora = {"generated (template headers)": read_all(generated)}
            corpora["layouts (headers in other words)"] = read_all(layouts, repeat_to=len(corpora[
                "generated (template headers)"]))
            for name, files in corpora.items():
                print(f"\n## {name}: {len(files)} files")
                rows = {}
                for label, tree in (("baseline " + args.baseline, baseline), ("now", REPO)):
                    first, median, best = timed(tree, files, args.rounds)
                    rows[label] = median
                    print(f"{label:>18}: first pass {first:.3f} ms a file; warm median {median:.3f} ms, "
                          f"best {best:.3f} ms")
                before, now = rows.values()
                print(f"{'added':>18}: {now - before:+.3f} ms a file once warm ({(now / before - 1):+.0%})")
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)],
                           capture_output=True)
    print(json.dumps({"note": "medians of parse time per file, ms"}))


if __name__ == "__main__":
    main()
