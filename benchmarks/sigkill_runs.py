"""SIGKILL at random moments during an ingest (issue 17): after each kill the warehouse must open, `audit` must be
clean and no file may be recorded twice; the run after the last kill must end exactly where an uninterrupted
run ends. Prints a table; exits 1 on any violation; asserts nothing in pytest.

    .venv/bin/python benchmarks/sigkill_runs.py [--files 1000] [--kills 100] [--seed 9] [--mode ingest|serve]

`--mode ingest`: a child process ingests the inbox the way tests/test_crash_safety.py's CHILD does (Ingestor,
warehouse.connect/prepare, ingest_many of the inbox in landing order; no Prefect). It is started again and again
and SIGKILLed with its process group (its reader workers, transforms/read/guarded_reader.py) at a random moment (seeded):
a quarter uniform over its start-up, the rest uniform over the time it takes, once started, for what is left in
the inbox (both measured on the uninterrupted baseline, the start-up followed as children go), so kills land while
it starts, reads, records a batch and moves files out of the inbox. When a child empties the
inbox before its kill, that home's round ends: one more uninterrupted child run, the comparison with the
baseline, and a fresh home with every file landed again, until `--kills` kills are counted.

`--mode serve`: `warmline serve` on a home while files land in batches; serve's process group and the home's
writer (data/prefect/writer-ready.txt) are SIGKILLed at random moments and serve is started again; at the end
`warmline ingest` takes whatever is left, and the home is compared with the baseline the same way.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from generate import generate, write_reference  # noqa: E402
from run_all import fill_inbox  # noqa: E402

from tests.test_crash_safety import audit_findings  # noqa: E402
from transforms import warehouse  # noqa: E402
from transforms.core.layout import Layout  # noqa: E402

BIN = Path(sys.executable).parent
UNITS = 40  # as the other benchmarks: Shaoguan's twelve and 28 synthetic units

# The inbox ingested as the daily flow and tests/test_crash_safety.py's CHILD do, without Prefect: ingest_many
# records the files in transactions of BATCH_FILES, in landing order. "ready" says when the start-up is over.
CHILD = """
import sys
from pathlib import Path
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import load_reference
from transforms.ingest.ingestor import Ingestor

layout = Layout(Path(sys.argv[1]))
ingestor = Ingestor(layout, load_reference(layout.reference))
con = warehouse.connect(layout.warehouse)
warehouse.prepare(con, ingestor.ref)
waiting = sorted(layout.inbox.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
print("ready", len(waiting), flush=True)
outcomes = ingestor.ingest_many(waiting, con)
con.close()
ingestor.reader.close()
print("finished", len(outcomes), flush=True)
"""


# -- what a home holds ------------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    """What the warehouse and inbox of a home hold; `tables` is False before the first child created them."""

    tables: bool
    submissions: list[tuple]  # (file_name, sha256, status, unit_code, as_of_date), sorted: ids and times differ
    totals: list[tuple]
    twice: list[tuple]  # (file_name, sha256, rows) recorded more than once
    inbox: set[str]
    findings: list


def snapshot(layout: Layout) -> Snapshot:
    inbox = {p.name for p in layout.inbox.iterdir()}
    if not layout.warehouse.exists():
        return Snapshot(False, [], [], [], inbox, [])
    con = warehouse.connect(layout.warehouse, read_only=True)  # raises if the kill left it unopenable
    try:
        have = con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'raw' AND table_name = 'submissions'").fetchone()[0]
        if not have:
            return Snapshot(False, [], [], [], inbox, [])
        submissions = con.execute("SELECT file_name, sha256, status, unit_code, as_of_date FROM raw.submissions "
                                  "ORDER BY ALL").fetchall()
        twice = con.execute("SELECT file_name, sha256, count(*) FROM raw.submissions GROUP BY ALL "
                            "HAVING count(*) > 1 ORDER BY ALL").fetchall()
        has_marts = con.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_schema = 'marts' AND table_name = 'city_totals'").fetchone()[0]
        totals = con.execute("SELECT * FROM marts.city_totals ORDER BY ALL").fetchall() if has_marts else []
    finally:
        con.close()
    return Snapshot(True, submissions, totals, twice, inbox, audit_findings(layout))


# -- homes and files --------------------------------------------------------------------------------------------

def make_files(folder: Path, count: int, seed: int) -> list[Path]:
    """`count` generated workbooks (corrections, duplicates and defective files among them) in landing order."""
    home = folder / "generator-home"  # generate() needs a reference with the synthetic units
    ref = write_reference(home, UNITS)
    made = generate(folder / "sources", ref, UNITS, -(-count // UNITS), seed=seed)
    files = sorted(made.files, key=lambda p: (p.stat().st_mtime_ns, p.name))[:count]
    print(f"generated {len(files)} files ({made.corrections} corrections, {made.duplicates} duplicates, "
          f"{made.defective} defective among all {len(made.files)} written)", flush=True)
    return files


def fresh_home(root: Path, files: list[Path]) -> Layout:
    """A new home with the benchmark's reference data and every file landed, landing times kept (copy2)."""
    if root.exists():
        shutil.rmtree(root)
    layout = Layout(root)
    layout.create()
    write_reference(root, UNITS)
    fill_inbox(root, files)
    return layout


# -- child processes --------------------------------------------------------------------------------------------

def group_members(pgid: int) -> list[int]:
    """Processes still in process group `pgid` (the child and the reader workers it started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def kill_group(pgid: int) -> None:
    """SIGKILL the whole group and wait until none of it runs: the warehouse lock must be free for the checks."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 30
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if group_members(pgid):
        raise SystemExit(f"process group {pgid} survived SIGKILL: {group_members(pgid)}")


def start_child(layout: Layout, log: Path) -> subprocess.Popen:
    # its own session: os.killpg reaches the reader workers, which the child starts in its group
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-c", CHILD, str(layout.home)], cwd=REPO, start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)


@dataclass
class ChildRun:
    killed: bool
    seconds: float
    ready_at: float | None  # seconds from start to "ready" (start-up over), None if it never got there
    output: str
    status: int


@dataclass(frozen=True)
class KillAt:
    """When to kill a child: `seconds` after its start, or after it said "ready" (start-up over) if `after_ready`."""

    seconds: float
    after_ready: bool


def run_child(layout: Layout, log: Path, kill: KillAt | None) -> ChildRun:
    """One child on the home: to its end (kill None) or SIGKILLed with its group at `kill`."""
    started = time.monotonic()
    child = start_child(layout, log)
    ready_at = None
    deadline = None if kill is None or kill.after_ready else started + kill.seconds
    while child.poll() is None and (deadline is None or time.monotonic() < deadline):
        if ready_at is None and log.read_text(errors="replace").startswith("ready"):
            ready_at = time.monotonic() - started
            if kill is not None and kill.after_ready:
                deadline = started + ready_at + kill.seconds
        time.sleep(0.01)
    killed = child.poll() is None
    if killed:
        kill_group(child.pid)
    child.wait()
    seconds = time.monotonic() - started
    kill_group(child.pid)  # a child that ended by itself must have stopped its readers too; make sure
    output = log.read_text(errors="replace")
    if ready_at is None and output.startswith("ready"):
        ready_at = seconds
    return ChildRun(killed and child.returncode == -signal.SIGKILL, seconds, ready_at, output, child.returncode)


# -- the runs ---------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    kills: int = 0
    rounds: int = 0
    lost: int = 0
    twice: int = 0
    findings: int = 0
    violations: list[str] = field(default_factory=list)
    recorded_at_kill: list[int] = field(default_factory=list)
    phases: collections.Counter = field(default_factory=collections.Counter)
    rounds_identical: int = 0


def phase_of(run: ChildRun, before: Snapshot, after: Snapshot) -> str:
    """Roughly where the kill landed, from what the child said and what it left behind."""
    if run.ready_at is None:
        return "starting (imports, readers, prepare)"
    recorded = {s[0] for s in after.submissions}
    if recorded & after.inbox:
        return "between commit and leaving the inbox"
    if len(after.submissions) == len(before.submissions):
        return "reading/validating the first batch"
    return "ingesting (a later batch)"


def snapshot_after_kill(layout, tally: "Tally"):
    """The home as the last kill left it, noted in the tally; None (and a violation) if the warehouse will not open."""
    try:
        after = snapshot(layout)
    except Exception as exc:  # noqa: BLE001 - the warehouse must open after any kill
        tally.violations.append(f"kill {tally.kills}: the warehouse does not open: {type(exc).__name__}: {exc}")
        return None
    tally.recorded_at_kill.append(len(after.submissions))
    return after


def check_after_kill(number: int, names: set[str], after: Snapshot, tally: Tally) -> None:
    """What every kill must leave: each file recorded once or still waiting, and nothing the audit can find."""
    recorded = [s[0] for s in after.submissions]
    lost = names - set(recorded) - after.inbox
    unknown = set(recorded) - names
    tally.lost += len(lost)
    tally.twice += sum(n - 1 for *_, n in after.twice)
    tally.findings += len(after.findings)
    if lost:
        tally.violations.append(f"kill {number}: {len(lost)} file(s) neither recorded nor in the inbox: "
                                f"{sorted(lost)[:5]}")
    if after.twice:
        tally.violations.append(f"kill {number}: recorded more than once: {after.twice[:5]}")
    if unknown:
        tally.violations.append(f"kill {number}: recorded files that were never landed: {sorted(unknown)[:5]}")
    for finding in after.findings[:10]:
        tally.violations.append(f"kill {number}: audit: {finding.line()}")


def compare(label: str, got: Snapshot, want: Snapshot, tally: Tally) -> bool:
    """The home after its final uninterrupted run against the uninterrupted baseline."""
    problems = []
    if got.submissions != want.submissions:
        extra = sorted(set(got.submissions) - set(want.submissions))
        missing = sorted(set(want.submissions) - set(got.submissions))
        problems.append(f"submissions differ ({len(got.submissions)} vs {len(want.submissions)} rows); "
                        f"only here: {extra[:3]}; only in the baseline: {missing[:3]}")
    if got.totals != want.totals:
        diff = sorted(set(got.totals) ^ set(want.totals))
        problems.append(f"city totals differ ({len(diff)} rows differ), e.g. {diff[:2]}")
    if got.findings:
        problems.append(f"audit: {len(got.findings)} finding(s), e.g. {got.findings[0].line()}")
    if got.inbox:
        problems.append(f"inbox not empty: {sorted(got.inbox)[:5]}")
    tally.violations += [f"{label}: {p}" for p in problems]
    return not problems


def baseline(work: Path, files: list[Path]) -> tuple[Snapshot, float, float]:
    """The files ingested in one uninterrupted child: what every killed home must end with, and how long a child
    takes to start and to ingest a file (to spread the kills over a whole run)."""
    layout = fresh_home(work / "baseline", files)
    run = run_child(layout, work / "baseline.log", None)
    if run.status != 0 or run.ready_at is None:
        raise SystemExit(f"the uninterrupted run failed (exit {run.status}):\n{run.output[-3000:]}")
    want = snapshot(layout)
    states = collections.Counter(s[2] for s in want.submissions)
    print(f"baseline: {run.seconds:.1f} s (start-up {run.ready_at:.1f} s); {dict(sorted(states.items()))}; "
          f"{len(want.totals)} city_totals rows; audit findings {len(want.findings)}", flush=True)
    if want.findings or want.inbox or len(want.submissions) != len(files):
        raise SystemExit(f"the baseline itself is not clean: {len(want.findings)} findings, "
                         f"{len(want.inbox)} files left, {len(want.submissions)} of {len(files)} recorded")
    per_file = (run.seconds - run.ready_at) / len(files)
    return want, run.ready_at, per_file


def kill_moment(rng: random.Random, startup: float, ingest: float) -> KillAt:
    """A quarter of the kills while the child starts (imports, reader workers, prepare), uniform over its start-up;
    the rest uniform over the time it takes to ingest what waits (10% more, plus 0.3 s for a batch's fixed cost:
    now and then a child finishes first and the round ends). Uniform from the start over the whole run put nine
    kills in ten into the start-up once most of the inbox was taken: the start-up is most of a short run."""
    if rng.random() < 0.25:
        return KillAt(rng.uniform(0.2, max(0.3, startup)), after_ready=False)
    return KillAt(rng.uniform(0.0, ingest * 1.1 + 0.3), after_ready=True)


def ingest_mode(work: Path, files: list[Path], kills: int, rng: random.Random, want: Snapshot, startup: float,
                per_file: float) -> Tally:
    tally = Tally()
    names = {f.name for f in files}
    layout, before = None, None
    while tally.kills < kills:
        if layout is None:  # a new round: a fresh home with every file landed
            tally.rounds += 1
            layout = fresh_home(work / "killed", files)
            before = snapshot(layout)
        run = run_child(layout, work / "child.log", kill_moment(rng, startup, per_file * len(before.inbox)))
        if run.killed:
            tally.kills += 1
            after = snapshot_after_kill(layout, tally)
            if after is None:
                layout = None
                continue
            tally.phases[phase_of(run, before, after)] += 1
            check_after_kill(tally.kills, names, after, tally)
            before = after
        elif run.status != 0:
            tally.violations.append(f"after kill {tally.kills}: a child failed on its own (exit {run.status}): "
                                    f"{run.output.strip().splitlines()[-1:]}")
        if run.ready_at is not None:  # start-up is slower when the machine is busy: follow what children take
            startup = 0.8 * startup + 0.2 * run.ready_at
        if not run.killed or not before.inbox:
            layout = finish_round(layout, work, tally, want)
    if layout is not None:
        finish_round(layout, work, tally, want)
    return tally


def finish_round(layout: Layout, work: Path, tally: Tally, want: Snapshot) -> None:
    """One more uninterrupted run on the home, then the comparison with the baseline; the next round starts anew."""
    run = run_child(layout, work / "final.log", None)
    if run.status != 0:
        tally.violations.append(f"round {tally.rounds} (up to kill {tally.kills}): the final run failed "
                                f"(exit {run.status}): {run.output[-500:]}")
    same = compare(f"round {tally.rounds} (up to kill {tally.kills})", snapshot(layout), want, tally)
    tally.rounds_identical += same
    print(f"  round {tally.rounds}: up to kill {tally.kills}, "
          f"{'ends as the uninterrupted run' if same else 'DIFFERS from the uninterrupted run'}; "
          f"{len(tally.violations)} violation(s) so far", flush=True)
    return None


# -- the service ------------------------------------------------------------------------------------------------

def home_env(layout: Layout) -> dict[str, str]:
    """The environment of the home's commands: no PREFECT_API_URL, so they use (and start) the home's server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(WARMLINE_HOME=str(layout.home), COLUMNS="200")
    return env


def home_processes(layout: Layout, but_group: int | None) -> list[int]:
    """Every running process started for this home (WARMLINE_HOME in its environment), but those of group
    `but_group` (the home's Prefect server, which is not killed: issue 17 is about the writer and the service)."""
    marker = f"WARMLINE_HOME={layout.home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker not in (entry / "environ").read_bytes().split(b"\0"):
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] not in ("Z", "X") and int(fields[2]) != but_group:
                found.append(int(entry.name))
    return found


def server_group(layout: Layout) -> int | None:
    from flows.home_server import _recorded  # the home's server as `warmline server` records it

    server = _recorded(layout)
    return server.pid if server else None


def kill_service(layout: Layout, service: subprocess.Popen) -> None:
    """SIGKILL serve's group, the writer's group (pid in writer-ready.txt) and anything else of the home but its
    Prefect server (a flow run Prefect's runner started in a session of its own, say)."""
    ready = layout.prefect / "writer-ready.txt"
    writer = int(ready.read_text().strip() or 0) if ready.exists() else 0
    for group in (service.pid, writer):
        if group:
            kill_group(group)
    for pid in home_processes(layout, server_group(layout)):
        kill_process_group_of(pid)
    service.wait()


def kill_process_group_of(pid: int) -> None:
    try:
        kill_group(os.getpgid(pid))
    except ProcessLookupError:
        pass  # gone meanwhile


def land(layout: Layout, files: list[Path], staging: Path) -> None:
    """Files land as a clerk's upload does: written beside the inbox, renamed in (complete, landing time kept)."""
    staging.mkdir(exist_ok=True)
    for f in files:
        shutil.copy2(f, staging / f.name)
        os.rename(staging / f.name, layout.inbox / f.name)


def serve_mode(work: Path, files: list[Path], kills: int, rng: random.Random, want: Snapshot) -> Tally:
    """`warmline serve` killed `kills` times while the files land in batches; then `warmline ingest` takes what
    is left and the home is compared with the baseline."""
    tally = Tally(rounds=1)
    layout = fresh_home(work / "served", [])
    env, staging = home_env(layout), work / "staging"
    warmline = str(BIN / "warmline")
    # the home's Prefect server first, on its own: the kills are for the service and the writer, not for a server
    # half-way through creating its database
    subprocess.run([warmline, "server", "start"], env=env, cwd=REPO, capture_output=True, timeout=300, check=True)
    per_kill = -(-len(files) // (kills + 1))  # files land over the kills; the last share after them
    landed = 0
    try:
        starting = 30.0  # seconds serve takes to say it is watching: measured on each start that gets there
        while tally.kills < kills:
            log = work / "serve.log"
            log.write_text("")
            with log.open("a") as out:
                service = subprocess.Popen([warmline, "serve"], env=env, cwd=REPO, start_new_session=True,
                                           stdout=out, stderr=subprocess.STDOUT)
            share = files[landed:landed + per_kill]
            landed += len(share)
            # A third of the kills while serve starts (its writer warming up, the catch-up sweep), the batch landed
            # just before; the others once it watches, while the writer takes the batch just landed.
            if rng.random() < 1 / 3:
                land(layout, share, staging)
                time.sleep(rng.uniform(0.2, starting))
                phase = "while serve starts (writer warming up, catch-up sweep)"
            else:
                began = time.monotonic()
                while "watching" not in log.read_text(errors="replace") and service.poll() is None \
                        and time.monotonic() - began < 180:
                    time.sleep(0.1)
                starting = time.monotonic() - began
                land(layout, share, staging)
                time.sleep(rng.uniform(0.0, 0.05 * len(share) + 0.5))  # the writer's ~20-50 ms a file, and a start
                phase = "while serve watches and ingests a landed batch"
            kill_service(layout, service)
            tally.phases[phase] += 1
            tally.kills += 1
            after = snapshot_after_kill(layout, tally)
            if after is None:
                continue
            check_after_kill(tally.kills, {f.name for f in files[:landed]}, after, tally)
            print(f"  kill {tally.kills}: {landed} landed, {len(after.submissions)} recorded, "
                  f"{len(after.inbox)} waiting", flush=True)
        land(layout, files[landed:], staging)
        final = subprocess.run([warmline, "ingest"], env=env, cwd=REPO, capture_output=True, text=True, timeout=1200)
        if final.returncode != 0:
            tally.violations.append(f"the final `warmline ingest` exited {final.returncode}: {final.stderr[-500:]}")
        print("final `warmline ingest`: " + next((line for line in final.stdout.splitlines()
                                                 if line.startswith("Files:")), final.stdout[-300:]), flush=True)
    finally:
        subprocess.run([warmline, "server", "stop"], env=env, cwd=REPO, capture_output=True, timeout=300)
        for pid in home_processes(layout, None):
            kill_process_group_of(pid)
    if compare("after the kills", snapshot(layout), want, tally):
        tally.rounds_identical = 1
    return tally


# -- report -----------------------------------------------------------------------------------------------------

def distribution(values: list[int], total: int) -> str:
    """How many kills found how many files recorded, in tenths of the files."""
    buckets = collections.Counter(min(9, v * 10 // max(total, 1)) for v in values)
    return ", ".join(f"{b * total // 10}-{(b + 1) * total // 10 - (b < 9)}: {buckets[b]}" for b in range(10))


def report(tally: Tally, files: int, seconds: float, mode: str) -> None:
    identical = "yes" if tally.rounds and tally.rounds_identical == tally.rounds else "no"
    rows = [("mode", mode), ("files", f"{files:,}"), ("SIGKILLs", str(tally.kills)),
            ("rounds (fresh home, kills until the inbox emptied, one final run)" if mode == "ingest" else
             "homes (files landed over the kills, then `warmline ingest`)", str(tally.rounds)),
            ("lost (neither recorded nor in the inbox), summed over kills", str(tally.lost)),
            ("counted twice, summed over kills", str(tally.twice)),
            ("audit findings after kills", str(tally.findings)),
            ("totals and states identical to the uninterrupted run",
             f"{identical} ({tally.rounds_identical} of {tally.rounds} rounds)"),
            ("wall time", f"{seconds:.0f} s")]
    width = max(len(k) for k, _ in rows)
    print(f"\n| {'what':<{width}} | result |\n|{'-' * (width + 2)}|--------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    print(f"\nfiles recorded when each kill happened (in tenths of {files}): "
          f"{distribution(tally.recorded_at_kill, files)}")
    print("where the kills landed: " + "; ".join(f"{k}: {n}" for k, n in tally.phases.most_common()))
    print(f"\n| SIGKILLs | {tally.kills}, {tally.lost} lost, {tally.twice} counted twice, totals "
          f"{'identical' if identical == 'yes' else 'DIFFERENT'} |")
    if tally.violations:
        print(f"\n{len(tally.violations)} violation(s):")
        for line in tally.violations:
            print("  " + line)
    else:
        print("\nno violation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--mode", choices=("ingest", "serve"), default="ingest")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="warmline-sigkill-"))
    try:
        files = make_files(work, args.files, args.seed)
        want, startup, per_file = baseline(work, files)
        rng = random.Random(args.seed)
        if args.mode == "ingest":
            tally = ingest_mode(work, files, args.kills, rng, want, startup, per_file)
        else:
            tally = serve_mode(work, files, args.kills, rng, want)
        report(tally, len(files), time.monotonic() - started, args.mode)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if tally.violations or not tally.rounds else 0)


if __name__ == "__main__":
    main()
