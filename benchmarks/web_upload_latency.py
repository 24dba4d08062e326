"""How soon a clerk sees what became of an upload: from the upload's last byte to the outcome on the page, with
the service running (the default set-up: `warmline serve` on the home's own Prefect server, and `warmline web`).

    .venv/bin/python benchmarks/web_upload_latency.py [--files 10] [--clerks 20] [--spread 30]

1. One at a time (`--files`): a clerk uploads a valid workbook through the unit's link and polls the upload's
   page, as its own refresh does but every 0.1 s, until it shows an outcome; timed from the moment the upload
   request has been answered (the server has the whole body then) to the outcome shown.
2. Many clerks (`--clerks`, each with its own link), each uploading once at a random moment within `--spread`
   seconds (the same minute), all polling; every upload must show an outcome, and after the service stops every
   landed file must have exactly one row in raw.submissions.

Prints figures with the targets beside them (median <= 2 s; every clerk an outcome, each file counted once);
asserts nothing. Exit status 1 when a phase could not finish.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_latency import (Submissions, clean_environment, describe, end_leftovers, free_port,  # noqa: E402
                             load_note, machine_facts, read_submissions, stop_group, verdict, warmline_command)

from transforms.core.reference import load_reference  # noqa: E402

LINK = re.compile(r"^http://\S+/u/(\S+)$", re.M)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
STATE = re.compile(r'id="state" data-state="([a-z]+)"')


class Clerk:
    """A browser-like client of one unit's link: uploads, then polls the upload's page until it shows an outcome."""

    def __init__(self, base: str, token: str):
        self.client = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
        unit = self.client.get(f"/u/{token}")
        if unit.status_code != 303:
            raise RuntimeError(f"the link answered {unit.status_code}")
        self.csrf = CSRF.search(self.client.get("/unit").text).group(1)

    def upload(self, workbook: Path, timeout: float) -> tuple[float, str, str]:
        """(seconds from the upload answered to the outcome shown, the outcome, the upload's page)"""
        answer = self.client.post("/unit/upload", data={"csrf": self.csrf},
                                  files={"file": (workbook.name, workbook.read_bytes())})
        answered = time.monotonic()
        if answer.status_code != 303:
            raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:200]}")
        page = answer.headers["location"]
        deadline = answered + timeout
        while time.monotonic() < deadline:
            state = STATE.search(self.client.get(page).text)
            if state and state.group(1) != "waiting":
                return time.monotonic() - answered, state.group(1), page
            time.sleep(0.1)
        raise RuntimeError(f"no outcome on {page} after {timeout:.0f} s")


def wait_until_answers(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10, help="uploads one at a time (default 10)")
    parser.add_argument("--clerks", type=int, default=20, help="clerks uploading within the same minute (default 20)")
    parser.add_argument("--spread", type=float, default=30.0, help="seconds the clerks' uploads are spread over")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for an outcome")
    args = parser.parse_args()

    for line in machine_facts(None):
        print(line)
    marker = uuid.uuid4().hex
    work = Path(tempfile.mkdtemp(prefix="warmline-web-"))
    env = clean_environment(work / "prefect", marker)
    home = work / "home"
    home.mkdir()
    env["WARMLINE_HOME"] = str(home)
    warmline = warmline_command(None)
    run = lambda *a, **k: subprocess.run([*warmline, *a], env=env, cwd=home, capture_output=True,  # noqa: E731
                                         text=True, timeout=300, **k)
    run("init")
    ref = load_reference(home / "data" / "reference")
    submissions = Submissions(ref, work / "sources")
    (work / "sources").mkdir()
    service = web = None
    failed = ""
    try:
        service = subprocess.Popen([*warmline, "serve"], env=env, cwd=home, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        port = free_port()
        web = subprocess.Popen([*warmline, "web", "--port", str(port)], env=env, cwd=home,
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{base}/static/warmline.css", 60)

        def clerk_for(unit_name: str) -> Clerk:
            made = run("web", "token", "add", unit_name)
            return Clerk(base, LINK.search(made.stdout).group(1))

        # the service takes its first file once its server and writer are up: one upload to wait for that
        first = submissions.next(1)[0]
        started = time.monotonic()
        clerk_for(first[1].name.split("_")[0]).upload(first[1], 300)
        print(f"\nfirst upload, the service starting: outcome after {time.monotonic() - started:.1f} s")

        print(f"\n## One at a time ({args.files} uploads)")
        times = []
        for name, path in submissions.next(args.files):
            seconds, state, page = clerk_for(name.split("_")[0]).upload(path, args.timeout)
            times.append(seconds)
            if state != "loaded":
                print(f"  {name}: {state} ({page})")
        print(f"upload answered -> outcome shown: {describe(times)}")
        print(f"  median {verdict(statistics.median(times), 2.0)}")
        print("each (s): " + ", ".join(f"{t:.2f}" for t in times))

        print(f"\n## {args.clerks} clerks within {args.spread:.0f} s, each with its own link")
        batch = submissions.next(args.clerks)
        clerks = [clerk_for(name.split("_")[0]) for name, _ in batch]
        results: dict[int, tuple] = {}

        def one(i: int) -> None:
            time.sleep(random.uniform(0, args.spread))
            try:
                results[i] = clerks[i].upload(batch[i][1], args.timeout)
            except Exception as exc:  # said in the summary, per clerk
                results[i] = (None, f"failed: {exc}", "")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.clerks)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        shown = [r for r in results.values() if r[0] is not None]
        print(f"{len(shown)} of {args.clerks} clerks saw an outcome ({time.monotonic() - began:.0f} s in all); "
              + ", ".join(f"{n} {s}" for s, n in sorted(
                  {s: sum(1 for r in results.values() if r[1] == s) for s in {r[1] for r in results.values()}}
                  .items())))
        if shown:
            print(f"upload answered -> outcome shown: {describe([r[0] for r in shown])}")
    except Exception as exc:
        failed = f"{type(exc).__name__}: {exc}"
    finally:
        for process in (web, service):
            stop_group(process, signal.SIGINT)
        run("server", "stop")
        left = end_leftovers(marker)
        print("\nprocesses left running: " + ("none" if not left else f"{len(left)} (now ended)"))
    rows = read_submissions(home / "data" / "warehouse" / "warmline.duckdb")
    twice = [name for name, (n, *_rest) in rows.items() if n > 1]
    print(f"warehouse after stopping: {len(rows)} files with a row, {len(twice)} with more than one "
          f"(each counted once: {'yes' if not twice else 'NO'})")
    print(f"load average at the end: {load_note()}")
    shutil.rmtree(work, ignore_errors=True)
    if failed:
        print(f"FAILED: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
