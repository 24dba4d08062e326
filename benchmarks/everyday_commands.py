"""How long people wait for the everyday commands (issue 15, "Fast where people wait"): printed side by side for
the default set-up and an explicit Prefect server; nothing asserted.

    .venv/bin/python benchmarks/everyday_commands.py [--repeat 5] [--no-with-external] [--source DIR] [--keep]
    git archive HEAD | tar -x -C /tmp/before && .venv/bin/python benchmarks/everyday_commands.py --source /tmp/before

Each set-up gets a fresh home in a temporary folder (`warmline init`, then `warmline demo`: the six workbooks
of the worked example, 2023-12-20, in the inbox) and an environment with every PREFECT_* and WARMLINE_*
variable of the caller removed and PREFECT_HOME in that folder, so the user's ~/.prefect is never touched:

- default: nothing else. The first command that needs Prefect starts the home's own server in the background
  (issue 15; it says "Started a Prefect server for this home"); before that change, every such command
  started Prefect's temporary server of its own.
- explicit server (`--with-external`, on by default): a `prefect server start` of this script's own on a
  free port, with PREFECT_API_URL exported, as the README's service set-up has it.

In each, the first command of the day, `warmline run --date 2023-12-20` (it loads the six files and, in the
default set-up, starts the server), is timed once; then `--repeat` times each (all repetitions of one command
before the next command, so that every `run` finds nothing new):

  warmline run --date 2023-12-20           nothing new in the inbox                       target 4 s
  warmline ingest FILE                     a new valid workbook each time, of 2023-12-21  target 3 s
  warmline status --date 2023-12-20                                                       target 2 s
  warmline sql "SELECT * FROM marts.headline"                                             target 1.5 s
  warmline --help                                                                         target 0.5 s

A time is the wall time of the whole command, as a person waits for it, from start to exit; a target is
"met" when the median is within it. Beside it, the CPU seconds of the command and of the processes it waited
for: on a shared machine the wall time also counts other work, the CPU time much less so. A command stops
repeating once its repetitions have taken `--command-budget` seconds (25), and after `--budget` seconds (270)
of the whole run every command left runs once, so that the slow set-up before issue 15 still finishes in
about five minutes; the table says how many ran. The set-ups run one after the other, the default set-up's
server stopped before the explicit one starts, so that an idle server does not share the two cores with the
other set-up's commands.

At the end it stops what it started (`warmline server stop` when this warmline has it, the explicit server
by its process group), then lists every process still carrying this run's marker in its environment (and
ends them). Exit status 0 unless the set-up itself failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# the set-up shared with the service benchmark (which also puts the repository on sys.path)
from service_latency import (BenchmarkError, clean_environment, end_leftovers, has_home_server, load_note,
                             machine_facts, start_prefect_server, stop_group, warmline_command)

from transforms.core.layout import SHIPPED_REFERENCE  # noqa: E402
from transforms.core.reference import load_reference  # noqa: E402
from transforms.read.template import FilledRow, write_submission  # noqa: E402

DEMO_DAY = "2023-12-20"
NEW_DAY = dt.date(2023, 12, 21)  # the ingested workbooks are of the next day: new reports, not corrections
COMMAND_TIMEOUT = 300.0  # a command that hangs is ended (its process group) and counted as failed
STARTED_SERVER = "Started a Prefect server for this home"


@dataclass
class Command:
    """One everyday command: its label, target (seconds) and its arguments for repetition i."""

    label: str
    target: float
    arguments: object  # callable(i) -> list[str]


@dataclass
class Timed:
    seconds: float  # wall time, as a person waits
    cpu: float  # user + system seconds of the command and the processes it waited for
    status: int
    output: str
    error: str


@dataclass
class Measured:
    """The repetitions of one command in one set-up."""

    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None


def timed(warmline: list[str], arguments: list[str], env: dict[str, str], timeout: float = COMMAND_TIMEOUT) -> Timed:
    """Run one warmline command to its end: wall seconds, exit status, what it printed. In its own session, so a
    command that hangs is ended with everything it started (a home server detaches itself and is not)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # in the home, as its user would be (and never in the repository, whose flows/ would shadow --source's)
    process = subprocess.Popen([*warmline, *arguments], env=env, cwd=env["WARMLINE_HOME"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        output, error = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process, signal.SIGKILL)
        output, error, status = "", f"ended after {timeout:.0f} s", -1
    else:
        status = process.returncode
    seconds = time.perf_counter() - started
    # CPU time tells a slow command from a busy machine (the wall time on a shared 2-core box is both): the
    # children's usage grows by this command's and what it reaped (Prefect's temporary server, the readers),
    # not by a home server it left running, which is no longer its child.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(seconds, cpu, status, output, error)


def last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


def write_new_workbooks(folder: Path, count: int) -> list[Path]:
    """One valid workbook per repetition, each a county's report of 2023-12-21 with its own figures (so none is a
    duplicate of another), dated as landed that afternoon (received on time), and written well before it is
    ingested (a file changed in the last second is watched for a second first: not what a person waits for)."""
    ref = load_reference(SHIPPED_REFERENCE)
    counties = [u.name for u in ref.units if u.level == "county"]
    written = []
    for i in range(count):
        unit = counties[i % len(counties)]
        day = NEW_DAY + dt.timedelta(days=i // len(counties))
        path = write_submission(folder / f"{unit}_寒冬送温暖统计表_{day:%Y%m%d}_{i}.xlsx", ref, unit, day,
                                [FilledRow("全县", {"走访慰问户数（户）": 1200 + 37 * i,
                                                  "巡查次数（次）": 40 + i})])
        landed = dt.datetime.combine(day, dt.time(15, i % 60), ref.campaign.timezone).timestamp()
        os.utime(path, (landed, landed))
        written.append(path)
    return written


def measure_setup(name: str, warmline: list[str], env: dict[str, str], work: Path, repeat: int,
                  budget: float, deadline: float) -> dict:
    """Set up a fresh home, time its first command, then each everyday command; returns the figures."""
    home = work / name / "home"
    home.mkdir(parents=True)
    env = dict(env, WARMLINE_HOME=str(home))
    for step in (["init"], ["demo"]):
        done = timed(warmline, step, env)
        if done.status != 0:
            raise BenchmarkError(f"{name}: warmline {step[0]} failed: {last_line(done.error or done.output)}")
    new_files = write_new_workbooks(work / name / "new", repeat)

    first = timed(warmline, ["run", "--date", DEMO_DAY], env)
    print(f"{name}: first command, warmline run --date {DEMO_DAY}: {first.seconds:.1f} s (cpu {first.cpu:.1f} s), "
          f"exit {first.status}" + (f" ({last_line(first.error)}; the later runs are not 'nothing new')"
                                    if first.status not in (0, 3) else ""))
    started_line = next((line for line in first.output.splitlines() if line.startswith(STARTED_SERVER)), "")
    if started_line:
        print(f"  it printed: {started_line[:150]}")
    sys.stdout.flush()

    commands = [
        Command(f"warmline run --date {DEMO_DAY}", 4.0, lambda i: ["run", "--date", DEMO_DAY]),
        Command("warmline ingest FILE", 3.0, lambda i: ["ingest", str(new_files[i])]),
        Command(f"warmline status --date {DEMO_DAY}", 2.0, lambda i: ["status", "--date", DEMO_DAY]),
        Command('warmline sql "SELECT * FROM marts.headline"', 1.5, lambda i: ["sql", "SELECT * FROM marts.headline"]),
        Command("warmline --help", 0.5, lambda i: ["--help"]),
    ]
    results = {}
    for command in commands:
        measured = Measured()
        for i in range(repeat):
            # every command at least once; more while its own budget and the whole run's allow
            if measured.seconds and (sum(measured.seconds) >= budget or time.monotonic() >= deadline):
                break
            done = timed(warmline, command.arguments(i), env)
            measured.seconds.append(done.seconds)
            measured.cpu.append(done.cpu)
            # run exits 3 when the day is not published: an outcome, not a failure of the command
            if done.status not in (0, 3):
                measured.failures.append(f"exit {done.status}: {last_line(done.error or done.output)[:160]}")
            if STARTED_SERVER in done.output:  # a later command should have reused the server
                measured.failures.append("started a server again")
        results[command.label] = measured
        print(f"{name}: {command.label}: " + ", ".join(f"{s:.2f}" for s in measured.seconds) + " s (cpu "
              + ", ".join(f"{c:.2f}" for c in measured.cpu) + " s)"
              + (f"; {len(measured.failures)} problem(s): {measured.failures[0]}" if measured.failures else ""))
        sys.stdout.flush()
    return {"first": first, "started_line": started_line, "commands": commands, "results": results, "env": env}


def table(setups: dict[str, dict]) -> list[str]:
    """One line a command: its target, then for each set-up the repetitions, median, min, max and whether met."""
    names = list(setups)
    cell = "{:>2} {:>7} {:>6} {:>6} {:<8} {:>5}"
    lines = [f"{'':45} {'':>7}" + "".join(f" | {n:^39}" for n in names),
             f"{'command':45} {'target':>7}" + "".join(" | " + cell.format("n", "median", "min", "max", "met", "cpu")
                                                        for _ in names)]
    lines.append("-" * len(lines[1]))
    lines.append(f"{'first command of the day: warmline run':45} {'-':>7}" + "".join(
        " | " + cell.format(1, f"{setups[n]['first'].seconds:.2f}", "", "", "", f"{setups[n]['first'].cpu:.1f}")
        for n in names))
    for command in setups[names[0]]["commands"]:
        line = f"{command.label:45} {command.target:6.1f}s"
        for n in names:
            m: Measured = setups[n]["results"].get(command.label) or Measured()
            if not m.seconds:
                line += " | " + cell.format(0, "-", "-", "-", "-", "-")
                continue
            met = ("met" if m.median <= command.target else "NOT MET") + ("*" if m.failures else "")
            line += " | " + cell.format(len(m.seconds), f"{m.median:.2f}", f"{min(m.seconds):.2f}",
                                        f"{max(m.seconds):.2f}", met, f"{statistics.median(m.cpu):.1f}")
        lines.append(line)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each command (default 5)")
    parser.add_argument("--with-external", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the commands against an explicit `prefect server start` (default: on)")
    parser.add_argument("--command-budget", type=float, default=25.0,
                        help="stop repeating a command once its repetitions took this many seconds (default 25)")
    parser.add_argument("--budget", type=float, default=270.0,
                        help="after this many seconds of the whole run, each command left runs once (default 270)")
    parser.add_argument("--source", type=Path,
                        help="run warmline from this source tree (e.g. `git archive` of an earlier commit) instead "
                             "of the installed one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (homes, logs) afterwards")
    args = parser.parse_args()

    wall = time.monotonic()
    marker = uuid.uuid4().hex
    work = Path(tempfile.mkdtemp(prefix="warmline-everyday-"))
    source = args.source.resolve() if args.source else None
    warmline = warmline_command(source)
    for line in machine_facts(source):
        print(line)
    probe_env = clean_environment(work / "prefect-probe", marker, source)
    home_server = has_home_server(warmline, probe_env, work)
    print(f"this warmline has `warmline server`: {'yes' if home_server else 'no'}; temporary folder {work}\n")
    sys.stdout.flush()

    setups: dict[str, dict] = {}
    external = None
    failed = None
    try:
        default_env = clean_environment(work / "default" / "prefect", marker, source)
        try:
            setups["default"] = measure_setup("default", warmline, default_env, work, args.repeat, args.command_budget,
                                              wall + args.budget)
        finally:
            if home_server:
                # stop the home server before the other set-up, so it does not idle on the same two cores
                env = dict(default_env, WARMLINE_HOME=str(work / "default" / "home"))
                state = timed(warmline, ["server", "status"], env, timeout=60)
                stop = timed(warmline, ["server", "stop"], env, timeout=120)
                print(f"default: warmline server status: {last_line(state.output or state.error)[:160]}")
                print(f"default: warmline server stop ({stop.seconds:.1f} s): "
                      f"{last_line(stop.output or stop.error)[:160]}")
        if args.with_external:
            explicit_env = clean_environment(work / "explicit" / "prefect", marker, source)
            (work / "explicit").mkdir(parents=True, exist_ok=True)
            external, api, server_start = start_prefect_server(explicit_env, work / "explicit" / "prefect-server.log")
            print(f"explicit server: prefect server start to healthy: {server_start:.1f} s")
            explicit_env["PREFECT_API_URL"] = api
            setups["explicit server"] = measure_setup("explicit server", warmline, explicit_env, work, args.repeat,
                                                      args.command_budget, wall + args.budget)
    except BenchmarkError as exc:
        failed = str(exc)
    except KeyboardInterrupt:
        failed = "interrupted"
    finally:
        stop_group(external, signal.SIGTERM)
        left = end_leftovers(marker)
        print("processes left running: " + ("none" if not left else
                                            "; ".join(f"{pid} {command[:100]}" for pid, command in left)
                                            + " (now ended)"))

    if setups:
        print(f"\n## Everyday commands: wall seconds of the whole command, median of the repetitions "
              f"(target met when the median is within it; * = a repetition failed, see above; cpu = median CPU "
              f"seconds of the command and what it reaped)")
        for line in table(setups):
            print(line)
        for name, setup in setups.items():
            print(f"{name}: the first command {'printed' if setup['started_line'] else 'did not print'} "
                  f"\"{STARTED_SERVER}…\"")
    print(f"whole benchmark: {time.monotonic() - wall:.0f} s; load average at the end: {load_note()}")
    if failed:
        print(f"error: {failed}", file=sys.stderr)
        print(f"kept {work} for its logs", file=sys.stderr)
        return 1
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
