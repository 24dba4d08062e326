"""The `warmline` command line: thin commands over the flows and transforms, errors as one line."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from flows.runtime import configure_prefect, home
from transforms.formatting import figure_text
from transforms.layout import SHIPPED_REFERENCE, Layout
from transforms.reference import Reference, load_reference

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="warmline: county relief workbooks in, trusted city-wide figures out.")
out = Console(width=None if sys.stdout.isatty() else 160, highlight=False)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200, highlight=False)
_state = {"debug": False}

STATUS_WORDS = {"reported": "reported", "carried_forward": "carried forward", "missing": "missing"}
HEADLINE_LABELS = (("households_visited", "households visited", "户"), ("funds_disbursed", "funds disbursed", "yuan"),
                   ("items_issued", "items issued", "件"), ("patrols_run", "patrols run", "次"))


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
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        err.print(f"Error: {message}", markup=False, soft_wrap=True)
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
    try:
        return load_reference(layout.reference)
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"cannot read the reference data in {layout.reference}: {exc}; "
                        "fix the file or copy it again from a fresh `warmline init`") from None


def init_home(layout: Layout) -> list[Path]:
    """Create the folders, copy the shipped reference data where missing, create the warehouse."""
    from transforms import warehouse

    created = [p for p in layout.folders() if not p.exists()]
    for folder in layout.folders():
        folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(SHIPPED_REFERENCE.iterdir()):
        target = layout.reference / source.name
        if source.is_file() and not target.exists():
            shutil.copyfile(source, target)
            created.append(target)
    con = warehouse.connect(layout.warehouse)
    try:
        warehouse.prepare(con, _reference(layout))
    finally:
        con.close()
    return created


@app.command()
def init() -> None:
    """Create the folders, the reference data and the warehouse under WARMLINE_HOME; safe to run again."""
    with _errors():
        layout = _layout(require_init=False)
        created = init_home(layout)
        out.print(f"warmline home: {layout.home}")
        out.print(f"created {len(created)} folder(s) and file(s)" if created else "already set up; nothing changed")


@app.command()
def demo() -> None:
    """Write the worked example's submissions (Shaoguan, 2023-12-20) into the inbox."""
    from transforms.demo import write_demo

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
    from transforms.template import write_submission

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
        target = output or Path(f"{sender or ref.campaign.city}_寒冬送温暖统计表.xlsx")
        write_submission(target, ref, sender)
        out.print(f"wrote {target}")


def _start_prefect(layout: Layout):
    """Import Prefect with its log lines going to data/logs/, and the flow heartbeat off for one-shot runs."""
    configure_prefect(layout)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def _outcome_table(outcomes: list[dict]) -> Table:
    table = Table(title="Files ingested", title_justify="left")
    for column in ("file", "submission", "unit", "as of", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for o in outcomes:
        note = o["reason"] or (f"{o['warnings']} warning(s)" if o["warnings"] else "")
        table.add_row(o["file_name"], o["submission_id"], o["unit_code"] or "?", o["as_of_date"] or "?",
                      o["status"], note)
    return table


def _print_outcomes(outcomes: list[dict]) -> None:
    if not outcomes:
        out.print("No files were waiting in the inbox.")
        return
    out.print(_outcome_table(outcomes))
    counts = {s: sum(1 for o in outcomes if o["status"] == s) for s in ("loaded", "superseded", "duplicate", "rejected")}
    out.print("Files: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for o in outcomes:
        if o["status"] == "rejected":
            out.print(f"Rejected {o['file_name']}: report in {o['report_path']}")


def _print_summary(summary, ref: Reference) -> None:
    day = summary.day
    if summary.headline is None:
        out.print(f"No figures for {day}: the day is outside the campaign ({ref.campaign.start_date} "
                  f"to {ref.campaign.end_date}) or nothing has been computed for it.")
        return
    h = summary.headline
    out.print(f"\n{ref.campaign.name} — city-wide figures as of {day}")
    for code, label, unit in HEADLINE_LABELS:
        total = next(t for t in summary.totals if t["indicator"] == code)
        text = figure_text(total["value"], total["qualifier"], total["parts_unspecified"])
        qualifier = f" ({total['qualifier']})" if total["qualifier"] not in (None, "exact") else ""
        out.print(f"  {label}: {text} {unit}{qualifier}" if total["qualifier"] else f"  {label}: no figure")
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
                            ("households", "right"), ("funds (yuan)", "right"), ("items", "right"),
                            ("patrols", "right")):
        units.add_column(column, justify=justify)
    for u in summary.units:
        units.add_row(u["unit_name"], u["unit_code"], STATUS_WORDS[u["day_status"]],
                      str(u["report_date"] or "—"),
                      *(figure_text(u[c], u[f"{c}_qualifier"], u.get(f"{c}_unspecified") or 0)
                        for c, _, _ in HEADLINE_LABELS))
    out.print(units)
    if summary.missing:
        out.print(f"{len(summary.missing)} units missing: " + ", ".join(u["unit_name"] for u in summary.missing))


@app.command()
def run(date: Optional[str] = typer.Option(None, "--date", help="Day to compute, YYYY-MM-DD; default: today "
                                                                   "in the campaign's time zone.")) -> None:
    """The main job: ingest everything pending, compute the day's city-wide totals, print them."""
    with _errors():
        day = _parse_day(date)
        layout = _layout()
        ref = _reference(layout)
        with _start_prefect(layout):
            from flows.daily_rollup import daily_rollup

            result = daily_rollup(str(layout.home), day)
        _print_outcomes(result["outcomes"])
        _print_summary(result["summary"], ref)


@app.command()
def ingest(files: Optional[list[Path]] = typer.Argument(None, help="Files to ingest; default: all in the inbox.")) -> None:
    """Ingest the given files (or everything pending in the inbox) and print what became of each."""
    with _errors():
        layout = _layout()
        missing = [str(f) for f in files or [] if not f.is_file()]
        if missing:
            raise UserError(f"no such file: {', '.join(missing)}")
        with _start_prefect(layout):
            from flows.ingest_submission import ingest_pending

            outcomes = ingest_pending(str(layout.home), [str(f.resolve()) for f in files] if files else None)
        _print_outcomes(outcomes)


if __name__ == "__main__":
    app()
