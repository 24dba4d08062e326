"""How warmline's cost grows with the work (issue 9): every figure in one run, printed; nothing asserted.

    .venv/bin/python benchmarks/run_all.py [--units 40 --days 25] [--keep]

In a temporary folder, with its own `prefect server start` (SQLite), it measures:

1. Prefect's own start: an empty flow run in a fresh process, configured as the CLI configures it.
2. Bulk ingest: `warmline ingest` of units × days generated files (1,000 by default) waiting in the inbox;
   again with WARMLINE_TASK_RUNNER=dask (a LocalCluster of 2 worker processes) when prefect-dask is installed.
3. The floor: the same files read with calamine and inserted into DuckDB at once (benchmarks/bare_floor.py),
   and the same files ingested in-process with Ingestor.ingest_many (no Prefect): a file's cost once started.
4. `warmline run --date <last day>` with nothing new in the inbox, twice on 1,000 submissions, once on 10,000.
5. Adding one file to a warehouse holding 10, 1,000 and 10,000 submissions: `warmline ingest FILE`; the same
   in-process (no Prefect) split into preparing the warehouse, ingesting and publishing the analysts' copy;
   publishing split into the copy and the Parquet marts; and `warmline ingest FILE` with
   WARMLINE_PUBLISH_INTERVAL=3600 (no publication after the load).

Every command runs as a child process; its peak memory is the largest resident set of the child and of the
processes it waited for (os.wait4), i.e. the biggest single process, not their sum. The warehouses of 10 and
1,000 submissions are built by the real path; the one of 10,000 is the 1,000 real ones copied nine times in
SQL onto 360 more (synthetic) units, rows shaped exactly like the real ones (see `clone`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent

EMPTY_FLOW = """
import sys
from pathlib import Path
from flows.runtime import configure_prefect
from transforms.core.layout import Layout
configure_prefect(Layout(Path(sys.argv[1])))
from prefect import flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

@flow(name="empty")
def empty():
    return None

with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
    empty()
"""


# -- measuring child processes ----------------------------------------------------------------------------------

class Ran:
    """One child process: wall seconds, peak resident MiB, exit status and what it printed."""

    def __init__(self, seconds: float, peak_mib: float, status: int, output: str):
        self.seconds, self.peak_mib, self.status, self.output = seconds, peak_mib, status, output

    def line(self, prefix: str) -> str:
        return next((ln for ln in self.output.splitlines() if ln.startswith(prefix)), "")


def measure(cmd: list[str], env: dict, cwd: Path | None = None) -> Ran:
    """Run `cmd` to its end; its time and the peak RSS of it and its waited-for descendants."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    held = process.returncode == 3 and "NOT PUBLISHED" in text
    if held:  # the generated days have falling figures (corrections): the gate holds the day back, as it should
        print(f"   {' '.join(cmd[:4])}: exit 3, " + next(line for line in text.splitlines() if "NOT PUBLISHED" in line),
              flush=True)
    elif process.returncode != 0:
        print(f"!! {' '.join(cmd[:4])} exited {process.returncode}:\n{text[-3000:]}", flush=True)
    return Ran(seconds, usage.ru_maxrss / 1024, process.returncode, text)


def warmline(args: list[str], env: dict, home: Path) -> Ran:
    return measure([str(BIN / "warmline"), *args], {**env, "WARMLINE_HOME": str(home)})


# -- machine and server ----------------------------------------------------------------------------------------

def machine() -> str:
    mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
    gib = int(mem.split()[1]) / 2**20
    return (f"{platform.platform()}, {os.cpu_count()} cores (nproc), {gib:.1f} GiB RAM, "
            f"Python {platform.python_version()}")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(work: Path, env: dict) -> tuple[subprocess.Popen, str, float]:
    import httpx

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    started = time.monotonic()
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while True:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return server, api, time.monotonic() - started
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() - started > 180:
                raise SystemExit("prefect server did not start")
            time.sleep(0.3)


# -- homes ------------------------------------------------------------------------------------------------------

def fill_inbox(home: Path, files: list[Path]) -> None:
    inbox = home / "data" / "raw" / "inbox"
    for f in files:
        shutil.copy2(f, inbox / f.name)  # keeps the landing time (mtime): the same receipt everywhere


def copy_home(source: Path, target: Path) -> None:
    """A home with the same reference data and warehouse (archive and reports are not needed to add files)."""
    from transforms.core.layout import Layout

    src, dst = Layout(source), Layout(target)
    for folder in dst.folders():
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src.reference, dst.reference, dirs_exist_ok=True)
    shutil.copy2(src.warehouse, dst.warehouse)


CLONE = {
    "units": "CREATE TEMP TABLE unit_map (copy INTEGER, old_code VARCHAR, new_code VARCHAR, old_name VARCHAR, "
             "new_name VARCHAR)",
    "ids": "CREATE TEMP TABLE id_map AS SELECT c.copy, s.submission_id AS old_id, "
           "left(sha256(c.copy || '|' || s.submission_id), 12) AS new_id, m.old_code, m.new_code, "
           "coalesce(m.old_name, '') AS old_name, coalesce(m.new_name, '') AS new_name "
           "FROM raw.submissions s CROSS JOIN (SELECT DISTINCT copy FROM unit_map) c "
           "LEFT JOIN unit_map m ON m.copy = c.copy AND s.unit_code = m.old_code",
    "submissions": "INSERT INTO raw.submissions SELECT i.new_id, CASE WHEN i.old_name = '' THEN s.file_name "
                   "ELSE replace(s.file_name, i.old_name, i.new_name) END, "
                   "sha256(i.copy || '|' || s.sha256), s.received_at, i.new_code, s.as_of_date, s.status, "
                   "s.reason, s.archive_path, s.report_path, s.processed_at, s.figures_read, s.warnings "
                   "FROM raw.submissions s JOIN id_map i ON s.submission_id = i.old_id",
    "figures": "INSERT INTO raw.figures SELECT i.new_id, f.sheet, f.cell, f.row_label, f.row_role, f.indicator, "
               "f.item_type, f.value, f.qualifier, f.raw_text FROM raw.figures f JOIN id_map i "
               "ON f.submission_id = i.old_id",
    "facts": "INSERT INTO raw.facts SELECT i.new_id, i.new_code, f.as_of_date, f.indicator, f.item_type, f.value, "
             "f.qualifier, f.parts_unspecified, f.source_cells, f.raw_text FROM raw.facts f JOIN id_map i "
             "ON f.submission_id = i.old_id",
    "issues": "INSERT INTO raw.issues SELECT i.new_id, x.severity, x.rule, x.sheet, x.cell, x.raw_text, "
              "x.message_zh, x.message_en FROM raw.issues x JOIN id_map i ON x.submission_id = i.old_id",
}


def clone(home: Path, units: int, copies: int) -> int:
    """Copy every submission of `home` `copies` more times onto other units (code and name replaced); returns
    the submissions now held. Units beyond the first `units` are synthetic, written into the home's reference."""
    import duckdb

    from benchmarks.generate import unit_names, write_reference
    from transforms.core.layout import Layout

    ref = write_reference(home, units * (copies + 1))
    names = unit_names(ref, units * (copies + 1))
    code_of = {u.name: u.code for u in ref.units}
    con = duckdb.connect(str(Layout(home).warehouse))
    try:
        con.execute(CLONE["units"])
        con.executemany("INSERT INTO unit_map VALUES (?, ?, ?, ?, ?)",
                        [(k, code_of[names[u]], code_of[names[k * units + u]], names[u], names[k * units + u])
                         for k in range(1, copies + 1) for u in range(units)])
        con.execute("BEGIN")
        con.execute(CLONE["ids"])
        for step in ("submissions", "figures", "facts", "issues"):
            con.execute(CLONE[step])
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        return con.execute("SELECT count(*) FROM raw.submissions").fetchone()[0]
    finally:
        con.close()


# -- in-process: one file added, split by step (run in a child process by the parent) ---------------------------

def add_one_in_process(home: Path, files: list[Path]) -> None:
    """Print JSON: setting up the Ingestor, then per file: prepare, ingest, publish seconds (no Prefect)."""
    from transforms import warehouse
    from transforms.core.layout import Layout
    from transforms.core.reference import load_reference
    from transforms.ingest.ingestor import Ingestor
    from transforms.warehouse.analysts_copy import export_parquet, publish_analytics

    layout = Layout(home)
    started = time.perf_counter()
    ingestor = Ingestor(layout, load_reference(layout.reference), quiet_seconds=0)
    result = {"setup": time.perf_counter() - started, "files": []}
    for f in files:
        t0 = time.perf_counter()
        con = warehouse.connect(layout.warehouse)
        warehouse.prepare(con, ingestor.ref)
        t1 = time.perf_counter()
        many = getattr(ingestor, "ingest_many", None)  # the batch path the flows use, where there is one
        outcome = many([f], con)[0] if many else ingestor.ingest(f, con)
        t2 = time.perf_counter()
        publish_analytics(con, layout.analytics)  # publish(), in its two steps
        t25 = time.perf_counter()
        export_parquet(con, layout.parquet)
        t3 = time.perf_counter()
        con.close()
        result["files"].append({"prepare": t1 - t0, "ingest": t2 - t1, "publish": t3 - t2, "total": t3 - t0,
                                "copy": t25 - t2, "parquet": t3 - t25,
                                "status": outcome.status})
    print(json.dumps(result))


def bulk_in_process(home: Path) -> None:
    """Print JSON: setting up the Ingestor (Great Expectations' import and context), then ingesting everything in
    the inbox with Ingestor.ingest_many as the flow's task does, without Prefect; the files' statuses."""
    from collections import Counter

    from transforms import warehouse
    from transforms.core.layout import Layout
    from transforms.core.reference import load_reference
    from transforms.ingest.ingestor import Ingestor
    from transforms.validate.suites import SubmissionValidator

    layout = Layout(home)
    started = time.perf_counter()
    ref = load_reference(layout.reference)
    ingestor = Ingestor(layout, ref, SubmissionValidator(ref, quality_dir=layout.quality), quiet_seconds=0)
    con = warehouse.connect(layout.warehouse)
    warehouse.prepare(con, ref)
    ready = time.perf_counter()
    files = sorted(layout.inbox.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
    outcomes = ingestor.ingest_many(files, con)
    done = time.perf_counter()
    con.close()
    print(json.dumps({"setup": ready - started, "ingest": done - ready, "files": len(files),
                      "statuses": Counter(o.status for o in outcomes)}))


# -- the run ----------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--days", type=int, default=25)
    parser.add_argument("--copies", type=int, default=9, help="extra copies for the largest warehouse")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--add-one", nargs="+", metavar=("HOME", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--bulk-in-process", metavar="HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.add_one:
        add_one_in_process(Path(args.add_one[0]), [Path(f) for f in args.add_one[1:]])
        return
    if args.bulk_in_process:
        bulk_in_process(Path(args.bulk_in_process))
        return

    from benchmarks.generate import generate, write_reference

    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="warmline-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WARMLINE_"))}
    env.update(PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_LOGGING_LEVEL="WARNING", PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100",
               PYTHONPATH=str(REPO))
    env.update({k: v for k, v in os.environ.items() if k.startswith("WARMLINE_BENCH_")})
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}")
    server, api, server_seconds = start_server(work, env)
    env["PREFECT_API_URL"] = api
    try:
        n = args.units * args.days
        bulk = work / "bulk"
        ref = write_reference(bulk, args.units)
        started = time.perf_counter()
        made = generate(work / "sources", ref, args.units, args.days)
        probes = generate(work / "probes", ref, 1, 5, seed=11, start_day=args.days).files
        files = list(made.files)
        print(f"generated {len(files)} files ({args.units} units x {args.days} days: {made.corrections} corrections, "
              f"{made.duplicates} duplicates, {made.defective} defective), "
              f"{sum(f.stat().st_size for f in files) / 2**20:.1f} MiB, in {time.perf_counter() - started:.1f} s")
        print(f"prefect server start to healthy: {server_seconds:.1f} s")

        print("\n## Prefect's own start (empty flow run in a fresh process, against the server)")
        empties = [measure([sys.executable, "-c", EMPTY_FLOW, str(bulk)], env, REPO) for _ in range(2)]
        base = min(e.seconds for e in empties)
        print("empty flow: " + ", ".join(f"{e.seconds:.2f} s / {e.peak_mib:.0f} MiB" for e in empties))

        print(f"\n## Bulk ingest of {n} files: warmline ingest")
        init = warmline(["init"], env, bulk)
        fill_inbox(bulk, files)
        ran = warmline(["ingest"], env, bulk)
        print(f"warmline ingest: {ran.seconds:.1f} s, {n / ran.seconds:.1f} files/s "
              f"({(ran.seconds - base) / n * 1000:.1f} ms a file after Prefect's start), "
              f"peak {ran.peak_mib:.0f} MiB, exit {ran.status}; init before it {init.seconds:.1f} s")
        print(f"  {ran.line('Files:')}")

        try:
            import prefect_dask  # noqa: F401
        except ImportError:
            print("(prefect-dask not installed: no Dask figures)")
        else:
            dask_home = work / "bulk_dask"
            write_reference(dask_home, args.units)
            warmline(["init"], env, dask_home)
            fill_inbox(dask_home, files)
            dask_env = {**env, "WARMLINE_TASK_RUNNER": "dask", "WARMLINE_DASK_WORKERS": "2",
                        "DASK_LOGGING__DISTRIBUTED": "error"}
            on_dask = warmline(["ingest"], dask_env, dask_home)
            print(f"warmline ingest, reading and validation on Dask (LocalCluster, 2 worker processes): "
                  f"{on_dask.seconds:.1f} s, {n / on_dask.seconds:.1f} files/s, peak {on_dask.peak_mib:.0f} MiB "
                  f"(largest process), exit {on_dask.status}")
            print(f"  {on_dask.line('Files:')}")
            shutil.rmtree(dask_home, ignore_errors=True)

        floor_db = work / "floor.duckdb"
        bare = measure([sys.executable, str(REPO / "benchmarks" / "bare_floor.py"), str(work / "sources"),
                        str(floor_db)], env)
        inner = float(bare.line("files=").rpartition("seconds=")[2] or "nan")
        print(f"bare floor (calamine + one DuckDB insert): {bare.seconds:.2f} s, {n / bare.seconds:.0f} files/s "
              f"({inner:.2f} s after imports), peak {bare.peak_mib:.0f} MiB; {bare.line('files=')}")
        print(f"ratio to the floor: {ran.seconds / bare.seconds:.1f}x whole command; "
              f"{(ran.seconds - base) / inner:.1f}x per file once started (target: 3x)")
        plain = measure([sys.executable, str(REPO / "benchmarks" / "bare_floor.py"), str(work / "sources"),
                         str(work / "plain.duckdb"), "--reader", "openpyxl"], env)
        print(f"plain script (pandas + openpyxl + one DuckDB insert, validates nothing): {plain.seconds:.2f} s, "
              f"{n / plain.seconds:.0f} files/s, peak {plain.peak_mib:.0f} MiB; {plain.line('files=')}")
        print(f"ratio to the plain script: {ran.seconds / plain.seconds:.2f}x whole command (target: at most 1x)")
        # the same files once more, in this machine's process without Prefect: what a file costs once Great
        # Expectations is loaded, against the floor's cost once calamine and DuckDB are
        quiet = work / "bulk_in_process"
        write_reference(quiet, args.units)
        warmline(["init"], env, quiet)
        fill_inbox(quiet, files)
        inproc = measure([sys.executable, str(Path(__file__).resolve()), "--bulk-in-process", str(quiet)], env, REPO)
        try:
            alone = json.loads(inproc.output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            alone = {"setup": float("nan"), "ingest": float("nan"), "statuses": {}}
        print(f"in-process (Ingestor.ingest_many, no Prefect): setup {alone['setup']:.1f} s (Great Expectations), "
              f"ingest {alone['ingest']:.1f} s = {alone['ingest'] / n * 1000:.2f} ms a file, peak "
              f"{inproc.peak_mib:.0f} MiB; {alone['statuses']}")
        print(f"ratio to the floor per file, both once started: {alone['ingest'] / inner:.1f}x")
        shutil.rmtree(quiet, ignore_errors=True)

        last_day = ref.campaign.start_date.toordinal() + args.days - 1
        import datetime as dt
        day = dt.date.fromordinal(last_day).isoformat()
        print(f"\n## warmline run --date {day} with nothing new in the inbox (first: the day's first roll-up)")
        runs = {}
        one_k = work / "home_1000"
        copy_home(bulk, one_k)  # before any run: 1,000 submissions and nothing else
        for label in ("first", "again"):
            r = warmline(["run", "--date", day], env, bulk)
            runs[label] = r
            print(f"{n} submissions, {label}: {r.seconds:.1f} s, {r.seconds - base:+.1f} s over Prefect's start, "
                  f"peak {r.peak_mib:.0f} MiB, exit {r.status}")

        print("\n## Adding one file")
        ten = work / "home_10"
        write_reference(ten, args.units)
        warmline(["init"], env, ten)
        fill_inbox(ten, files[:10])
        warmline(["ingest"], env, ten)
        big = work / "home_10000"
        copy_home(bulk, big)
        started = time.perf_counter()
        held = clone(big, args.units, args.copies)
        print(f"(warehouse of {held} submissions cloned in SQL in {time.perf_counter() - started:.1f} s)")
        homes = {10: ten, n: one_k, held: big}
        from transforms.core.layout import Layout
        from transforms.warehouse.analysts_copy import publish
        for home in homes.values():  # the analysts' copy a home has once it has been running (a copied home has none)
            publish(Layout(home))
        for size, home in homes.items():
            mib = (home / "data" / "warehouse" / "warmline.duckdb").stat().st_size / 2**20
            cli = warmline(["ingest", str(probes[0])], env, home)
            inproc = measure([sys.executable, str(Path(__file__).resolve()), "--add-one", str(home),
                              *map(str, probes[2:])], env, REPO)
            try:
                steps = json.loads(inproc.output.strip().splitlines()[-1])
            except (ValueError, IndexError):
                steps = {"setup": float("nan"), "files": []}
            per = {k: statistics.median(f[k] for f in steps["files"]) if steps["files"] else float("nan")
                   for k in ("prepare", "ingest", "publish", "total", "copy", "parquet")}
            later = warmline(["ingest", str(probes[1])], {**env, "WARMLINE_PUBLISH_INTERVAL": "3600"}, home)
            print(f"{size:>6} submissions ({mib:.0f} MiB): warmline ingest FILE {cli.seconds:.1f} s "
                  f"({cli.seconds - base:+.1f} s over Prefect's start), peak {cli.peak_mib:.0f} MiB | in-process "
                  f"per file {per['total'] * 1000:.0f} ms = prepare {per['prepare'] * 1000:.0f} + ingest "
                  f"{per['ingest'] * 1000:.0f} + publish {per['publish'] * 1000:.0f} ms (copy "
                  f"{per['copy'] * 1000:.0f}, Parquet {per['parquet'] * 1000:.0f}) (setup "
                  f"{steps['setup']:.1f} s), peak {inproc.peak_mib:.0f} MiB | publishing at most hourly "
                  f"(WARMLINE_PUBLISH_INTERVAL=3600): warmline ingest FILE {later.seconds:.1f} s, "
                  f"peak {later.peak_mib:.0f} MiB")
        print()
        for label in ("first", "again"):
            big_run = warmline(["run", "--date", day], env, big)
            print(f"warmline run --date {day} on {held} submissions, nothing new, {label}: {big_run.seconds:.1f} s "
                  f"({big_run.seconds - base:+.1f} s over Prefect's start), peak {big_run.peak_mib:.0f} MiB")
        print(f"\nload average at end: {load()}; whole benchmark {time.monotonic() - began:.0f} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
