"""Does a change of the code keep warmline's results? The worked example run through two trees, compared.

    .venv/bin/python benchmarks/same_results.py --before <git revision> [--after <git revision>] [--keep]
        [--extra FOLDER]

Each tree (a git worktree of the revision; `--after` defaults to the working tree) runs, as a user would, with
its own code: `warmline init`, `warmline demo`, `warmline run --date 2023-12-20`, on one `prefect server start`
of this run. Then it compares, and prints:

- every table of raw.* and every view of marts.* in the warehouse, row for row, with what is expected to
  differ between two runs left out: the times files were received and processed, and the receipts' ids (which
  hash the time a file landed) replaced by the file's name;
- the bytes of each file of the day's bulletin: bulletin.md and chart.png byte for byte, bulletin.docx by its
  text (the package carries the time it was written), figures.csv with the receipts' ids replaced by names.

With `--extra FOLDER` (the test corpus: `python tests/fixtures/make_fixtures.py FOLDER`), its workbooks land in
each home's inbox too, a second apart in name order, before the run: files rejected and warned about for every
reason, corrections and other layouts. Then the clerks' rejection reports are compared as well, line for line,
with the lines that carry a receipt's time or id left out.

Prints a line per table and file, `same` or what differs; exits 1 when anything differs. Asserts nothing else.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

REPO = Path(__file__).resolve().parent.parent
_ID = re.compile(r"\(([0-9a-f]{12})\)")  # a receipt's id as a sentence quotes it
DAY = "2023-12-20"
# what two runs of the same files differ in by design
VOLATILE = {"received_at", "received_local", "processed_at", "reread_at", "revised_at", "published_at",
            "archive_path", "report_path", "computed_at", "run_at", "sha256"}


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WARMLINE_"))}
    env.update(PREFECT_HOME=str(folder), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=open(folder / "server.log", "ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return server, api
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit(f"the Prefect server did not start; see {folder / 'server.log'}")


def run_tree(tree: Path, home: Path, api: str, extra: Path | None = None) -> None:
    """The worked example (and the workbooks of `extra`) through `tree`'s own command line, in a fresh home."""
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WARMLINE_"))}
    env.update(PYTHONPATH=str(tree), WARMLINE_HOME=str(home), PREFECT_API_URL=api, COLUMNS="200")
    for args in (["init"], ["demo"], ["run", "--date", DAY]):
        if args[0] == "run" and extra is not None:
            land_extra(extra, home / "data" / "raw" / "inbox")
        done = subprocess.run([sys.executable, "-c", "from flows.cli import app; app()", *args], cwd=home, env=env,
                              capture_output=True, text=True, timeout=900)
        if done.returncode not in (0, 3):  # 3: the day not published, which is a result to compare too
            raise SystemExit(f"{tree}: warmline {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def land_extra(folder: Path, inbox: Path) -> None:
    """Every workbook of `folder` into the inbox, a second apart in name order after the worked example's files:
    the same receiving order, so the same supersessions, in both homes."""
    start = time.time() - 3600
    for n, path in enumerate(sorted(p for p in folder.iterdir() if p.suffix.lower() in (".xlsx", ".xls", ".csv",
                                                                                          ".ods", ".xlsm"))):
        target = inbox / path.name
        shutil.copyfile(path, target)
        os.utime(target, (start + n, start + n))


# lines of a rejection report that name its receipt: the time it was received, its id, where it is archived
REPORT_VOLATILE = ("收到时间 Received:", "编号 Submission:", "The original is archived as")


def reports(home: Path) -> dict[str, list[str]]:
    """The rejection reports of a home by the file they are about, without the lines that name the receipt."""
    found = {}
    for path in sorted((home / "data" / "raw" / "rejected").glob("*.txt")):
        about = path.name.rsplit(".", 2)[0]  # <file name>.<submission id>.txt
        found[about] = [line for line in path.read_text(encoding="utf-8").splitlines()
                        if not line.startswith(REPORT_VOLATILE)]
    return found


def relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name = 'raw' UNION ALL "
        "SELECT schema_name, view_name FROM duckdb_views() WHERE schema_name = 'marts' AND NOT internal "
        "ORDER BY ALL").fetchall()]


def names_by_id(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT submission_id, file_name FROM raw.submissions").fetchall())


def table_rows(con: duckdb.DuckDBPyConnection, relation: str, ids: dict[str, str]) -> list[tuple]:
    cursor = con.execute(f"SELECT * FROM {relation}")
    columns = [d[0] for d in cursor.description]
    kept = [i for i, c in enumerate(columns) if c not in VOLATILE]
    rows = [tuple(named(v, ids) if isinstance(v, str) else v for v in (row[i] for i in kept))
            for row in cursor.fetchall()]
    return sorted(rows, key=repr)


def named(text: str, ids: dict[str, str]) -> str:
    """`text` with each receipt's id, whole or quoted in a sentence ('superseded by x.xlsx (de249185181c)'),
    replaced by its file's name."""
    if text in ids:
        return ids[text]
    return _ID.sub(lambda m: f"({ids.get(m.group(1), m.group(1))})", text) if "(" in text else text


def bulletin_parts(home: Path, ids: dict[str, str]) -> dict[str, bytes]:
    folder = home / "data" / "bulletins" / DAY
    if not (folder / "bulletin.md").exists():
        folder = folder / "draft"  # the day held back by a blocking check: its marked draft is what was written
    parts = {}
    for name in ("bulletin.md", "chart.png"):
        parts[name] = (folder / name).read_bytes()
    from docx import Document

    parts["bulletin.docx (text)"] = "\n".join(p.text for p in Document(str(folder / "bulletin.docx")).paragraphs
                                              ).encode()
    with (folder / "figures.csv").open(encoding="utf-8-sig", newline="") as fh:
        out = io.StringIO()
        csv.writer(out).writerows([[ids.get(v, v) for v in row] for row in csv.reader(fh)])
    parts["figures.csv"] = out.getvalue().encode()
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the tree before the change")
    parser.add_argument("--after", help="git revision after it (default: the working tree)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--extra", type=Path, help="a folder of workbooks landed with the worked example's")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="warmline-same-"))
    trees, server = {}, None
    try:
        for label, revision in (("before", args.before), ("after", args.after)):
            if revision is None:
                trees[label] = REPO
                continue
            trees[label] = work / f"tree-{label}"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(trees[label]), revision],
                           check=True, capture_output=True)
        (work / "prefect").mkdir()
        server, api = start_server(work / "prefect")
        for label, tree in trees.items():
            run_tree(tree, work / f"home-{label}", api, args.extra)
        print(f"before: {args.before}; after: {args.after or 'the working tree'}; the worked example of {DAY}"
              + (f" and the workbooks of {args.extra}" if args.extra else ""))
        differ = 0
        cons = {label: duckdb.connect(str(work / f"home-{label}" / "data" / "warehouse" / "warmline.duckdb"),
                                      read_only=True) for label in trees}
        ids = {label: names_by_id(con) for label, con in cons.items()}
        names = {label: relations(con) for label, con in cons.items()}
        for relation in sorted(set(names["before"]) | set(names["after"])):
            if relation not in names["before"] or relation not in names["after"]:
                print(f"{relation}: only {'after' if relation in names['after'] else 'before'}")
                differ += 1
                continue
            before = table_rows(cons["before"], relation, ids["before"])
            after = table_rows(cons["after"], relation, ids["after"])
            same = before == after
            differ += not same
            print(f"{relation}: {'same' if same else 'DIFFERS'} ({len(before)} / {len(after)} rows)")
            if not same:  # the first rows that differ, to see what
                for row in [r for r in before if r not in after][:2]:
                    print(f"    before only: {row}")
                for row in [r for r in after if r not in before][:2]:
                    print(f"    after only:  {row}")
        before_parts = bulletin_parts(work / "home-before", ids["before"])
        after_parts = bulletin_parts(work / "home-after", ids["after"])
        for name in before_parts:
            same = before_parts[name] == after_parts[name]
            differ += not same
            digest = hashlib.sha256(after_parts[name]).hexdigest()[:12]
            print(f"bulletin {name}: {'same' if same else 'DIFFERS'} ({len(after_parts[name])} bytes, {digest})")
        for con in cons.values():
            con.close()
        before_reports, after_reports = reports(work / "home-before"), reports(work / "home-after")
        for about in sorted(set(before_reports) | set(after_reports)):
            same = before_reports.get(about) == after_reports.get(about)
            differ += not same
            if not same:
                print(f"rejection report of {about}: DIFFERS")
        print(f"rejection reports: {len(after_reports)} after, {len(before_reports)} before, "
              f"{sum(before_reports.get(a) == after_reports.get(a) for a in after_reports)} the same")
        print(f"{differ} difference(s)")
        return 1 if differ else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        for label, tree in trees.items():
            if tree != REPO:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                               capture_output=True)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
