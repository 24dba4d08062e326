"""status.html: the statistician's day as one self-contained page beside the bulletin (inline CSS, no network)."""

from __future__ import annotations

import datetime as dt
import html
import os
from pathlib import Path

from transforms.core.safe_text import printable
from transforms.day.checks import CheckResult
from transforms.day.status import (BLOCKED, CHECKS, COMPLETENESS, FILE_STATES, FORCED, NOT_YET, DayStatus,
                               change_text, figures_cell, file_note, file_state, headline_cells,
                               received_cell, warning_place)
from transforms.warehouse.unread import REASONS


def escape(text: object) -> str:
    """Text quoted in the page: HTML escaped, and control characters and direction overrides (a file name from
    outside can hold them) shown as escapes, so that nothing quoted can reorder what the page shows."""
    return html.escape(printable(str(text)))


FILE_NAME = "status.html"

# No request leaves the page: the policy forbids every fetch; only the inline style is allowed.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

_CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       sans-serif; margin: 1.5em 2em; color: #1f2328; background: #fff; font-size: 14px; line-height: 1.45; }
h1 { font-size: 1.45em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
.sub { color: #59636e; margin: 0; }
table { border-collapse: collapse; width: 100%; margin: .3em 0; }
th, td { border: 1px solid #d0d7de; padding: .3em .55em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
.blank { color: #8c959f; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .92em; white-space: nowrap; }
.on_time, .loaded, .published { background: #dafbe1; color: #116329; }
.late, .forced, .warning, .needs_look { background: #fff8c5; color: #7d4e00; }
.carried_forward { background: #ddf4ff; color: #0550ae; }
.missing, .rejected, .blocks, .blocked { background: #ffebe9; color: #a40e26; }
.superseded, .duplicate, .not_published, .accepted { background: #eaeef2; color: #424a53; }
tr.blocking td, tr.shortens td { background: #fff5f5; }
tr.row-late td:first-child { border-left: 4px solid #d4a72c; }
tr.row-missing td:first-child { border-left: 4px solid #cf222e; }
tr.row-carried_forward td:first-child { border-left: 4px solid #54aeff; }
tr.row-on_time td:first-child { border-left: 4px solid #4ac26b; }
.banner { padding: .7em 1em; border-radius: 6px; margin: 1em 0; }
.banner p { margin: .2em 0; }
.counts span { margin-right: .8em; }
td.files { min-width: 22em; }
tr.file-group th { background: #eaeef2; white-space: normal; }
.file { margin: .1em 0 .35em; }
.msg-en { color: #59636e; }
.note { color: #59636e; font-size: .92em; }
footer { margin-top: 2em; color: #59636e; font-size: .92em; }
"""


def _badge(css: str, text: str) -> str:
    return f'<span class="badge {escape(css)}">{escape(text)}</span>'


def _cell(text: str, css: str = "") -> str:
    classes = " ".join(c for c in (css, "blank" if text == "—" else "") if c)
    return f'<td class="{classes}">{escape(text)}</td>' if classes else f"<td>{escape(text)}</td>"


def _href(target: Path, page_dir: Path) -> str:
    """A link relative to the page, so it works from file:// and from any web server serving data/."""
    return escape(Path(os.path.relpath(target, page_dir)).as_posix())


def _table(head: list[str], rows: list[str]) -> str:
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _file_line(f: dict, status: DayStatus, page_dir: Path) -> str:
    state = file_state(f)
    zh, en = FILE_STATES[state]
    links = "".join(f' <a href="{_href(v.page, page_dir)}">{escape(v.suite)}</a>'
                    for v in status.validations.get(f["submission_id"], []))
    links = f'<span class="note">校验 validation:{links}</span>' if links else ""
    note = file_note(f) if f["reason"] or f["warnings"] or state != f["status"] else ""
    detail = " ".join(p for p in (f'<span class="msg-en">{escape(note)}</span>' if note else "", links) if p)
    # the day of a file sent for another day (a date that cannot be right) says which day it claims
    claims = (f' <span class="note">截至 as of {escape(str(f["as_of_date"]))}</span>'
              if f["as_of_date"] is not None and f["as_of_date"] != status.day else "")
    return (f'<div class="file">{_badge(state, f"{zh} {en}")} {escape(f["file_name"])} '
            f'<span class="note">收到 received {escape(status.time_text(f["received_local"]))}</span>{claims}'
            + (f"<br>{detail}" if detail else "") + "</div>")


def _units(status: DayStatus, page_dir: Path) -> str:
    rows = []
    for u in status.units:
        zh, en = COMPLETENESS[u["completeness"]]
        files = "".join(_file_line(f, status, page_dir) for f in u["files"]) or '<span class="blank">—</span>'
        rows.append(
            f'<tr class="unit row-{escape(u["completeness"])}" data-unit="{escape(u["unit_code"])}">'
            f'<td class="nowrap">{escape(u["unit_name"])}</td>{_cell(u["unit_code"], "nowrap")}'
            f'<td>{_badge(u["completeness"], f"{zh} {en}")}</td>'
            + _cell(str(u["report_date"] or "—"), "nowrap") + _cell(received_cell(u, status.now), "nowrap")
            + _cell(figures_cell(u), "num") + "".join(_cell(t, "num") for t in headline_cells(u, status.headline))
            + f'<td class="files">{files}</td></tr>')
    head = ["单位<br>unit", "代码<br>code", "报送<br>status", "数据日期<br>report of", "收到<br>received",
            "填报指标<br>figures"] + [f"{escape(h.name_zh)}<br>{escape(h.column_en)}" for h in status.headline] + \
        ["文件与校验<br>files and validation"]
    counts = status.counts()
    chips = "".join(f'<span>{_badge(k, f"{COMPLETENESS[k][0]} {COMPLETENESS[k][1]}")} {n}</span>'
                    for k, n in counts.items())
    return (f'<h2>报送情况 Completeness</h2><p class="counts">{chips}</p>' + _table(head, rows)
            + '<p class="note">— 表示未填报该项（不是 0） / — means no figure was given, which is not 0.</p>')


def _check_row(c: CheckResult) -> str:
    css = "blocks" if c.blocks else "accepted" if c.accepted_reason else "warning"
    label = {"blocks": "阻止发布 BLOCKS", "warning": "提示 warning"}.get(css) or f"已接受 accepted: {c.accepted_reason}"
    where = f'<br><span class="note">{escape(c.where)}</span>' if c.where else ""
    return (f'<tr class="check{" blocking" if c.blocks else ""}"><td class="nowrap">{escape(CHECKS.get(c.check, ""))}'
            f'<br><span class="note">{escape(c.check)}</span></td><td class="nowrap">{escape(c.unit_name)}</td>'
            f'{_cell(c.indicator or "—")}{_cell(c.found or "—")}{_cell(c.expected or "—")}'
            f'<td>{escape(c.message_zh)}<br><span class="msg-en">{escape(c.message_en)}</span>{where}</td>'
            f'<td>{_badge(css, label)}</td></tr>')


def _checks(status: DayStatus) -> str:
    if not status.checks:
        return "<h2>核查 Checks</h2><p>无问题 Nothing to report.</p>"
    checks = sorted(status.checks, key=lambda c: (not c.blocks, c.accepted_reason is not None))
    head = ["核查 check", "单位 unit", "指标 figure", "发现 found", "应为 expected", "说明 message", "结果 effect"]
    return "<h2>核查 Checks</h2>" + _table(head, [_check_row(c) for c in checks])


def _publication(status: DayStatus) -> str:
    state, day = status.publication_state, status.day
    if status.publications:
        last = status.publications[-1]
        when = f"{status.time_text(last['published_local'])}（{status.timezone}）"
        lines = [f"已发布 Published {when}" if state != FORCED else
                 f"已强制发布 Published with --force {when}, past blocking check(s): {last['blocking_checks'] or ''}"
                 + (f"；原因 reason: {last['force_reason']}" if last.get("force_reason") else "")]
        lines += [f"发布后有更正 changed since: {c['name_zh']} {c['indicator']} "
                  f"{change_text(c['published_value'], c['published_qualifier'])} → "
                  f"{change_text(c['current_value'], c['current_qualifier'])}" for c in status.changed_since_published]
        if status.blocking:
            lines.append(f"现有 {len(status.blocking)} 项阻止发布的核查未通过 / now {len(status.blocking)} blocking "
                         "check(s) fail")
    elif state == BLOCKED:
        lines = [f"未发布：{len(status.blocking)} 项阻止发布的核查未通过 / NOT PUBLISHED: {len(status.blocking)} "
                 f"blocking check(s) fail"]
        lines += [f"{c.unit_name}：{c.message_zh} — {c.message_en}" for c in status.blocking]
        lines.append(f"请单位更正后重新运行，或强制发布 / fix the submissions, or publish anyway: "
                     f"warmline run --date {day} --force --reason \"…\"")
    else:
        lines = [f"尚未发布，无阻止发布的核查 / not published yet; no blocking check fails: warmline run --date {day}"]
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    css = state if state != NOT_YET else "not_published"
    return f'<h2>发布 Publication</h2><div class="banner {css}" id="publication">{body}</div>'


def _corrections(status: DayStatus) -> str:
    out = []
    if status.revisions:
        rows = [f"<tr><td class=\"nowrap\">{r['as_of_date']}</td><td class=\"nowrap\">{escape(r['unit_name'])}</td>"
                f"<td>{escape(r['name_zh'] or '')} {escape(r['indicator'])}"
                f"{escape('（' + r['item_type'] + '）') if r['item_type'] else ''}</td>"
                + _cell(change_text(r["old_value"], r["old_qualifier"]), "num")
                + _cell(change_text(r["new_value"], r["new_qualifier"]), "num")
                + f"<td>{escape(r['old_file'])} → {escape(r['new_file'])}</td>"
                f"<td class=\"nowrap\">{escape(status.time_text(r['revised_local']))}</td></tr>"
                for r in status.revisions]
        out.append("<h2>单位更正 Corrections of unit reports</h2>" + _table(
            ["数据日期 as of", "单位 unit", "指标 figure", "原值 was", "更正为 now", "文件 files", "更正时间 corrected"],
            rows))
    if status.corrections:
        rows = [f"<tr><td class=\"nowrap\">{c['as_of_date']}</td>"
                f"<td>{escape(c['name_zh'])} {escape(c['indicator'])}</td>"
                + _cell(change_text(c["published_value"], c["published_qualifier"]), "num")
                + _cell(change_text(c["current_value"], c["current_qualifier"]), "num")
                + f"<td class=\"nowrap\">{escape(status.time_text(c['published_local']))}</td></tr>"
                for c in status.corrections]
        out.append("<h2>已发布数字的更正 Published figures changed since</h2>" + _table(
            ["数据日期 as of", "指标 figure", "已发布 published", "现为 now", "发布时间 published at"], rows))
    return "".join(out)


def _overlaps(status: DayStatus) -> str:
    if not status.overlaps:
        return ""
    rows = [f"<tr><td>{escape(o['unit_name'])}</td><td>{escape(o['name_zh'] or '')} {escape(o['indicator'])}</td>"
            + _cell(change_text(o["value"], o["qualifier"]), "num")
            + f"<td>{escape(o['included_in_name'] or o['included_in_unit'])}</td>"
            f"<td>{escape(o['reason'] or '')}</td></tr>"
            for o in status.overlaps]
    return "<h2>不重复计入 Set aside (already in another unit's figure)</h2>" + _table(
        ["单位 unit", "指标 figure", "数值 value", "已计入 included in", "原因 reason"], rows)


def _unread(status: DayStatus) -> str:
    """Figures in the counted files that were not loaded, per header: where, why, what it could be."""
    if not status.unread:
        return ""
    rows = []
    for u in status.unread:
        zh, en = REASONS[u.reason]
        could = escape(", ".join(u.candidates)) if u.candidates else '<span class="blank">—</span>'
        rows.append(f'<tr class="unread{" shortens" if u.shortens else ""}"><td class="nowrap">{escape(u.unit_name)}</td>'
                    f"<td>{escape(u.file_name)}</td><td class=\"nowrap\">{escape(u.where)}</td>"
                    f"<td>{escape(u.header or '（无表头）')}</td><td>{escape(zh)}<br><span class=\"msg-en\">{escape(en)}"
                    f"</span></td><td>{could}</td>{_cell(str(u.cells), 'num')}<td>{escape(u.first_text)}</td></tr>")
    cells = sum(u.cells for u in status.unread)
    return (f"<h2>未读入的数字 Figures not loaded ({cells})</h2>"
            '<p class="note">这些数字不在合计中；表头可在 warmline headers 中确认后重新读入 / these figures are not in '
            "the totals; a header can be accepted with `warmline headers accept`, which re-reads the files.</p>"
            + _table(["单位 unit", "文件 file", "位置 where", "表头 header", "原因 why", "可能是 could be",
                      "数字 cells", "首个 first"], rows))


def _warnings(status: DayStatus) -> str:
    """The text of every warning recorded with the day's files, grouped per file: where (sheet and cell), the text
    found there, and the message in Chinese with the English beside it."""
    files = [f for f in status.files if f.get("warning_rows")]
    if not files:
        return ""
    rows = []
    for f in files:
        unit = f["unit_name"] or f["unit_code"] or "未识别单位 unit not read"
        rows.append(f'<tr class="file-group" data-submission="{escape(f["submission_id"])}"><th colspan="3">'
                    f'{escape(f["file_name"])} <span class="note">{escape(unit)} · 收到 received '
                    f'{escape(status.time_text(f["received_local"]))} · {len(f["warning_rows"])} 条提示 '
                    f'warning{"" if len(f["warning_rows"]) == 1 else "s"}</span></th></tr>')
        for w in f["warning_rows"]:
            rows.append(f'<tr class="warning-row">{_cell(warning_place(w) or "—", "nowrap")}'
                        f'{_cell(w["raw_text"] or "—")}'
                        f'<td>{escape(w["message_zh"])}<br><span class="msg-en">{escape(w["message_en"])}</span>'
                        "</td></tr>")
    count = sum(len(f["warning_rows"]) for f in files)
    return (f"<h2>文件提示 Warnings in the files ({count})</h2>"
            '<p class="note">文件已处理，但以下内容请核对 / the files were processed, but these need a look.</p>'
            + _table(["位置 where", "原文 text", "说明 message"], rows))


def _unattributed(status: DayStatus) -> str:
    if not status.unattributed:
        return ""
    rows = [f"<tr><td class=\"nowrap\">{escape(status.time_text(f['received_local']))}</td>"
            f"<td>{escape(f['file_name'])}</td>"
            f"<td>{_badge(file_state(f), ' '.join(FILE_STATES[file_state(f)]))}</td><td>{escape(file_note(f))}</td></tr>"
            for f in status.unattributed]
    return ("<h2>未识别单位或日期、或日期有误的文件 Files with no unit or date, or a date that cannot be right</h2>"
            + _table(
        ["收到 received", "文件 file", "状态 status", "原因 reason"], rows))


def render_status_page(status: DayStatus, page_dir: Path, docs_index: Path | None = None,
                       generated_at: dt.datetime | None = None, unbuilt: int = 0) -> str:
    """The HTML of status.html for `status`, written to live in `page_dir`; every text escaped. `unbuilt`: how many
    kept validation results have no Data Docs page yet (`warmline docs` builds them)."""
    docs = ""
    if docs_index is not None:
        docs = (f'<p>校验报告 Data Docs (Great Expectations): <a href="{_href(docs_index, page_dir)}" id="data-docs">'
                f'{escape(docs_index.name)}</a>（离线可用 opens offline）</p>')
    if unbuilt:
        docs += (f"<p>校验报告 Data Docs: {unbuilt} 项校验结果尚未生成页面，运行 <code>warmline docs</code> 生成 / "
                 f"{unbuilt} validation result(s) have no page yet: <code>warmline docs</code> builds them.</p>")
    elif docs_index is None:
        docs = "<p>校验报告 Data Docs: 暂无 none yet (validation results are kept from the next run).</p>"
    generated = f"<p>生成时间 written {generated_at:%Y-%m-%d %H:%M} ({escape(status.timezone)})</p>" \
        if generated_at else ""
    title = f"{status.campaign} — 每日核查 The statistician's day — {status.day}"
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(status.campaign)} · 每日核查 The statistician's day</h1>\n"
        f'<p class="sub">{status.day} · 截止时间 deadline {status.deadline:%H:%M}（{escape(status.timezone)}）</p>\n'
        + _publication(status) + "\n" + _units(status, page_dir) + "\n" + _warnings(status) + "\n"
        + _checks(status) + "\n"
        + _unread(status) + _corrections(status) + _overlaps(status) + _unattributed(status)
        + f"\n<footer>{docs}{generated}</footer>\n</body>\n</html>\n")


def status_folder(bulletins: Path, day: dt.date) -> Path:
    """data/bulletins/<D>/, the bulletin's folder (as transforms.bulletin.build.bulletin_folder, whose import loads
    matplotlib and python-docx: a second the status command does not need)."""
    return bulletins / day.isoformat()


def write_status_page(status: DayStatus, folder: Path, docs_index: Path | None = None,
                      generated_at: dt.datetime | None = None, unbuilt: int = 0) -> Path:
    """Write `folder`/status.html (UTF-8), replacing it whole."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE_NAME
    scratch = folder / f".{FILE_NAME}.writing"
    scratch.write_text(render_status_page(status, folder, docs_index, generated_at, unbuilt), encoding="utf-8",
                       newline="\n")
    os.replace(scratch, target)
    return target
