"""The statistician's day from the warehouse: who reported on time, late or not at all, what became of each file,
the checks, corrections, and whether the day was published (`warmline status`, status.html)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from transforms.checks import CheckResult, DayChecks
from transforms.formatting import figure_text, plain_number
from transforms.publication import corrections_since_publication
from transforms.quality_docs import StoredValidation, validations_of
from transforms.reference import Reference
from transforms.unread import REASONS, Unread, day_unread
from transforms.warehouse import sql

# completeness → (Chinese, English)
COMPLETENESS = {"on_time": ("按时", "on time"), "late": ("迟报", "late"),
                "carried_forward": ("沿用前次", "carried forward"), "missing": ("未报送", "missing")}
FILE_STATES = {"loaded": ("已入库", "loaded"), "rejected": ("退回", "rejected"),
               "superseded": ("已被替代", "superseded"), "duplicate": ("重复", "duplicate")}
CHECKS = {"missing_units": "未报送", "late_units": "迟报", "cumulative_falls": "累计数下降", "outlier": "新增异常",
          "cross_field": "指标间矛盾", "plausibility": "比例不合理", "total_mismatch": "合计不符"}
# the four headline figures: (code, Chinese, English with unit)
HEADLINE = (("households_visited", "走访户数", "households"), ("funds_disbursed", "资金（元）", "funds (yuan)"),
            ("items_issued", "物资（件）", "items"), ("patrols_run", "巡查（次）", "patrols"))
PUBLISHED, FORCED, BLOCKED, NOT_YET = "published", "forced", "blocked", "not_published"


def _rows(con: duckdb.DuckDBPyConnection, name: str, day: dt.date) -> list[dict]:
    cursor = con.execute(sql(name), {"day": day})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


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


def day_status(con: duckdb.DuckDBPyConnection, ref: Reference, day: dt.date, validator=None,
               stored: list[StoredValidation] | None = None) -> DayStatus:
    """Read day `day` from the warehouse and run its checks; `validator` runs the cross-field suite, `stored`
    (the kept validation results) links each submission to its Data Docs pages."""
    figures = {u["unit_code"]: u for u in _rows(con, "day_units", day)}
    unread = day_unread(con, day)
    files = _rows(con, "status_submissions", day)
    units = []
    for row in _rows(con, "check_completeness", day):
        unit = {**row, **{k: v for k, v in figures.get(row["unit_code"], {}).items() if k not in row}}
        unit["files"] = [f for f in files if f["unit_code"] == row["unit_code"] and f["as_of_date"] == day]
        unit["cells_unread"] = sum(u.cells for u in unread if u.unit_code == row["unit_code"])
        units.append(unit)
    listed = {f["submission_id"] for u in units for f in u["files"]}
    validations = {}
    for f in files:
        found = validations_of(stored or [], f["unit_code"], f["as_of_date"], f["received_at"], f["processed_at"])
        if found:
            validations[f["submission_id"]] = found
    tz = ref.campaign.timezone
    corrections = [{**c, "published_local": c["published_at"].astimezone(tz).replace(tzinfo=None)}
                   for c in corrections_since_publication(con, day)]
    return DayStatus(
        day=day, campaign=ref.campaign.name, timezone=tz.key, deadline=ref.campaign.daily_deadline,
        units=units, unattributed=[f for f in files if f["submission_id"] not in listed],
        checks=DayChecks(ref, validator).run(con, day), revisions=_rows(con, "status_revisions", day),
        corrections=corrections, changed_since_published=_rows(con, "status_day_changes", day),
        publications=_rows(con, "status_publications", day), overlaps=_rows(con, "status_overlaps", day),
        validations=validations, unread=unread)


# -- words shared by the command line and status.html --------------------------------------------------------

def file_note(f: dict) -> str:
    """'loaded', 'loaded, 2 warnings', 'rejected: <reason>', 'superseded by …' — one line per file."""
    warnings = f" ({f['warnings']} warning{'' if f['warnings'] == 1 else 's'})" if f["warnings"] else ""
    reason = f["reason"] or ""
    if not reason:
        return f["status"] + warnings
    return (reason if reason.startswith(f["status"]) else f"{f['status']}: {reason}") + warnings


def files_cell(files: list[dict]) -> str:
    """A unit's files of the day in short: 'superseded, loaded (1 warning)'; '—' for none."""
    if not files:
        return "—"
    return ", ".join(f["status"] + (f" ({f['warnings']} warning{'' if f['warnings'] == 1 else 's'})"
                                    if f["warnings"] else "") for f in files)


def figures_cell(unit: dict) -> str:
    """How many indicators the unit gave a number for ('—' for a unit that never reported)."""
    if unit["completeness"] == "missing":
        return "—"
    extra = f" (+{unit['figures_unspecified']} unspecified)" if unit["figures_unspecified"] else ""
    unread = f", {unit['cells_unread']} not read" if unit.get("cells_unread") else ""
    return f"{unit['figures_reported']}{extra}{unread}"


def headline_cells(unit: dict) -> list[str]:
    """The unit's four headline figures; a figure not given is '—', never 0."""
    return [figure_text(unit.get(code), unit.get(f"{code}_qualifier"), unit.get(f"{code}_unspecified") or 0)
            for code, _, _ in HEADLINE]


def received_cell(unit: dict) -> str:
    return f"{unit['received_local']:%m-%d %H:%M}" if unit.get("received_local") else "—"


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
        when = f"{last['published_local']:%Y-%m-%d %H:%M} ({status.timezone})"
        if state == FORCED:
            lines.append(f"Published {when} with --force past blocking check(s): "
                         + "; ".join((last["blocking_checks"] or "").splitlines()))
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
                     f"`warmline run --date {day} --force`.")
    else:
        lines.append(f"Not published yet; no blocking check fails: `warmline run --date {day}` publishes it.")
    return lines


def unread_text(u: Unread, names: dict[str, str] | None = None) -> str:
    """'浈江区 统计表!C5 “走访慰问困难群众” (3 cells): ambiguous — could be households_visited, persons_visited'."""
    could = f" — could be {', '.join(u.candidates)}" if u.candidates else ""
    return (f"{u.unit_name} {u.file_name} {u.where} “{u.header or '(no header)'}” ({u.cells} cell"
            f"{'' if u.cells == 1 else 's'}): {REASONS[u.reason][1]}{could}")


def revision_text(r: dict) -> str:
    what = r["indicator"] + (f"（{r['item_type']}）" if r["item_type"] else "")
    return (f"{r['as_of_date']} {r['unit_name']} {what}: {change_text(r['old_value'], r['old_qualifier'])} → "
            f"{change_text(r['new_value'], r['new_qualifier'])} ({r['old_file']} → {r['new_file']}, "
            f"{r['revised_local']:%m-%d %H:%M})")


def correction_text(c: dict) -> str:
    was, now = (change_text(c["published_value"], c["published_qualifier"]),
                change_text(c["current_value"], c["current_qualifier"]))
    return f"{c['as_of_date']} {c['indicator']}: published {was} on {c['published_local']:%m-%d %H:%M}, now {now}"


def overlap_text(o: dict) -> str:
    return (f"{o['unit_name']} {o['indicator']} {plain_number(o['value']) if o['value'] is not None else '—'}: "
            f"included in {o['included_in_name'] or o['included_in_unit']} ({o['reason']})")
