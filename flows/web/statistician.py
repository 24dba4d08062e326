"""The statistician's pages, behind a login: the day's status as it is now (what status.html shows), the publishing
gate, the day's bulletin files, the header review, each file with its validation results, and links to the Data
Docs and the Prefect UI. Each action calls the library function the command line calls for it."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flows.web.uploads import Outcome, read_outcome, receipt
from transforms import warehouse
from transforms.core.layout import Layout
from transforms.core.reference import Reference

BULLETIN_SUFFIXES = {".docx", ".md", ".csv", ".png", ".html", ".txt", ".json"}


def campaign_today(ref: Reference) -> dt.date:
    return dt.datetime.now(ref.campaign.timezone).date()


@dataclass(frozen=True)
class DayPage:
    """What the statistician's day page shows besides the status itself."""

    status_html: str  # the body of status.html, as `warmline status` writes it; its links under /docs/
    files: list[dict]  # the files of the day, in the order received
    bulletin_files: list[Path]
    draft_files: list[Path]
    unbuilt: int


def day_page(layout: Layout, ref: Reference, day: dt.date) -> DayPage:
    """The day's status read now (status.html written again, as `warmline status` does) and its bulletin files."""
    from transforms.day.status_page import render_status_page, status_folder
    from transforms.day.status_report import status_report
    from transforms.validate.data_docs import docs_index

    now = dt.datetime.now(ref.campaign.timezone)
    report = status_report(layout, ref, day, now)
    # written as if it lived in the Data Docs site, so that its links (the site's pages) are the site's own paths,
    # which the web pages serve under /docs/
    html = render_status_page(report.status, docs_index(layout.quality).parent, report.docs, now, report.unbuilt)
    body = html[html.index("<body>") + len("<body>"):html.rindex("</body>")]
    body = re.sub(r'href="(?![a-z]+:|/|#)', 'href="/docs/', body)
    folder = status_folder(layout.bulletins, day)
    return DayPage(body, report.status.files, day_files(folder), day_files(folder / "draft"), report.unbuilt)


def day_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in BULLETIN_SUFFIXES
                  and not p.name.startswith(".")) if folder.is_dir() else []


def headers_to_review(layout: Layout) -> tuple[list[dict], list[dict]]:
    """The headers left unmapped (with what they could be) and those read by inference, across the files on record."""
    from transforms.ingest.header_review import headers_read, headers_unread

    con = warehouse.open_read_only(layout.warehouse)
    try:
        return headers_unread(con), [h for h in headers_read(con) if h.get("how") == "inferred"]
    finally:
        con.close()


def accept_header(layout: Layout, header: str, indicator: str | None, item_type: str | None) -> tuple[bool, str]:
    """`warmline headers accept`, run as the command runs it (the alias written, the files on record read again
    through Prefect): whether it worked, and what it printed. A separate process, so that the web pages never load
    Prefect or Great Expectations."""
    command = [str(Path(sys.executable).parent / "warmline"), "headers", "accept", header]
    if indicator:
        command += ["--as", indicator]
    if item_type:
        command += ["--item-type", item_type]
    env = {**os.environ, "WARMLINE_HOME": str(layout.home), "COLUMNS": "160"}
    done = subprocess.run(command, env=env, cwd=layout.home, capture_output=True, text=True, timeout=600)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def file_detail(layout: Layout, submission_id: str) -> tuple[Outcome, list[dict]] | None:
    """One file on record, read from the warehouse: its receipt, figures, problems, headers and unread cells, and
    its validation results as Great Expectations stored them; None when there is no such file."""
    from transforms.validate.data_docs import split_kept_batches, stored_validations, validations_of

    con = warehouse.open_read_only(layout.warehouse)
    try:
        detail = read_outcome(con, submission_id=submission_id)
    finally:
        con.close()
    if detail.submission is None:
        return None
    split_kept_batches(layout.quality)  # a batch's results split per file, as `warmline status` does
    on_record = detail.submission
    return detail, [validation_summary(v.result) for v in validations_of(
        stored_validations(layout.quality), on_record["unit_code"], on_record["as_of_date"],
        on_record["received_at"], on_record["processed_at"])]


def report_of(layout: Layout, submission_id: str) -> str | None:
    """The rejection report a file on record was given (its path under the home), or None."""
    con = warehouse.open_read_only(layout.warehouse)
    try:
        on_record = receipt(con, submission_id=submission_id)
    finally:
        con.close()
    return on_record["report_path"] if on_record else None


def validation_summary(path: Path) -> dict:
    """A stored Great Expectations result in words: the suite, and for each expectation what it checks, on which
    column, what was observed and whether it passed."""
    import json

    result = json.loads(path.read_text(encoding="utf-8"))
    suite = (result.get("meta") or {}).get("expectation_suite_name") or result.get("suite_name") or path.parent.name
    rows = []
    for r in result.get("results", []):
        config = r.get("expectation_config") or {}
        kwargs = config.get("kwargs") or {}
        observed = r.get("result") or {}
        rows.append({
            "expectation": config.get("type") or config.get("expectation_type") or "",
            "words": expectation_words(config.get("type") or config.get("expectation_type") or "", kwargs),
            "column": kwargs.get("column") or ", ".join(kwargs.get("column_list") or []),
            "observed": _observed(observed),
            "success": bool(r.get("success")),
            "rule": ((config.get("meta") or {}).get("rule")) or "",
        })
    return {"suite": suite, "success": bool(result.get("success")), "results": rows, "file": path.name}


def _observed(result: dict) -> str:
    if "observed_value" in result:
        return str(result["observed_value"])
    if "unexpected_count" in result:
        examples = ", ".join(str(v) for v in (result.get("partial_unexpected_list") or [])[:5])
        return f"{result['unexpected_count']} unexpected" + (f" (e.g. {examples})" if examples else "")
    return ""


_WORDS = {
    "expect_column_values_to_not_be_null": "每行都有值 every row has a value",
    "expect_column_values_to_be_between": "数值在 {min_value} 与 {max_value} 之间 between {min_value} and {max_value}",
    "expect_column_values_to_be_in_set": "取值在允许的集合内 one of the allowed values",
    "expect_column_values_to_be_unique": "各行不重复 no value twice",
    "expect_column_values_to_match_regex": "符合格式 matches the pattern",
    "expect_column_to_exist": "列存在 the column exists",
    "expect_table_row_count_to_be_between": "行数在 {min_value} 与 {max_value} 之间 rows between {min_value} and "
                                            "{max_value}",
    "expect_column_pair_values_a_to_be_greater_than_b": "{column_A} 不小于 {column_B} {column_A} at least {column_B}",
    "expect_compound_columns_to_be_unique": "组合不重复 each combination once",
}


def expectation_words(kind: str, kwargs: dict) -> str:
    """An expectation in words, Chinese first; its name itself when it has no words here."""
    words = _WORDS.get(kind)
    if words is None:
        return kind.replace("_", " ")
    values = {k: ("—" if v is None else v) for k, v in kwargs.items()}
    try:
        return words.format_map(_Missing(values))
    except (ValueError, KeyError):
        return words


class _Missing(dict):
    def __missing__(self, key):
        return "—"
