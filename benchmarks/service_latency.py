"""Latency of the served pipeline: from a file landing in the inbox to its submission being loaded.

    .venv/bin/python benchmarks/service_latency.py [--files 10] [--burst 4]

Starts a Prefect server (its own SQLite database in a temporary folder) and `warmline serve` on a fresh
home, drops files one at a time (each after the previous one is loaded), then a burst of files at once,
and reads each file's latency from the warehouse: processed_at − received_at (the file's mtime in the inbox).
Prints the figures; asserts nothing. Target (issue 4): under 5 seconds on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms import warehouse  # noqa: E402
from transforms.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.reference import load_reference  # noqa: E402
from transforms.template import FilledRow, write_submission  # noqa: E402

BIN = Path(sys.executable).parent
COUNTIES = ("武江区", "浈江区", "曲江区", "始兴县", "仁化县", "翁源县", "乳源瑶族自治县", "新丰县", "乐昌市", "南雄市")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latencies(path: Path) -> dict[str, float]:
    try:  # read between the service's short write windows
        con = warehouse.connect(path, read_only=True, wait_seconds=10)
    except warehouse.WarehouseBusy:
        return {}
    try:
        rows = con.execute("SELECT file_name, epoch(processed_at) - epoch(received_at) FROM raw.submissions "
                           "WHERE status = 'loaded'").fetchall()
        return dict(rows)
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()


def wait_loaded(db: Path, names: set[str], timeout: float = 120) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = latencies(db)
        if names <= set(seen):
            return {n: seen[n] for n in names}
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {sorted(names - set(latencies(db)))}")


def drop(inbox: Path, source: Path, name: str) -> None:
    tmp = inbox / f".{name}.part"
    tmp.write_bytes(source.read_bytes())
    tmp.rename(inbox / name)


def describe(label: str, values: list[float]) -> str:
    return (f"{label}: n={len(values)} min {min(values):.2f} s, median {statistics.median(values):.2f} s, "
            f"max {max(values):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10, help="files dropped one at a time")
    parser.add_argument("--burst", type=int, default=4, help="files dropped at the same moment")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="warmline-latency-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env.update(PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_LOGGING_LEVEL="WARNING", PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100")
    started = time.monotonic()
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    service = None
    try:
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        server_start = time.monotonic() - started
        home = work / "home"
        home.mkdir()
        env.update(PREFECT_API_URL=api, WARMLINE_HOME=str(home))
        subprocess.run([str(BIN / "warmline"), "init"], env=env, check=True, capture_output=True)
        started = time.monotonic()
        service = subprocess.Popen([str(BIN / "warmline"), "serve"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        for line in service.stdout:
            if line.startswith("warmline serve: watching"):
                break
        serve_start = time.monotonic() - started

        ref = load_reference(SHIPPED_REFERENCE)
        sources = work / "sources"
        inbox = home / "data" / "raw" / "inbox"
        db = home / "data" / "warehouse" / "warmline.duckdb"
        made = []
        for i in range(args.files + args.burst):
            unit, day = COUNTIES[i % len(COUNTIES)], dt.date(2023, 12, 15) + dt.timedelta(days=i // len(COUNTIES))
            name = f"{unit}_{day:%Y%m%d}_{i}.xlsx"
            made.append((name, write_submission(sources / name, ref, unit, day,
                                                [FilledRow("全县", {"走访慰问户数（户）": 100 + i})])))
        one_at_a_time = []
        for name, source in made[:args.files]:
            drop(inbox, source, name)
            one_at_a_time.append(wait_loaded(db, {name})[name])
        burst = made[args.files:]
        for name, source in burst:
            drop(inbox, source, name)
        in_burst = list(wait_loaded(db, {n for n, _ in burst}).values())

        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"prefect server start to healthy: {server_start:.1f} s; warmline serve start to watching: "
              f"{serve_start:.1f} s")
        print(describe("file landed -> loaded, one at a time", one_at_a_time))
        if in_burst:
            print(describe(f"file landed -> loaded, {len(in_burst)} landing together", in_burst))
        print("target: under 5 s per file on a 2-core machine")
    finally:
        for process in (service, server):
            if process is not None:
                os.killpg(process.pid, signal.SIGINT if process is service else signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
