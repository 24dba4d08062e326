"""Does a change of the code keep warmline's results? The worked example run through two trees, compared.

    .venv/bin/python benchmarks/same_results.py --before <git revision> [--after <git revision>] [--keep]

Each tree (a git worktree of the revision; `--after` defaults to the working tree) runs, as a user would, with
its own code: `warmline init`, `warmline demo`, `warmline run --date 2023-12-20`, on one `prefect server start`
of this run. Then it compares, and prints:

- every table of raw.* and every view of marts.* in the warehouse, row for row, with what is expected to
  differ between two runs left out: the times files were received and processed, and the receipts' ids (which
  hash the time a file landed) replaced by the file's name;
- the bytes of each file of the day's bulletin: bulletin.md and chart.png byte for byte, bulletin.docx by its
  text (the package carries the time it was written), figures.csv with the receipts' ids replaced by names.

Prints a line per table and file, `same` or what differs; exits 1 when anything differs. Asserts nothing else.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

REPO = Path(__file__).resolve().parent.parent
DAY = "2023-12-20"
VOLATILE = {"received_at", "processed_at", "reread_at", "published_at", "archive_path", "report_path",
            "computed_at", "sha256"}  # what two runs of the same files differ in by design


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


def run_tree(tree: Path, home: Path, api: str) -> None:
    """The worked example through `tree`'s own command line, in a fresh home."""
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WARMLINE_"))}
    env.update(PYTHONPATH=str(tree), WARMLINE_HOME=str(home), PREFECT_API_URL=api, COLUMNS="200")
    for args in (["init"], ["demo"], ["run", "--date", DAY]):
        done = subprocess.run([sys.executable, "-c", "from flows.cli import app; app()", *args], cwd=home, env=env,
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise SystemExit(f"{tree}: warmline {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


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
    rows = [tuple(ids.get(v, v) if isinstance(v, str) else v for v in (row[i] for i in kept))
            for row in cursor.fetchall()]
    return sorted(rows, key=repr)


def bulletin_parts(home: Path, ids: dict[str, str]) -> dict[str, bytes]:
    folder = home / "data" / "bulletins" / DAY
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
            run_tree(tree, work / f"home-{label}", api)
        print(f"before: {args.before}; after: {args.after or 'the working tree'}; the worked example of {DAY}")
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
        before_parts = bulletin_parts(work / "home-before", ids["before"])
        after_parts = bulletin_parts(work / "home-after", ids["after"])
        for name in before_parts:
            same = before_parts[name] == after_parts[name]
            differ += not same
            digest = hashlib.sha256(after_parts[name]).hexdigest()[:12]
            print(f"bulletin {name}: {'same' if same else 'DIFFERS'} ({len(after_parts[name])} bytes, {digest})")
        for con in cons.values():
            con.close()
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
