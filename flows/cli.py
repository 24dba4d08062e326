"""The `warmline` command line: thin commands over the flows and transforms, errors as one line."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.runtime import configure_prefect, home
from transforms.core.display import figure_text
from transforms.core.layout import Layout
from transforms.core.reference import Reference, load_reference
from transforms.core.safe_text import printable, shortened

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="warmline: county relief workbooks in, trusted city-wide figures out.")


class PlainConsole(Console):
    """A console that prints every text as it is: never as rich markup (a file named '[bold red]x.xlsx' is printed
    with its brackets), and with control characters and direction overrides, which file names and cells can
    carry, shown as escapes (\\x1b, \\u202e) instead of acting on the terminal. warmline prints no markup of
    its own, so nothing is lost."""

    def render_str(self, text: str, **kwargs):
        kwargs["markup"] = False
        return super().render_str(printable(text), **kwargs)


out = PlainConsole(width=None if sys.stdout.isatty() else 160, highlight=False, markup=False)
err = PlainConsole(stderr=True, width=None if sys.stderr.isatty() else 200, highlight=False, markup=False)
FILE_COLUMN_CHARS = 48  # a longer file name is shortened in tables (…), so that it cannot squeeze the others out
_state = {"debug": False}

STATUS_WORDS = {"reported": "reported", "carried_forward": "carried forward", "missing": "missing"}


# failures whose message is already written for the operator (raised below the command line)
SAID_PLAINLY = {"WriterFailed", "ServerFailed", "WarehouseBusy", "WarehouseUnwritable", "WarehouseOutdated",
               "ReferenceUnreadable", "DocsNotBuilt"}


class UserError(Exception):
    """An expected failure: printed as 'Error: <message>' with exit status 1, no traceback."""


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show the full traceback when a command fails.")) -> None:
    """warmline: county relief workbooks in, trusted city-wide figures out."""
    _state["debug"] = debug


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # one line for the operator; the traceback only with --debug
        if _state["debug"]:
            traceback.print_exc()
        message = str(exc) if isinstance(exc, UserError) or type(exc).__name__ in SAID_PLAINLY \
            else f"{type(exc).__name__}: {exc}"
        err.print(f"Error: {message}", soft_wrap=True)
        raise typer.Exit(1) from None


def _parse_day(text: Optional[str]) -> Optional[dt.date]:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r} is not a date; write it as YYYY-MM-DD, e.g. --date 2023-12-20") from None


def _layout(require_init: bool = True) -> Layout:
    layout = Layout(home())
    if require_init and not (layout.reference / "campaign.toml").exists():
        raise UserError(f"{layout.home} is not a warmline home (no data/reference/campaign.toml); "
                        "run `warmline init` first, or set WARMLINE_HOME")
    return layout


def _reference(layout: Layout) -> Reference:
    return load_reference(layout.reference)  # ReferenceUnreadable says which file and the fix


@app.command()
def init() -> None:
    """Create the folders, the reference data and the warehouse under WARMLINE_HOME; safe to run again."""
    with _errors():
        from transforms import warehouse

        layout = _layout(require_init=False)
        created = warehouse.set_up(layout)
        out.print(f"warmline home: {layout.home}", soft_wrap=True)
        out.print(f"created {len(created)} folder(s) and file(s)" if created else "already set up; nothing changed")


@app.command()
def demo() -> None:
    """Write the worked example's submissions (Shaoguan, 2023-12-20) into the inbox."""
    from transforms.read.worked_example import write_demo

    with _errors():
        layout = _layout()
        written = write_demo(layout.inbox, _reference(layout))
        out.print(f"wrote {len(written)} submissions into {layout.inbox}:")
        for path in written:
            out.print(f"  {path.name}")
        out.print("next: warmline run --date 2023-12-20")


@app.command()
def template(unit: Optional[str] = typer.Option(None, "--unit", help="Unit name, alias or code to fill in as sender."),
             output: Optional[Path] = typer.Option(None, "-o", "--output", help="Where to write the workbook.")) -> None:
    """Write the blank submission workbook (xlsx) that units fill in."""
    from transforms.read.template import write_submission

    with _errors():
        layout = _layout()
        ref = _reference(layout)
        sender = ""
        if unit:
            found = ref.find_unit(unit)
            if not found:
                raise UserError(f"no unit called {unit!r} in {layout.reference / 'units.csv'}; "
                                "use a name, alias or code listed there")
            sender = found.name
        target = output or Path(f"{sender or ref.campaign.city}_{ref.campaign.short_name}统计表.xlsx")
        write_submission(target, ref, sender)
        out.print(f"wrote {target}", soft_wrap=True)


def _prefect_api(layout: Layout) -> str:
    """The Prefect API this command uses: PREFECT_API_URL when set, else the home's own server (started in the
    background by the first command that needs it, announced once)."""
    import os

    from flows.home_server import ServerFailed, ensure

    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    try:
        server = ensure(layout, lambda line: out.print(line, soft_wrap=True))
    except ServerFailed as exc:
        raise UserError(f"{exc}; or point warmline at a running server with PREFECT_API_URL") from None
    os.environ["PREFECT_API_URL"] = server.api_url
    return server.api_url


def _hands_over(layout: Layout) -> bool:
    """Whether this command hands its files to the home's writer (the home's, or the one in `warmline serve`)
    rather than writing itself: one writer per warehouse, and no seconds spent loading validation here."""
    from flows.home_server import writer_for

    return writer_for(layout, _prefect_api(layout))


def _start_prefect(layout: Layout):
    """Import Prefect with its log lines going to data/logs/, and the flow heartbeat off for one-shot runs."""
    _prefect_api(layout)
    configure_prefect(layout)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def _outcome_table(outcomes: list[dict]) -> Table:
    from transforms.day.status import state_word

    table = Table(title="Files ingested", title_justify="left")
    for column in ("file", "submission", "unit", "as of", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for o in outcomes:
        unread = f"{o['unread_cells']} figure cell(s) not read" if o.get("unread_cells") and o["status"] != "rejected" \
            else ""
        note = o["reason"] or ", ".join(p for p in (f"{o['warnings']} warning(s)" if o["warnings"] else "", unread) if p)
        # a loaded file with cells not read shows as needing a look (需核对), never as a clean "loaded"; the whole
        # name is in the file's report
        table.add_row(shortened(o["file_name"], FILE_COLUMN_CHARS), o["submission_id"], o["unit_code"] or "?",
                      o["as_of_date"] or "?", state_word(o), note)
    return table


WARNINGS_WAIT_SECONDS = 5.0  # the run's own writes are done; another writer is not worth a longer wait


def _recorded(read, submission_ids: list[str]) -> tuple[dict, str | None]:
    """`read(con, submission_ids)` on the warehouse, read-only (what the outcomes of a run do not carry), and why
    it could not be read, if so: the run's result stands without it."""
    from transforms import warehouse

    path = Layout(home()).warehouse
    if not path.exists():
        return {}, f"no warehouse at {path}"
    try:
        con = warehouse.connect(path, read_only=True, wait_seconds=WARNINGS_WAIT_SECONDS)
    except Exception as exc:
        return {}, f"{type(exc).__name__}: {exc}"
    try:
        return read(con, submission_ids), None
    except Exception as exc:
        return {}, f"{type(exc).__name__}: {exc}"
    finally:
        con.close()


def _recorded_warnings(submission_ids: list[str]) -> tuple[dict[str, list[dict]], str | None]:
    """The warnings recorded with these files (the outcomes carry only their number)."""
    from transforms.day.status import file_warnings

    return _recorded(file_warnings, submission_ids)


def _as_they_stand(outcomes: list[dict]) -> list[dict]:
    """The outcomes with each recorded file's state as it stands after the run: a file loaded and then superseded
    by a later file of the same run is counted and shown as superseded, as the warehouse has it."""
    from transforms.day.status import file_states

    states, _ = _recorded(file_states, [o["submission_id"] for o in outcomes if o["submission_id"]])
    return [{**o, "status": states[o["submission_id"]][0], "reason": states[o["submission_id"]][1]}
            if o["status"] == "loaded" and states.get(o["submission_id"], ("loaded",))[0] == "superseded" else o
            for o in outcomes]


def _print_warnings(outcomes: list[dict]) -> None:
    """The text of every warning of the files of `outcomes`, grouped per file, with sheet and cell."""
    from transforms.day.status import state_word, warning_text

    warned = {o["submission_id"]: o for o in outcomes if o["warnings"] and o["submission_id"]}
    if not warned:
        return
    found, problem = _recorded_warnings(list(warned))
    out.print(f"Warnings ({sum(o['warnings'] for o in warned.values())}), per file:")
    for submission_id, o in warned.items():
        out.print(f"  {o['file_name']} ({o['unit_code'] or '?'}, as of {o['as_of_date'] or '?'}, {state_word(o)}):",
                  soft_wrap=True)
        for w in found.get(submission_id, []):
            out.print(f"    {warning_text(w)}", soft_wrap=True)
    if problem:
        out.print(f"  The warnings' text could not be read from the warehouse ({problem}); "
                  "`warmline status --date D` lists them per file.", soft_wrap=True)


LISTED_ALL_UP_TO = 50  # files; past that, the table lists only the files with something to say


def _print_outcomes(outcomes: list[dict]) -> None:
    if not outcomes:
        out.print("No files were waiting in the inbox.")
        return
    outcomes = _as_they_stand(outcomes)
    plain = [o for o in outcomes if o["status"] == "loaded" and not o["reason"] and not o["warnings"]
             and not o.get("unread_cells")]
    if len(outcomes) > LISTED_ALL_UP_TO and plain:
        # a thousand rows of "loaded" bury the few files someone has to act on (and cost a second to draw)
        listed = {id(o) for o in plain}
        noted = [o for o in outcomes if id(o) not in listed]
        if noted:
            out.print(_outcome_table(noted))
        out.print(f"{len(plain)} more files loaded without remark are not listed; `warmline status --date D` shows "
                  "each unit's files of a day.")
    else:
        out.print(_outcome_table(outcomes))
    _print_warnings(outcomes)
    counts = {s: sum(1 for o in outcomes if o["status"] == s) for s in ("loaded", "superseded", "duplicate", "rejected")}
    out.print("Files: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for o in outcomes:
        if o["status"] == "rejected":
            out.print(f"Rejected {o['file_name']}: report in {o['report_path']}")


def _print_summary(summary, ref: Reference) -> None:
    from transforms.day.status import headline_cells

    day = summary.day
    if summary.headline is None:
        out.print(f"No figures for {day}: the day is outside the campaign ({ref.campaign.start_date} "
                  f"to {ref.campaign.end_date}) or nothing has been computed for it.")
        return
    h = summary.headline
    out.print(f"\n{ref.campaign.name} — city-wide figures as of {day}")
    for figure in ref.headline:
        total = next(t for t in summary.totals if t["indicator"] == figure.code)
        text = figure_text(total["value"], total["qualifier"], total["parts_unspecified"])
        qualifier = f" ({total['qualifier']})" if total["qualifier"] not in (None, "exact") else ""
        out.print(f"  {figure.label_en}: {text} {figure.unit_en}{qualifier}" if total["qualifier"]
                  else f"  {figure.label_en}: no figure")
    out.print(f"  units: {h['units_reporting']} reporting, {h['units_carried']} carried forward, "
              f"{h['units_missing']} missing")

    totals = Table(title=f"All indicators, {day}", title_justify="left")
    for column, justify in (("indicator", "left"), ("指标", "left"), ("value", "right"), ("unit", "left"),
                            ("qualifier", "left"), ("units", "right")):
        totals.add_column(column, justify=justify)
    for t in summary.totals:
        totals.add_row(t["indicator"], t["name_zh"], figure_text(t["value"], t["qualifier"], t["parts_unspecified"]),
                       t["unit"], t["qualifier"] or "", str(t["units_with_figure"]))
    out.print(totals)

    units = Table(title=f"Units, {day}", title_justify="left")
    for column, justify in (("unit", "left"), ("code", "left"), ("status", "left"), ("report of", "left"),
                            *((figure.column_en, "right") for figure in ref.headline)):
        units.add_column(column, justify=justify)
    for u in summary.units:
        units.add_row(u["unit_name"], u["unit_code"], STATUS_WORDS[u["day_status"]],
                      str(u["report_date"] or "—"), *headline_cells(u, ref.headline))
    out.print(units)
    if summary.missing:
        out.print(f"{len(summary.missing)} units missing: " + ", ".join(u["unit_name"] for u in summary.missing))


FORCE_HELP = "Publish even when a blocking check fails; needs --reason. The failures and the reason are recorded."
REASON_HELP = "Why the day is published past its blocking checks (with --force); kept with the publication."


def _publishing_day(layout: Layout, ref: Reference, date: Optional[str], force: bool,
                    reason: Optional[str]) -> tuple[dt.date, Optional[str]]:
    """The day a publishing command works on, asked of the gate: inside the campaign, and --force with a reason."""
    from transforms.day.gate import OutsideCampaign, campaign_day, decide

    try:
        day, note = campaign_day(ref.campaign, _parse_day(date), dt.datetime.now(ref.campaign.timezone).date())
        decide(day, [], force, reason)
    except (OutsideCampaign, ValueError) as exc:
        raise UserError(str(exc)) from None
    return day, note


def _print_publication(day: dt.date, published: bool, forced: bool, blocking: list, paths: list[Path],
                       command: str) -> None:
    """Where the bulletin went, and whether the day is published; the exit status says the same to a script."""
    from transforms.day.gate import DRAFT_MARK

    def say(line: str) -> None:  # a path is printed whole and as it is, never wrapped or read as markup
        out.print(line, soft_wrap=True)

    folder = paths[0].parent if paths else None
    if published and forced:
        say(f"Bulletin: {folder}/ — published with {len(blocking)} blocking check(s) failing (--force); "
            "they and the reason are recorded with the publication.")
    elif published:
        say(f"Bulletin: {folder}/ ({', '.join(p.name for p in paths)}) — published.")
    else:
        names = ", ".join(dict.fromkeys(c.check for c in blocking))
        say(f"NOT PUBLISHED: {len(blocking)} blocking check(s) failed for {day} ({names}).")
        if folder:
            say(f"A draft marked {DRAFT_MARK} is in {folder}/; it is not the release.")
        say(f"Fix the submissions, or publish anyway with `warmline {command} --date {day} --force "
            f"--reason \"…\"`.")


@app.command()
def run(date: Optional[str] = typer.Option(None, "--date", help="Day to compute, YYYY-MM-DD; default: today "
                                                                   "in the campaign's time zone (its last day "
                                                                   "once it has ended)."),
        force: bool = typer.Option(False, "--force", help=FORCE_HELP),
        reason: Optional[str] = typer.Option(None, "--reason", help=REASON_HELP)) -> None:
    """The main job: ingest everything pending, compute and check the day, print it, publish its bulletin.
    Exit status 0 published, 3 not published (blocking checks failed), 1 error (a day outside the campaign too)."""
    with _errors():
        layout = _layout()
        ref = _reference(layout)
        day, note = _publishing_day(layout, ref, date, force, reason)
        if note:
            out.print(note)
        with _start_prefect(layout):
            from flows.daily_rollup import daily_rollup

            result = daily_rollup(str(layout.home), day, delegate=_hands_over(layout), force=force, reason=reason)
        _print_outcomes(result["outcomes"])
        _print_summary(result["summary"], ref)
        _print_checks(result["checks"])
        _print_publication(result["day"], result["published"], result["forced"], result["blocking"],
                           result["bulletin"], "run")
    if not result["published"]:
        raise typer.Exit(3)


def _print_checks(checks) -> None:
    if not checks:
        out.print("Checks: nothing to report.")
        return
    table = Table(title="Checks", title_justify="left")
    for column in ("check", "unit", "figure", "found", "expected", "effect"):
        table.add_column(column, overflow="fold")
    for c in checks:
        effect = (f"accepted: {c.accepted_reason}" if c.accepted_reason else "BLOCKS" if c.blocks else "warning")
        table.add_row(c.check, c.unit_name, c.indicator or "", c.found, c.expected, effect)
    out.print(table)
    for c in checks:
        if c.blocks:
            out.print(f"  blocking: {c.message_zh} — {c.message_en}")


@app.command()
def bulletin(date: str = typer.Option(..., "--date", help="Day to publish, YYYY-MM-DD."),
             force: bool = typer.Option(False, "--force", help=FORCE_HELP),
             reason: Optional[str] = typer.Option(None, "--reason", help=REASON_HELP)) -> None:
    """(Re)write the press bulletin of a day from the warehouse: bulletin.md, bulletin.docx, chart.png, figures.csv.
    A day the blocking checks hold back gets a draft marked 草稿（未发布） instead, and exit status 3."""
    with _errors():
        layout = _layout()
        ref = _reference(layout)
        day, _ = _publishing_day(layout, ref, date, force, reason)
        from flows.publish_day import gate_and_publish  # neither Prefect nor Great Expectations
        from transforms.bulletin.build import BulletinError

        try:
            written = gate_and_publish(str(layout.home), day, force, reason)
        except BulletinError as exc:
            raise UserError(f"bulletin for {day} not written: {exc}") from None
        decision = written.decision
        if decision.blocking:
            _print_checks(decision.blocking)
        for path in written.paths:
            out.print(f"wrote {path}", soft_wrap=True)
        _print_publication(day, decision.publishable, decision.forced, decision.blocking, written.paths, "bulletin")
    if not decision.publishable:
        raise typer.Exit(3)


@app.command()
def ingest(files: Optional[list[Path]] = typer.Argument(None, help="Files to ingest; default: all in the inbox.")) -> None:
    """Ingest the given files (or everything pending in the inbox) and print what became of each."""
    with _errors():
        layout = _layout()
        missing = [str(f) for f in files or [] if not f.is_file()]
        if missing:
            raise UserError(f"no such file: {', '.join(missing)}")
        with _start_prefect(layout):
            from flows.ingest_submission import ingest_or_hand_over

            paths = [str(f.resolve()) for f in files] if files else None
            outcomes = ingest_or_hand_over(str(layout.home), paths, _prefect_api(layout))
        _print_outcomes(outcomes)


def _log_to_stdout(*names: str) -> None:
    """The service's own lines (a file received, the writer's memory) on stdout, timed: serve.log, writer.log."""
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    for name in names:
        logging.getLogger(name).addHandler(console)
        logging.getLogger(name).setLevel(logging.INFO)


@app.command()
def serve() -> None:
    """Long-running service: each landed file ingested at once by a warm writer, a reconcile sweep every 10
    minutes, the scheduled daily flow. Uses PREFECT_API_URL, or the home's own Prefect server."""
    with _errors():
        layout = _layout()
        ref = _reference(layout)
        api = _prefect_api(layout)
        configure_prefect(layout)
        import asyncio

        from flows.ingest_submission import warm_up
        from flows.serve import deployments, run_service

        _log_to_stdout("warmline.serve", "warmline.watch", "warmline.writer")
        from flows.home_server import writer_for

        if not writer_for(layout, api):  # no home writer: this process will be the writer
            warm_up(str(layout.home))  # validation loaded and run once, before the first file arrives
        ready = lambda: out.print(  # noqa: E731
            f"warmline serve: watching {layout.inbox}; each landed file goes straight to the writer\n"
            f"  deployments: ingest-submission (on warmline.submission.ingest-requested), reconcile-inbox (every 10 "
            f"minutes), daily-rollup ({ref.campaign.rollup_cron}, {ref.campaign.timezone.key})\n"
            f"  Prefect UI: {api.removesuffix('/api')}\n  logs: {layout.logs / 'warmline.log'}\n"
            "  stop with Ctrl+C")
        try:
            asyncio.run(run_service(layout, deployments(layout, ref), api, ready))
        except KeyboardInterrupt:
            out.print("warmline serve: stopped")


@app.command(hidden=True)
def writer() -> None:
    """The home's writer: runs every ingest handed to it, validation loaded once (started with the home's server)."""
    import asyncio
    import os

    with _errors():
        layout = _layout()
        api = _prefect_api(layout)
        from flows.home_server import hold_writer_lock, mark_writer_ready, restart_writer

        lock = hold_writer_lock(layout, api)
        if lock is None:
            out.print("A writer already runs for this home; this one stops.")
            return
        configure_prefect(layout)
        _log_to_stdout("warmline.writer")
        from flows.ingest_submission import warm_up
        from flows.serve import run_writer

        warm_up(str(layout.home))  # validation loaded and run once, before the first file arrives
        files = writer_files()
        out.print(f"warmline writer for {layout.home}: process {os.getpid()}, tasks from {api}; starts afresh "
                  f"after {files} files", soft_wrap=True)
        mark_writer_ready(layout)
        from prefect.task_worker import StopTaskWorker

        restart = False
        try:
            restart = asyncio.run(run_writer(files))
        except (KeyboardInterrupt, StopTaskWorker):  # Ctrl+C; SIGTERM (`warmline server stop`): an ordinary end
            pass
        finally:
            if not restart:
                lock.close()
        if restart:
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            from flows.ingest_submission import close_ingestors

            close_ingestors()
            for queued in (APILogWorker, EventsWorker):  # what the last task logged and emitted reaches the server
                queued.drain_all(timeout=5)
            out.print(f"warmline writer: {files} files ingested; starting afresh (memory back to its start)")
            restart_writer(layout, lock)


WRITER_FILES = 1000  # files the home's writer ingests before it starts afresh; WARMLINE_WRITER_FILES overrides


def writer_files() -> int:
    import os

    value = os.environ.get("WARMLINE_WRITER_FILES", "")
    if not value:
        return WRITER_FILES
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"WARMLINE_WRITER_FILES={value!r}: write a whole number of files, at least 1, "
                         f"or leave it unset for {WRITER_FILES}.")
    return int(value)


server_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
app.add_typer(server_app, name="server")


@server_app.callback()
def server_group() -> None:
    """The home's own Prefect server and writer, which commands start when PREFECT_API_URL is not set."""


@server_app.command("status")
def server_status() -> None:
    """Whether the home's Prefect server runs, where, and since when."""
    import os

    from flows.home_server import running

    with _errors():
        layout = _layout()
        if os.environ.get("PREFECT_API_URL"):
            out.print(f"PREFECT_API_URL is set: warmline uses {os.environ['PREFECT_API_URL']}, not a server of "
                      "its own.", soft_wrap=True)
        server = running(layout)
        if server is None:
            out.print(f"No Prefect server runs for this home ({layout.home}); the next command that needs one "
                      "starts it, or `warmline server start`.", soft_wrap=True)
            return
        since = dt.datetime.fromtimestamp(server.started_at).astimezone().strftime("%Y-%m-%d %H:%M")
        out.print(f"Prefect server for this home: running at {server.url} (UI and API), process {server.pid}, "
                  f"since {since}; database and log in {layout.prefect}. `warmline server stop` stops it.",
                  soft_wrap=True)


@server_app.command("start")
def server_start() -> None:
    """Start the home's Prefect server in the background (nothing happens if it runs already)."""
    from flows.home_server import ServerFailed, ensure

    with _errors():
        layout = _layout()
        said: list[str] = []
        try:
            server = ensure(layout, said.append)
        except ServerFailed as exc:
            raise UserError(str(exc)) from None
        # another command may have started it a moment ago, while this one waited for the lock
        out.print(said[0] if said else f"The Prefect server for this home already runs at {server.url} "
                                       f"(process {server.pid}).", soft_wrap=True)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the home's Prefect server. Its database stays: the runs of earlier days are there when it starts again."""
    from flows.home_server import stop

    with _errors():
        layout = _layout()
        stopped = stop(layout)
        if stopped is None:
            out.print("No Prefect server runs for this home; nothing to stop.")
        else:
            out.print(f"Stopped the Prefect server for this home (process {stopped.pid}, {stopped.url}).",
                      soft_wrap=True)


SHOWN_ROWS = 1000  # on screen; --out writes them all


def _print_rows(result) -> None:
    from numbers import Number

    from transforms.warehouse.query import cell_text, columns, fetch

    names = columns(result)
    if not names:
        out.print("OK: the statement returned no rows")
        return
    rows = fetch(result, SHOWN_ROWS + 1)
    table = Table()
    for i, name in enumerate(names):
        numeric = any(isinstance(r[i], Number) and not isinstance(r[i], bool) for r in rows)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows[:SHOWN_ROWS]:
        table.add_row(*(cell_text(v) for v in row))
    out.print(table)
    if len(rows) > SHOWN_ROWS:
        out.print(f"showing the first {SHOWN_ROWS:,} rows; write them all with --out FILE.csv or --out FILE.parquet")
    else:
        out.print(f"{len(rows)} row" + ("" if len(rows) == 1 else "s"))


@app.command(name="sql")
def sql_query(query: str = typer.Argument(..., help='The SQL to run, e.g. "SELECT * FROM marts.headline".'),
              output: Optional[Path] = typer.Option(None, "--out", help="Write every row to this file instead of "
                                                                        "printing: .csv or .parquet.")) -> None:
    """Run a read-only SQL query on the analytics database and print the rows (or write them: --out FILE)."""
    from transforms.warehouse.query import QueryFailed, open_for_reading, run, write_query_result, writer_for

    with _errors():
        layout = _layout()
        if output is not None:
            try:
                writer_for(output)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        try:
            con, _ = open_for_reading(layout)
        except FileNotFoundError:
            raise UserError(f"no warehouse in {layout.warehouse.parent} yet; run `warmline run` first") from None
        try:
            if output is None:
                _print_rows(run(con, query))
            else:
                rows = write_query_result(con, query, output)
                out.print(f"wrote {rows} row{'' if rows == 1 else 's'} to {output}")
        except QueryFailed as exc:
            raise UserError(f"query failed: {exc}") from None
        finally:
            con.close()


@app.command()
def audit() -> None:
    """Prove nothing was lost or let in: every file in one final state, every fact traced to an archived file
    whose hash matches, the marts equal to a recomputation from the facts; exit status 1 on any finding."""
    from transforms import warehouse
    from transforms.warehouse.audit import audit as audit_warehouse

    with _errors():
        layout = _layout()
        con = warehouse.open_read_only(layout.warehouse)
        try:
            report = audit_warehouse(con, layout)
        finally:
            con.close()
        for finding in report.findings:
            out.print(finding.line(), soft_wrap=True)
        out.print(report.summary(), soft_wrap=True)
        if not report.ok:
            raise typer.Exit(1)


def _print_status_units(status) -> None:
    from transforms.day.status import COMPLETENESS, figures_cell, files_cell, headline_cells, received_cell

    out.print("  units: " + ", ".join(f"{n} {COMPLETENESS[k][1]}" for k, n in status.counts().items()))
    units = Table(title=f"Units, {status.day}", title_justify="left")
    for column, justify in (("unit", "left"), ("code", "left"), ("status", "left"), ("report of", "left"),
                            ("received", "left"), ("figures", "right"), *((h.column_en, "right") for h in status.headline),
                            ("files of the day", "left")):
        units.add_column(column, justify=justify, overflow="fold")
    for u in status.units:
        units.add_row(u["unit_name"], u["unit_code"], COMPLETENESS[u["completeness"]][1],
                      str(u["report_date"] or "—"), received_cell(u, status.now), figures_cell(u),
                      *headline_cells(u, status.headline), files_cell(u["files"]))
    out.print(units)


headers_app = typer.Typer(add_completion=False, rich_markup_mode=None,
                          help="Every header seen in the files on record and how it was read; accept a mapping for "
                               "one that was not, and the files that have it are read again.")
app.add_typer(headers_app, name="headers")


@headers_app.callback(invoke_without_command=True)
def headers(ctx: typer.Context,
            unread_only: bool = typer.Option(False, "--unread", help="List only the headers left unmapped.")) -> None:
    """List every header seen in the files on record: what it maps to and how (a catalogue alias, or inferred with
    the rule and the words that decided it), and the headers left unmapped with why, what they could be, how many
    files and cells, and an example."""
    if ctx.invoked_subcommand is not None:
        return
    from transforms import warehouse
    from transforms.ingest.header_review import headers_read, headers_unread

    with _errors():
        layout = _layout()
        con = warehouse.open_read_only(layout.warehouse)
        try:
            read, unread = headers_read(con), headers_unread(con)
        finally:
            con.close()
        if not unread_only:
            table = Table(title=f"Headers read ({len(read)})", title_justify="left")
            for column in ("header", "measure", "maps to", "how", "words", "files", "cells"):
                table.add_column(column, overflow="fold", justify="right" if column in ("files", "cells") else "left")
            for h in read:
                what = h["indicator"] + (f" ({h['item_type']})" if h["item_type"] else "")
                how = "alias" if h["how"] == "alias" else f"inferred: {h['rule']}"
                table.add_row(h["header"], h["unit"] or "", what, how, h["words"] or "", str(h["files"]),
                              str(h["cells"]))
            out.print(table)
        if not unread:
            out.print("Every header with figures was read: nothing left unmapped.")
            return
        table = Table(title=f"Headers not read ({len(unread)}): their figures are not in the totals",
                      title_justify="left")
        for column in ("header", "why", "could be", "files", "cells", "example"):
            table.add_column(column, overflow="fold", justify="right" if column in ("files", "cells") else "left")
        for h in unread:
            table.add_row(h["header"] or "(no header)", f"{h['reason']}: {h['detail']}" if h["detail"] else h["reason"],
                          (h["candidates"] or "—").replace(",", ", "), str(h["files"]), str(h["cells"]),
                          f"{h['example_file']} {h['example_cell']} “{h['example_text']}”")
        out.print(table)
        out.print('Accept one with: warmline headers accept "HEADER" --as INDICATOR [--item-type TYPE]; '
                  "the files that have it are then read again.")


@headers_app.command("accept")
def headers_accept(header: str = typer.Argument(..., help="The header as `warmline headers` lists it."),
                   indicator: Optional[str] = typer.Option(None, "--as", help="The indicator it means (its code); "
                                                           "default: its one candidate."),
                   item_type: Optional[str] = typer.Option(None, "--item-type",
                                                           help="For items_issued: the item type (棉被, 棉衣…).")) -> None:
    """Map a header left unmapped to an indicator: the alias is written into data/reference/indicators.csv (or
    item_types.csv), and every file on record that has the header is read again from the archive."""
    from transforms.ingest.header_review import ReviewError, accept_on_record

    with _errors():
        layout = _layout()
        try:
            done, files = accept_on_record(layout.warehouse, layout.reference, _reference(layout), header, indicator,
                                           item_type)
        except ReviewError as exc:
            raise UserError(str(exc)) from None
        what = done.indicator + (f" ({done.item_type})" if done.item_type else "")
        out.print(f"“{done.alias}” → {what}: written to {done.file}", soft_wrap=True)
        if not files:
            out.print("No file on record has it; files that come in from now on are read with it.")
            return
        reason = f"header “{done.header}” accepted as {what}"
        with _start_prefect(layout):
            from flows.ingest_submission import reread_submissions

            outcomes = reread_submissions(str(layout.home), [r.submission_id for r in files], reason)
        out.print(f"Read {len(outcomes)} file(s) again:")
        _print_outcomes(outcomes)
        days = sorted({o["as_of_date"] for o in outcomes if o["as_of_date"]})
        if days:
            out.print(f"Changed figures show as corrections in `warmline status`; recompute and republish the days "
                      f"with `warmline run --date D` ({', '.join(days)}).")


def _print_unread(unread) -> None:
    """The figures of the counted files that were not loaded, per header."""
    from transforms.warehouse.unread import REASONS

    if not unread:
        return
    table = Table(title=f"Figures not loaded ({sum(u.cells for u in unread)} cells; not in the totals)",
                  title_justify="left")
    for column in ("unit", "file", "where", "header", "why", "could be", "cells"):
        table.add_column(column, overflow="fold", justify="right" if column == "cells" else "left")
    for u in unread:
        table.add_row(u.unit_name, shortened(u.file_name, FILE_COLUMN_CHARS), u.where, u.header or "(no header)",
                      REASONS[u.reason][1],
                      ", ".join(u.candidates) or "—", str(u.cells))
    out.print(table)
    out.print("  `warmline headers` lists every header and how it was read; `warmline headers accept` maps one and "
              "re-reads the files that have it.")


def _print_status(report) -> None:
    from transforms.day.status import (correction_text, overlap_text, publication_lines, revision_text, state_word,
                                   warning_text)

    status, page, docs, unbuilt = report.status, report.page, report.docs, report.unbuilt
    out.print(f"{status.campaign} — status of {status.day} (deadline {status.deadline:%H:%M}, {status.timezone})")
    if status.units:
        _print_status_units(status)
    files = status.files
    if files:
        table = Table(title=f"Files for {status.day}", title_justify="left")
        for column in ("received", "file", "unit", "status", "warnings", "reason"):
            table.add_column(column, overflow="fold", justify="right" if column == "warnings" else "left")
        for f in files:
            # a file for another day (a date that cannot be right) is listed on the day it came in, saying so
            claims = f"as of {f['as_of_date']}" if f["as_of_date"] is not None and f["as_of_date"] != status.day \
                else ""
            reason = "; ".join(p for p in (claims, f["reason"] or "") if p)
            table.add_row(status.time_text(f["received_local"]), shortened(f["file_name"], FILE_COLUMN_CHARS),
                          f["unit_name"] or "?", state_word(f), str(f["warnings"]), reason)
        out.print(table)
        warned = [f for f in files if f.get("warning_rows")]
        if warned:
            out.print(f"Warnings of the files ({sum(len(f['warning_rows']) for f in warned)}), per file:")
            for f in warned:
                out.print(f"  {f['file_name']} ({f['unit_name'] or '?'}, received "
                          f"{status.time_text(f['received_local'])}):", soft_wrap=True)
                for w in f["warning_rows"]:
                    out.print(f"    {warning_text(w)}", soft_wrap=True)
    _print_checks(status.checks)
    _print_unread(status.unread)
    out.print(f"Corrections of unit reports up to {status.day}:" if status.revisions
              else f"Corrections of unit reports up to {status.day}: none")
    for r in status.revisions:
        out.print(f"  {revision_text(r, status.now)}", soft_wrap=True)
    if status.corrections:
        out.print("Published figures of earlier days changed since:")
        for c in status.corrections:
            out.print(f"  {correction_text(c, status.now)}", soft_wrap=True)
    for o in status.overlaps:
        out.print(f"Set aside: {overlap_text(o)}", soft_wrap=True)
    for line in publication_lines(status):
        out.print(line, soft_wrap=True)
    if docs:
        out.print(f"Data Docs: {docs}", soft_wrap=True)
    if unbuilt:
        out.print(f"Data Docs: {unbuilt} validation result(s) have no page yet; `warmline docs` builds them.",
                  soft_wrap=True)
    elif not docs:
        out.print("Data Docs: none yet (validation results are kept from the next run)", soft_wrap=True)
    if page:
        out.print(f"Status page: {page}", soft_wrap=True)


@app.command()
def status(date: Optional[str] = typer.Option(None, "--date", help="Day to show, YYYY-MM-DD; default: today in "
                                                                   "the campaign's time zone.")) -> None:
    """Per unit: on time, late, carried forward or missing, with each file's validation; the checks, corrections
    and whether the day is published. Writes data/bulletins/<D>/status.html and links the Data Docs (`warmline
    docs` builds their pages). Reads the warehouse alone: no Prefect, no Great Expectations."""
    with _errors():
        from transforms.day.status_report import status_report

        day = _parse_day(date)
        layout = _layout()
        ref = _reference(layout)
        now = dt.datetime.now(ref.campaign.timezone)
        day = day or now.date()
        report = status_report(layout, ref, day, now)
        if not report.status.units:
            out.print(f"Nothing computed for {day} yet: it is outside the campaign ({ref.campaign.start_date} to "
                      f"{ref.campaign.end_date}) or after the last day run; `warmline run --date {day}` computes it.")
        _print_status(report)


@app.command()
def docs() -> None:
    """Build the Data Docs pages (Great Expectations) of the validation results kept as files were ingested that have
    none yet, and the index; print where the index is."""
    from transforms.validate.data_docs import build_pending_pages

    with _errors():
        layout = _layout()
        with out.status("Building the Data Docs pages of the validation results that have none yet…"):
            done = build_pending_pages(layout.quality)
        if not done.kept:
            out.print(f"No validation results kept in {layout.quality} yet: each file ingested from now on keeps its "
                      "own, and `warmline docs` builds their pages.", soft_wrap=True)
            return
        out.print(f"Built {done.built} Data Docs page(s)." if done.built
                  else f"Every one of the {done.kept} validation results has its page already.")
        out.print(f"Data Docs: {done.index}", soft_wrap=True)


if __name__ == "__main__":
    app()


web_app = typer.Typer(add_completion=False, rich_markup_mode=None,
                      help="The web pages: clerks upload through their unit's link; `warmline web token` makes and "
                           "revokes the links.")
app.add_typer(web_app, name="web")
token_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True,
                        help="Each unit's upload link: a secret token, of which only a hash is kept.")
web_app.add_typer(token_app, name="token")

WEB_PORT = 8150


@web_app.callback(invoke_without_command=True)
def web(ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; keep 127.0.0.1 behind a TLS "
                                                             "reverse proxy (README, 'The web pages')."),
        port: int = typer.Option(WEB_PORT, "--port", help="Port to listen on."),
        behind_tls: bool = typer.Option(False, "--behind-tls", help="Served to browsers over HTTPS by a proxy: "
                                                                    "cookies are then sent over HTTPS only."),
        prefect_ui: Optional[str] = typer.Option(None, "--prefect-ui", help="The Prefect UI's address the pages "
                                                 "link to; default: PREFECT_API_URL's server, or the home's.")) -> None:
    """Serve the web pages for this home until stopped (Ctrl+C): each unit's upload page, reached with its link."""
    if ctx.invoked_subcommand is not None:
        return
    with _errors():
        layout = _layout()
        import uvicorn

        from flows.web.app import WebSettings, create_app

        _log_to_stdout("warmline.web")
        layout.logs.mkdir(parents=True, exist_ok=True)
        logfile = logging.FileHandler(layout.logs / "web.log", encoding="utf-8")
        logfile.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logging.getLogger("warmline.web").addHandler(logfile)
        if prefect_ui is None:
            import os

            from flows.home_server import running

            server = running(layout)
            api = os.environ.get("PREFECT_API_URL")
            prefect_ui = api.removesuffix("/").removesuffix("/api") if api else (server.url if server else None)
        app_ = create_app(layout.home, WebSettings(secure_cookies=behind_tls, prefect_ui=prefect_ui))
        out.print(f"warmline web: http://{host}:{port}/ for {layout.home}; clerks open their unit's link "
                  "(`warmline web token add UNIT` makes one); stop with Ctrl+C\n  uploads land in the inbox and "
                  "are read by `warmline serve`: keep it running beside this", soft_wrap=True)
        # uvicorn's own access log would write each clerk's link, a secret, into the log: ours leaves it out
        uvicorn.run(app_, host=host, port=port, access_log=False, log_level="warning")


def _web_store(layout: Layout):
    from flows.web.store import WebStore

    return WebStore(layout.home / "data" / "web" / "web.sqlite")


@token_app.command("add")
def token_add(unit: str = typer.Argument(..., help="The unit's name, alias or code."),
              base_url: str = typer.Option(f"http://127.0.0.1:{WEB_PORT}", "--base-url",
                                           help="The address clerks reach `warmline web` at (the proxy's, "
                                                "e.g. https://warmline.example.gov.cn).")) -> None:
    """Make an upload link for a unit and print it once: send it to that unit's clerk."""
    with _errors():
        layout = _layout()
        found = _reference(layout).find_unit(unit)
        if found is None:
            raise UserError(f"no unit called {unit!r} in {layout.reference / 'units.csv'}; use a name, alias or code "
                            "listed there")
        token, secret = _web_store(layout).add_token(found.code)
        out.print(f"upload link for {found.name} ({found.code}), token {token.token_id}; shown only now, keep it "
                  f"as a password:\n{base_url.rstrip('/')}/u/{secret}", soft_wrap=True)


@token_app.command("revoke")
def token_revoke(unit: str = typer.Argument(..., help="The unit's name, alias or code, or a token id from "
                                                      "`warmline web token list`.")) -> None:
    """Revoke a unit's upload links (or one, by its token id): they answer 403 from now on."""
    with _errors():
        layout = _layout()
        store = _web_store(layout)
        found = _reference(layout).find_unit(unit)
        revoked = store.revoke(unit_code=found.code) if found else store.revoke(token_id=unit)
        if not revoked:
            raise UserError(f"no live upload link for {unit!r}; `warmline web token list` lists them")
        out.print("revoked: " + ", ".join(f"{t.token_id} ({t.unit_code})" for t in revoked))


@token_app.command("list")
def token_list() -> None:
    """List the upload links made: unit, token id, when made, when revoked (never the secret)."""
    with _errors():
        layout = _layout()
        table = Table("unit", "token", "made", "revoked")
        for t in _web_store(layout).tokens():
            table.add_row(t.unit_code, t.token_id, t.created_at, t.revoked_at or "—")
        out.print(table)


@web_app.command("password")
def web_password(from_stdin: bool = typer.Option(False, "--stdin", help="Read the password from standard input "
                                                                        "(one line) instead of asking.")) -> None:
    """Set the statistician's password for the web pages (kept as a scrypt hash); ends the sessions open now."""
    with _errors():
        layout = _layout()
        if from_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("statistician's password", hide_input=True, confirmation_prompt=True)
        if len(password) < 10:
            raise UserError("the password is too short: use at least 10 characters (a phrase is easiest to type)")
        _web_store(layout).set_password(password)
        out.print("password set; the statistician logs in at /login of `warmline web`")
