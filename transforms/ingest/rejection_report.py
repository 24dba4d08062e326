"""The rejection report a county clerk reads: every problem at once, located, with what to write instead."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from transforms.core.problems import ERROR, Problem
from transforms.core.reference import Reference
from transforms.core.safe_text import printable
from transforms.ingest.record import Outcome


def issue_line(issue: Problem) -> str:
    """'统计表!D7 “-5”: 中文说明 — English explanation' (the place is left out when there is none)."""
    place = f"{issue.sheet}!{issue.cell}" if issue.sheet and issue.cell else (issue.sheet or "")
    found = f" “{issue.raw_text}”" if issue.raw_text and issue.cell else ""
    prefix = f"{place}{found}: " if place else ""
    return f"{prefix}{issue.message_zh} — {issue.message_en}"


def one_line_reason(issues: list[Problem]) -> str:
    """The reason stored with a rejected submission: the first error and how many there are."""
    errors = [i for i in issues if i.severity == ERROR]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return issue_line(errors[0]) + more if errors else ""


def _issue_block(issue: Problem, head: str) -> list[str]:
    """An issue as the report shows it: where it is, then the Chinese and the English each on a line of its own, so
    that the clerk's line holds only the clerk's words; the rule's code goes with the English, for the statistician."""
    place = f"{issue.sheet}!{issue.cell}" if issue.sheet and issue.cell else (issue.sheet or "整个文件 whole file")
    found = f" “{issue.raw_text}”" if issue.raw_text else ""
    indent = " " * len(head)
    return [f"{head}{place}{found}", f"{indent}{issue.message_zh}", f"{indent}{issue.message_en} [{issue.rule}]"]


def repeat_report(outcome: Outcome, ref: Reference, first_name: str, first_received: dt.datetime,
                  first_report: str | None) -> str:
    """The short report of a file whose bytes repeat a file rejected before: nothing in it is read again, and its
    sender learns where the reasons are instead of hearing nothing back."""
    r = outcome.receipt
    tz = ref.campaign.timezone
    first_at = f"{first_received.astimezone(tz):%Y-%m-%d %H:%M}"
    lines = [
        "文件未受理：与此前被退回的文件完全相同 / File not taken: the same bytes as a file rejected before",
        "",
        f"文件 File:              {r.file_name}",
        f"收到时间 Received:      {r.received_at.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})",
        f"编号 Submission:        {r.submission_id}",
        "",
        f"本文件与 {first_at} 收到的“{first_name}”内容完全相同，那份文件已被退回，本文件未再次处理。"
        "请按那份文件的退回报告改正表格后，提交改正后的文件。",
        f"This file has exactly the bytes of {first_name}, received {first_at} and rejected; it was not read "
        "again. Correct the workbook as that file's report says and send the corrected file.",
    ]
    if first_report:
        lines += ["", f"退回报告 Its report:     {Path(first_report).name}"]
    return printable("\n".join(lines) + "\n")  # a file name or cell text quoted cannot act on a terminal


def rejection_report(outcome: Outcome, ref: Reference) -> str:
    """The text of data/raw/rejected/<file>.<id>.txt. The clerk reads it: the Chinese names the file as it was sent,
    never where it is kept here; the unit's code and the archived copy are in the English closing line."""
    r = outcome.receipt
    tz = ref.campaign.timezone
    unit = ref.unit(outcome.unit_code).name if outcome.unit_code else "未识别 not recognised"
    day = outcome.as_of_date.isoformat() if outcome.as_of_date else "未识别 not recognised"
    errors = [i for i in outcome.issues if i.severity == ERROR]
    warnings = [i for i in outcome.issues if i.severity != ERROR]
    lines = [
        "文件被退回，未计入统计 / File rejected: nothing in it was counted",
        "",
        f"文件 File:              {r.file_name}",
        f"收到时间 Received:      {r.received_at.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})",
        f"编号 Submission:        {r.submission_id}",
        f"填报单位 Unit:          {unit}",
        f"统计截止日期 As of:     {day}",
        "",
        f"共 {len(errors)} 处问题，请全部改正后重新提交 / {len(errors)} problem(s): "
        "fix them all and send the whole file again.",
        "",
    ]
    for n, issue in enumerate(errors, 1):
        lines += _issue_block(issue, f"{n}. ") + [""]
    if warnings:
        lines += ["另有提示（不影响受理）/ Also noted (not a reason for rejection):", ""]
        for w in warnings:
            lines += _issue_block(w, "- ") + [""]
    unit_code = f" (unit {outcome.unit_code})" if outcome.unit_code else ""
    lines += [f"原文件“{r.file_name}”已存档。",
              f"The original is archived as {r.archive_path}{unit_code}."]
    return printable("\n".join(lines) + "\n")  # a file name or cell text quoted cannot act on a terminal
