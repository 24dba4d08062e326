"""Prove the warehouse lost nothing and let nothing in, from the raw data alone.

Three claims, each checked against its own evidence: every file ever received (the archive holds a copy of
each) is in exactly one final state; every fact traces to an archived file whose hash still matches; and
marts.city_totals equals a recomputation from raw.facts done here in Python, not by the models' SQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from transforms import warehouse
from transforms.core.layout import Layout

FINAL_STATES = ("loaded", "superseded", "duplicate", "rejected")
_COLUMNS = ("value", "qualifier", "units_reporting", "units_carried", "units_missing", "parts_unspecified",
            "units_with_figure")


@dataclass(frozen=True)
class Finding:
    """One thing the audit could not prove: which check, about what, and what is wrong."""

    check: str
    subject: str
    message: str

    def line(self) -> str:
        return f"{self.check} {self.subject}: {self.message}"


@dataclass
class AuditReport:
    """Every finding, and what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    facts: int = 0
    archived: int = 0
    pending: int = 0
    totals: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        files = sum(self.states.values())
        states = ", ".join(f"{self.states.get(s, 0)} {s}" for s in FINAL_STATES)
        verdict = "OK" if self.ok else f"{len(self.findings)} finding{'' if len(self.findings) == 1 else 's'}"
        return (f"audit: {files} files ({states}), {self.pending} waiting in the inbox, {self.archived} archived "
                f"copies hashed, {self.facts} facts traced, {self.totals} city_totals rows recomputed: {verdict}")


def audit(con: duckdb.DuckDBPyConnection, layout: Layout) -> AuditReport:
    """Check the warehouse on `con` (read-only is enough) against the files under `layout`."""
    report = AuditReport()
    submissions = _rows(con, "SELECT submission_id, file_name, sha256, unit_code, as_of_date, status, reason, "
                             "archive_path, report_path, figures_read, received_at FROM raw.submissions")
    report.states = {s: sum(1 for r in submissions if r["status"] == s) for s in FINAL_STATES}
    _check_states(submissions, layout, report)
    _check_archive(submissions, layout, report)
    _check_facts(con, submissions, report)
    _check_city_totals(con, report)
    return report


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    return warehouse.as_dicts(con.execute(sql, params or []))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_states(submissions: list[dict], layout: Layout, report: AuditReport) -> None:
    """Each receipt in one valid final state; loaded and superseded consistent per unit and date."""
    add = report.findings.append
    first_seen: dict[str, dt.datetime] = {}
    for r in submissions:
        if r["status"] != "duplicate":
            first_seen[r["sha256"]] = min(first_seen.get(r["sha256"], r["received_at"]), r["received_at"])
    per_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in submissions:
        sid = r["submission_id"]
        if r["status"] not in FINAL_STATES:
            add(Finding("state", sid, f"{r['file_name']} is in state {r['status']!r}, not one of "
                                      f"{', '.join(FINAL_STATES)}"))
        elif r["status"] == "duplicate" and r["sha256"] not in first_seen:
            add(Finding("state", sid, f"{r['file_name']} is a duplicate, but no other receipt has its bytes"))
        elif r["status"] == "rejected":
            if not r["report_path"] or not (layout.home / r["report_path"]).is_file():
                add(Finding("state", sid, f"{r['file_name']} is rejected but its report "
                                          f"{r['report_path'] or '(none)'} is missing"))
        elif r["status"] in ("loaded", "superseded"):
            if not r["unit_code"] or not r["as_of_date"]:
                add(Finding("state", sid, f"{r['file_name']} is {r['status']} without a unit and a date"))
            per_key[(r["unit_code"], r["as_of_date"])].append(r)
    for (unit, day), rows in sorted(per_key.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        loaded = [r for r in rows if r["status"] == "loaded"]
        if len(loaded) != 1:
            add(Finding("state", f"{unit} {day}", f"{len(loaded)} loaded files for one unit and date "
                                                  f"({', '.join(r['submission_id'] for r in rows)}); exactly one "
                                                  "must be loaded, the others superseded"))


def _check_archive(submissions: list[dict], layout: Layout, report: AuditReport) -> None:
    """Every receipt's archived copy exists and still hashes to what was recorded; nothing archived is unrecorded."""
    add = report.findings.append
    hashed: dict[Path, str] = {}
    for r in submissions:
        path = layout.home / r["archive_path"]
        if not path.is_file():
            add(Finding("archive", r["submission_id"], f"the archived copy of {r['file_name']} "
                                                       f"({r['archive_path']}) is missing"))
            continue
        if path not in hashed:
            hashed[path] = _sha256(path)
        if hashed[path] != r["sha256"]:
            add(Finding("archive", r["submission_id"], f"the archived copy of {r['file_name']} ({r['archive_path']}) "
                                                       f"no longer matches its SHA-256 {r['sha256'][:12]}…: it was "
                                                       "changed after it was received"))
    report.archived = len(hashed)
    recorded = {r["sha256"] for r in submissions}
    waiting = {_sha256(p) for p in layout.inbox.iterdir() if p.is_file()} if layout.inbox.is_dir() else set()
    report.pending = len(waiting - recorded)
    for path in sorted(layout.archive.iterdir()) if layout.archive.is_dir() else []:
        if not path.is_file() or path.name.startswith("."):
            continue  # .incoming-* is a copy being written
        sha = path.name.split(".")[0]
        if sha not in recorded and sha not in waiting:
            add(Finding("archive", path.name, "a received file has no final state: it is archived but not in "
                                              "raw.submissions, and no longer in the inbox"))


def _check_facts(con: duckdb.DuckDBPyConnection, submissions: list[dict], report: AuditReport) -> None:
    """Every fact and figure belongs to an accepted receipt; no accepted receipt is half-loaded."""
    add = report.findings.append
    by_id = {r["submission_id"]: r for r in submissions}
    facts = _rows(con, "SELECT submission_id, unit_code, as_of_date, count(*) AS n FROM raw.facts GROUP BY ALL")
    figures = dict(con.execute("SELECT submission_id, count(*) FROM raw.figures GROUP BY ALL").fetchall())
    report.facts = sum(f["n"] for f in facts)
    with_facts = set()
    for f in facts:
        owner = by_id.get(f["submission_id"])
        with_facts.add(f["submission_id"])
        if owner is None:
            add(Finding("facts", f["submission_id"], f"{f['n']} facts belong to no received file"))
        elif owner["status"] not in ("loaded", "superseded"):
            add(Finding("facts", f["submission_id"], f"{f['n']} facts belong to {owner['file_name']}, which is "
                                                     f"{owner['status']}"))
        elif (f["unit_code"], f["as_of_date"]) != (owner["unit_code"], owner["as_of_date"]):
            add(Finding("facts", f["submission_id"], f"facts say {f['unit_code']} {f['as_of_date']}, the file "
                                                     f"{owner['file_name']} says {owner['unit_code']} "
                                                     f"{owner['as_of_date']}"))
    for sid, n in figures.items():
        owner = by_id.get(sid)
        if owner is None or owner["status"] not in ("loaded", "superseded"):
            whose = "no received file" if owner is None else f"{owner['status']} {owner['file_name']}"
            add(Finding("facts", sid, f"{n} figure cells belong to {whose}"))
    for r in submissions:
        if r["status"] in ("loaded", "superseded"):
            if r["submission_id"] not in with_facts:
                add(Finding("facts", r["submission_id"], f"{r['file_name']} is {r['status']} but has no facts: "
                                                         "half-loaded"))
            if figures.get(r["submission_id"], 0) != r["figures_read"]:
                add(Finding("facts", r["submission_id"], f"{r['file_name']} read {r['figures_read']} figure cells, "
                                                         f"raw.figures holds {figures.get(r['submission_id'], 0)}: "
                                                         "half-loaded"))


def recompute_city_totals(con: duckdb.DuckDBPyConnection) -> dict[tuple[dt.date, str], dict]:
    """marts.city_totals worked out from raw and ref tables in Python (the rule in docs/warehouse.md).

    For each day from the campaign's start to the last day computed or reported, each unit's latest loaded
    report as of the day gives its figures; a unit's figure is set aside on a day when campaign.toml declares
    it included in another unit's figure that the other unit reports for that day.
    """
    start = con.execute("SELECT min(start_date) FROM ref.campaign").fetchone()[0]
    units = _rows(con, "SELECT unit_code, expected FROM ref.units")
    indicators = [r[0] for r in con.execute("SELECT indicator FROM ref.indicators ORDER BY position").fetchall()]
    loaded = _rows(con, "SELECT submission_id, unit_code, as_of_date FROM raw.submissions WHERE status = 'loaded'")
    facts = _rows(con, "SELECT submission_id, indicator, item_type, value, qualifier, parts_unspecified "
                       "FROM raw.facts")
    has_overlaps = con.execute("SELECT count(*) FROM information_schema.tables "
                               "WHERE table_schema = 'ref' AND table_name = 'overlaps'").fetchone()[0]
    overlaps = _rows(con, "SELECT unit_code, indicator, included_unit FROM ref.overlaps") if has_overlaps else []
    computed = [r[0] for r in con.execute("SELECT as_of_date FROM raw.rollup_days").fetchall()]
    last = max(computed + [r["as_of_date"] for r in loaded], default=None)
    if start is None or last is None:
        return {}
    facts_of: dict[str, list[dict]] = defaultdict(list)
    for f in facts:
        facts_of[f["submission_id"]].append(f)
    reports: dict[str, dict[dt.date, list[str]]] = defaultdict(lambda: defaultdict(list))
    for s in loaded:
        reports[s["unit_code"]][s["as_of_date"]].append(s["submission_id"])

    totals = {}
    day = start
    while day <= last:
        counts = {"reported": 0, "carried": 0, "missing": 0}
        figures = []  # (unit, fact) that stand on this day
        for unit in units:
            dates = [d for d in reports.get(unit["unit_code"], {}) if d <= day]
            latest = max(dates, default=None)
            status = "missing" if latest is None else "reported" if latest == day else "carried"
            if unit["expected"]:
                counts[status] += 1
            for sid in reports[unit["unit_code"]][latest] if latest else []:
                figures += [(unit["unit_code"], f) for f in facts_of[sid]]
        reporting = {(u, f["indicator"]) for u, f in figures if f["value"] is not None}
        set_aside = {(o["included_unit"], o["indicator"]) for o in overlaps
                     if (o["unit_code"], o["indicator"]) in reporting}
        groups: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for unit, f in figures:
            if f["item_type"] is None and (unit, f["indicator"]) not in set_aside:
                groups[f["indicator"]].append((unit, f))
        for indicator in indicators:
            parts = [f for _, f in groups.get(indicator, [])]
            values = [f["value"] for f in parts if f["value"] is not None]
            qualifiers = {f["qualifier"] for f in parts}
            qualifier = None if not parts else "approx" if "approx" in qualifiers else \
                "at_least" if "at_least" in qualifiers else "exact" if values else "unspecified"
            totals[(day, indicator)] = {
                "value": math.fsum(values) if values else None, "qualifier": qualifier,
                "units_reporting": counts["reported"], "units_carried": counts["carried"],
                "units_missing": counts["missing"], "parts_unspecified": sum(f["parts_unspecified"] for f in parts),
                "units_with_figure": len({u for u, _ in groups.get(indicator, [])})}
        day += dt.timedelta(days=1)
    return totals


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def _check_city_totals(con: duckdb.DuckDBPyConnection, report: AuditReport) -> None:
    """marts.city_totals, row for row, equals the recomputation."""
    add = report.findings.append
    try:
        marts = _rows(con, "SELECT * FROM marts.city_totals")
    except duckdb.Error as exc:
        add(Finding("marts", "marts.city_totals", f"cannot be read ({str(exc).splitlines()[0]}); run `warmline run`"))
        return
    expected = recompute_city_totals(con)
    found = {(r["as_of_date"], r["indicator"]): r for r in marts}
    report.totals = len(found)
    for key in sorted(set(expected) | set(found), key=lambda k: (k[0], k[1])):
        day, indicator = key
        subject = f"{day} {indicator}"
        if key not in found:
            add(Finding("marts", subject, "missing from marts.city_totals"))
        elif key not in expected:
            add(Finding("marts", subject, "in marts.city_totals but not in the recomputation from raw.facts"))
        else:
            wrong = [f"{c} {found[key][c]!r} (recomputed {expected[key][c]!r})" for c in _COLUMNS
                     if not _same(found[key][c], expected[key][c])]
            if wrong:
                add(Finding("marts", subject, "marts.city_totals says " + "; ".join(wrong)))
