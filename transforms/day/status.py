"""The statistician's day from the warehouse: who reported on time, late or not at all, what became of each file,
the checks, corrections, and whether the day was published (`warmline status`, status.html)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import duckdb

from transforms.core.display import figure_text, local_time_text, plain_number
from transforms.core.reference import HeadlineFigure, Reference
from transforms.day.checks import CheckResult, DayChecks, day_rows
from transforms.day.release_log import corrections_since_publication
from transforms.validate.data_docs import StoredValidation, validations_of
from transforms.warehouse import sql
from transforms.warehouse.unread import REASONS, Unread, day_unread

# A loaded file with figure cells that were not read: loaded, but not cleanly — someone has to look at it.
NEEDS_LOOK = "needs_look"
# completeness → (Chinese, English)
COMPLETENESS = {"on_time": ("按时", "on time"), "late": ("迟报", "late"),
                "carried_forward": ("沿用前次", "carried forward"), "missing": ("未报送", "missing")}
FILE_STATES = {"loaded": ("已入库", "loaded"), "rejected": ("退回", "rejected"),
               "superseded": ("已被替代", "superseded"), "duplicate": ("重复", "duplicate"),
               NEEDS_LOOK: ("需核对", "needs a look")}
CHECKS = {"missing_units": "未报送", "late_units": "迟报", "cumulative_falls": "累计数下降", "outlier": "新增异常",
          "cross_field": "指标间矛盾", "plausibility": "比例不合理"}
PUBLISHED, FORCED, BLOCKED, NOT_YET = "published", "forced", "blocked", "not_published"


def file_warnings(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> dict[str, list[dict]]:
    """submission_id → the warnings recorded with that file (raw.issues rows: sheet, cell, raw_text, message_zh,
    message_en), in the order found; a file without warnings is not a key."""
    ids = sorted(set(submission_ids))
    if not ids:
        return {}
    cursor = con.execute(sql("status_warnings"), {"submission_ids": ids})
    columns = [d[0] for d in cursor.description]
    found: dict[str, list[dict]] = {}
    for values in cursor.fetchall():
        row = dict(zip(columns, values))
        found.setdefault(row["submission_id"], []).append(row)
    return found


def file_states(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """submission_id → (status, reason) as recorded now: a file loaded and then superseded in the same run is
    superseded."""
    ids = sorted(set(submission_ids))
    if not ids:
        return {}
    return {row[0]: (row[1], row[2]) for row in con.execute(sql("file_states"), {"submission_ids": ids}).fetchall()}


@dataclass(frozen=True)
class DayStatus:
    """Everything `warmline status` shows for one day, as plain rows."""

    day: dt.date
    campaign: str
    timezone: str
    deadline: dt.time
    units: list[dict]  # each expected unit: completeness, report, figures, and `files` (its submissions of the day)
    unattributed: list[dict]  # files received that day whose unit or date could not be read
    checks: list[CheckResult]
    revisions: list[dict]  # unit reports up to the day that a later file corrected, figure by figure
    corrections: list[dict]  # published city figures of earlier days changed since
    changed_since_published: list[dict]  # the day's own published city figures changed since
    publications: list[dict]
    overlaps: list[dict]
    validations: dict[str, list[StoredValidation]] = field(default_factory=dict)  # submission_id → its results
    unread: list[Unread] = field(default_factory=list)  # figures in the counted files that were not loaded
    now: dt.datetime | None = None  # when read (campaign time; default: the clock): which times need their year
    headline: tuple[HeadlineFigure, ...] = ()  # the campaign's headline indicators, each unit's shown beside it

    def __post_init__(self) -> None:
        if self.now is None:
            object.__setattr__(self, "now", dt.datetime.now(ZoneInfo(self.timezone)))

    def time_text(self, local: dt.datetime | None) -> str:
        """A campaign-time moment of this status as local_time_text writes it."""
        return local_time_text(local, self.now)

    @property
    def files(self) -> list[dict]:
        """Every file the status lists (the units' and the unattributed), each once, in the order received."""
        seen, files = set(), []
        for f in [f for u in self.units for f in u["files"]] + self.unattributed:
            if f["submission_id"] not in seen:
                seen.add(f["submission_id"])
                files.append(f)
        return sorted(files, key=lambda f: (f["received_at"], f["file_name"]))

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks]

    @property
    def publication_state(self) -> str:
        """published, forced (published past blocking checks), blocked, or not_published (not yet run)."""
        if self.publications:
            return FORCED if self.publications[-1]["forced"] else PUBLISHED
        return BLOCKED if self.blocking else NOT_YET

    def counts(self) -> dict[str, int]:
        return {state: sum(1 for u in self.units if u["completeness"] == state) for state in COMPLETENESS}


def day_status(con: duckdb.DuckDBPyConnection, ref: Reference, day: dt.date,
               stored: list[StoredValidation] | None = None, now: dt.datetime | None = None) -> DayStatus:
    """Read day `day` from the warehouse and run its checks; `stored` (the kept validation results) links each
    submission to its Data Docs pages; `now` (default: the clock, in the campaign's time zone) decides which times
    need their year."""
    tz = ref.campaign.timezone
    figures = {u["unit_code"]: u for u in day_rows(con, "day_units", day)}
    unread = day_unread(con, day)
    files = day_rows(con, "status_submissions", day)
    warnings = file_warnings(con, [f["submission_id"] for f in files if f["warnings"]])
    for f in files:
        f["warning_rows"] = warnings.get(f["submission_id"], [])
    units = []
    for row in day_rows(con, "check_completeness", day):
        unit = {**row, **{k: v for k, v in figures.get(row["unit_code"], {}).items() if k not in row}}
        # a file whose date cannot be right is also shown on the day it was received: the day it was sent on
        unit["files"] = [f for f in files if f["unit_code"] == row["unit_code"]
                         and (f["as_of_date"] == day or (f["date_doubtful"] and f["received_day"] == day))]
        unit["cells_unread"] = sum(u.cells for u in unread if u.unit_code == row["unit_code"])
        units.append(unit)
    listed = {f["submission_id"] for u in units for f in u["files"]}
    validations = {}
    for f in files:
        found = validations_of(stored or [], f["unit_code"], f["as_of_date"], f["received_at"], f["processed_at"])
        if found:
            validations[f["submission_id"]] = found
    corrections = [{**c, "published_local": c["published_at"].astimezone(tz).replace(tzinfo=None)}
                   for c in corrections_since_publication(con, day)]
    return DayStatus(
        day=day, campaign=ref.campaign.name, timezone=tz.key, deadline=ref.campaign.daily_deadline,
        units=units, unattributed=[f for f in files if f["submission_id"] not in listed],
        checks=DayChecks(ref).run(con, day), revisions=day_rows(con, "status_revisions", day),
        corrections=corrections, changed_since_published=day_rows(con, "status_day_changes", day),
        publications=day_rows(con, "status_publications", day), overlaps=day_rows(con, "status_overlaps", day),
        validations=validations, unread=unread, now=(now or dt.datetime.now(tz)).astimezone(tz),
        headline=ref.headline)


# -- words shared by the command line and status.html --------------------------------------------------------

def file_state(f: dict) -> str:
    """The file's state as shown: its recorded status, except that a loaded file with figure cells not read needs
    a look (NEEDS_LOOK) rather than passing for cleanly loaded."""
    return NEEDS_LOOK if f["status"] == "loaded" and f.get("unread_cells") else f["status"]


def state_word(f: dict) -> str:
    """'loaded', 'rejected' …; '需核对 needs a look' for a loaded file with figure cells not read."""
    state = file_state(f)
    return " ".join(FILE_STATES[state]) if state == NEEDS_LOOK else state


def _remarks(f: dict) -> str:
    """' (2 warnings, 3 cells not read)', or '' for a file with nothing to remark."""
    parts = [f"{f['warnings']} warning{'' if f['warnings'] == 1 else 's'}" if f["warnings"] else "",
             f"{f['unread_cells']} cell{'' if f['unread_cells'] == 1 else 's'} not read"
             if file_state(f) == NEEDS_LOOK else ""]
    remarks = ", ".join(p for p in parts if p)
    return f" ({remarks})" if remarks else ""


def file_note(f: dict) -> str:
    """'loaded', 'loaded (2 warnings)', 'rejected: <reason>', 'superseded by …', '需核对 needs a look (3 cells not
    read)' — one line per file."""
    reason = f["reason"] or ""
    if not reason:
        return state_word(f) + _remarks(f)
    return (reason if reason.startswith(f["status"]) else f"{state_word(f)}: {reason}") + _remarks(f)


def files_cell(files: list[dict]) -> str:
    """A unit's files of the day in short: 'superseded, loaded (1 warning)'; '—' for none."""
    if not files:
        return "—"
    return ", ".join(state_word(f) + _remarks(f) for f in files)


def warning_place(w: dict) -> str:
    """Where a warning was found: 'sheet!C5', 'sheet', or '' for the file as a whole."""
    if w["sheet"] and w["cell"]:
        return f"{w['sheet']}!{w['cell']}"
    return w["sheet"] or w["cell"] or ""


def warning_text(w: dict) -> str:
    """'统计表!C5 “走访户”: <Chinese> — <English>': one warning on one line, where and what first."""
    place = " ".join(p for p in (warning_place(w), f"“{w['raw_text']}”" if w["raw_text"] else "") if p)
    return f"{place + ': ' if place else ''}{w['message_zh']} — {w['message_en']}"


def figures_cell(unit: dict) -> str:
    """How many indicators the unit gave a number for ('—' for a unit that never reported)."""
    if unit["completeness"] == "missing":
        return "—"
    extra = f" (+{unit['figures_unspecified']} unspecified)" if unit["figures_unspecified"] else ""
    unread = f", {unit['cells_unread']} not read" if unit.get("cells_unread") else ""
    return f"{unit['figures_reported']}{extra}{unread}"


def headline_cells(unit: dict, headline: tuple[HeadlineFigure, ...]) -> list[str]:
    """The unit's headline figures; a figure not given is '—', never 0."""
    return [figure_text(unit.get(h.code), unit.get(f"{h.code}_qualifier"), unit.get(f"{h.code}_unspecified") or 0)
            for h in headline]


def received_cell(unit: dict, now: dt.datetime) -> str:
    return local_time_text(unit.get("received_local"), now)


def effect(check: CheckResult) -> str:
    """BLOCKS, warning, or accepted: <reason> (an override in campaign.toml)."""
    return f"accepted: {check.accepted_reason}" if check.accepted_reason else "BLOCKS" if check.blocks else "warning"


def change_text(value, qualifier) -> str:
    return figure_text(value, qualifier) if qualifier else "—"


def blocking_list(status: DayStatus) -> str:
    """'cumulative_falls 始兴县 households_visited; …'"""
    return "; ".join(" ".join(p for p in (c.check, c.unit_name, c.indicator) if p) for c in status.blocking)


def publication_lines(status: DayStatus) -> list[str]:
    """Whether the day was published and, if it is blocked, by which checks; in English."""
    day, state = status.day, status.publication_state
    lines = []
    if status.publications:
        last = status.publications[-1]
        when = f"{status.time_text(last['published_local'])} ({status.timezone})"
        if state == FORCED:
            lines.append(f"Published {when} with --force past blocking check(s): "
                         + "; ".join((last["blocking_checks"] or "").splitlines())
                         + (f"; reason: {last['force_reason']}" if last.get("force_reason") else ""))
        else:
            lines.append(f"Published {when}.")
        for c in status.changed_since_published:
            was, now = (change_text(c["published_value"], c["published_qualifier"]),
                        change_text(c["current_value"], c["current_qualifier"]))
            lines.append(f"  changed since: {c['indicator']} {was} → {now}")
        if status.blocking:
            lines.append(f"  now {len(status.blocking)} blocking check(s) fail: {blocking_list(status)}")
    elif state == BLOCKED:
        lines.append(f"NOT PUBLISHED: {len(status.blocking)} blocking check(s) fail for {day} "
                     f"({blocking_list(status)}). Fix the submissions, or publish anyway with "
                     f"`warmline run --date {day} --force --reason \"…\"`.")
    else:
        lines.append(f"Not published yet; no blocking check fails: `warmline run --date {day}` publishes it.")
    return lines


def unread_text(u: Unread, names: dict[str, str] | None = None) -> str:
    """'浈江区 统计表!C5 “走访慰问困难群众” (3 cells): ambiguous — could be households_visited, persons_visited'."""
    could = f" — could be {', '.join(u.candidates)}" if u.candidates else ""
    return (f"{u.unit_name} {u.file_name} {u.where} “{u.header or '(no header)'}” ({u.cells} cell"
            f"{'' if u.cells == 1 else 's'}): {REASONS[u.reason][1]}{could}")


def revision_text(r: dict, now: dt.datetime) -> str:
    what = r["indicator"] + (f"（{r['item_type']}）" if r["item_type"] else "")
    return (f"{r['as_of_date']} {r['unit_name']} {what}: {change_text(r['old_value'], r['old_qualifier'])} → "
            f"{change_text(r['new_value'], r['new_qualifier'])} ({r['old_file']} → {r['new_file']}, "
            f"{local_time_text(r['revised_local'], now)})")


def correction_text(c: dict, now: dt.datetime) -> str:
    was, current = (change_text(c["published_value"], c["published_qualifier"]),
                    change_text(c["current_value"], c["current_qualifier"]))
    return (f"{c['as_of_date']} {c['indicator']}: published {was} on {local_time_text(c['published_local'], now)}, "
            f"now {current}")


def overlap_text(o: dict) -> str:
    return (f"{o['unit_name']} {o['indicator']} {plain_number(o['value']) if o['value'] is not None else '—'}: "
            f"included in {o['included_in_name'] or o['included_in_unit']} ({o['reason']})")
