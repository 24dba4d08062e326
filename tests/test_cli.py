"""The command line end to end: real processes in a temporary WARMLINE_HOME, figures read back from DuckDB."""

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, write_rows

WARMLINE = str(Path(sys.executable).with_name("warmline"))


def warmline(home: Path, *args: str, server: dict | None = None) -> subprocess.CompletedProcess:
    """The real command in its own process; on the test session's Prefect server when given, else with no
    PREFECT_ setting at all, as a new user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(WARMLINE_HOME=str(home), COLUMNS="200")
    if server:
        env.update(PREFECT_HOME=str(server["home"]), PREFECT_API_URL=server["api"])
    return subprocess.run([WARMLINE, *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, prefect_server):
    home = tmp_path / "home"
    home.mkdir()
    assert warmline(home, "init").returncode == 0
    demo = warmline(home, "demo")
    assert demo.returncode == 0 and "wrote 6 submissions" in demo.stdout
    run = warmline(home, "run", "--date", "2023-12-20", server=prefect_server)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "  households visited: 24,684 户" in lines
    assert "  funds disbursed: about 4,185,000 yuan (approx)" in lines
    assert "  items issued: at least 5,584 (+1 unspecified) 件 (at_least)" in lines
    assert "  patrols run: at least 371 次 (at_least)" in lines
    assert "  units: 6 reporting, 0 carried forward, 6 missing" in lines
    assert "6 units missing: 武江区, 曲江区, 仁化县, 乳源瑶族自治县, 新丰县, 乐昌市" in lines
    assert f"Bulletin: {home / 'data/bulletins/2023-12-20'}/ (bulletin.md, bulletin.docx, chart.png, figures.csv) — published." \
        in lines
    assert "Files: 6 loaded, 0 superseded, 0 duplicate, 0 rejected" in lines
    # Prefect's own log lines go to the log file, not over the user's table.
    assert not re.search(r"\| (INFO|WARNING) +\|", run.stdout + run.stderr)
    assert "Finished in state Completed" in (home / "data/logs/warmline.log").read_text(encoding="utf-8")

    con = duckdb.connect(str(home / "data/warehouse/warmline.duckdb"), read_only=True)
    try:
        assert con.execute(
            "SELECT households_visited, households_visited_qualifier, funds_disbursed, funds_disbursed_qualifier, "
            "items_issued, items_issued_qualifier, patrols_run, patrols_run_qualifier, units_missing "
            "FROM marts.headline WHERE as_of_date = DATE '2023-12-20'").fetchall() == [
            (24684.0, "exact", 4185000.0, "approx", 5584.0, "at_least", 371.0, "at_least", 6)]
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'loaded') FROM raw.submissions"
                           ).fetchall() == [(6, 6)]
    finally:
        con.close()

    again = warmline(home, "run", "--date", "2023-12-20", server=prefect_server)
    assert again.returncode == 0
    assert "No files were waiting in the inbox." in again.stdout
    assert "  households visited: 24,684 户" in again.stdout.splitlines()


def _home_with_lechang(tmp_path: Path, header: str, figures: tuple[int, int], demo: bool = False) -> Path:
    """A new home (with the worked example when `demo`) whose inbox holds 乐昌市's file for 2023-12-20 in its own
    layout: two towns, `header` over `figures`, and 巡查次数（次）."""
    home = tmp_path / "home"
    home.mkdir()
    warmline(home, "init")
    if demo:
        warmline(home, "demo")
    write_rows(home / "data/raw/inbox/乐昌市_20231220.xlsx", [
        ["填报单位：乐昌市民政局"], ["统计截止日期：2023-12-20"], ["镇（街道）", header, "巡查次数（次）"],
        ["乐城街道", figures[0], 6], ["北乡镇", figures[1], 4]])
    return home


@pytest.mark.slow
def test_a_header_not_understood_is_shown_then_accepted_and_the_city_total_follows(tmp_path, prefect_server):
    home = _home_with_lechang(tmp_path, "走访慰问困难群众", (1200, 800), demo=True)
    run = warmline(home, "run", "--date", "2023-12-20", server=prefect_server)
    assert run.returncode == 0, run.stderr
    # loaded with figures not read: marked as needing a look, and the warning's text printed under the table
    assert re.search(r"乐昌市_20231220\.xlsx .* 需核对 needs a look .*2 figure cell\(s\) not read", run.stdout), run.stdout
    assert "    统计表!B3 “走访慰问困难群众”: 表头“走访慰问困难群众”可能是走访慰问户数、走访慰问人次、走访慰问人数，无法确定是哪一项" \
        in run.stdout, run.stdout
    assert "  households visited: 24,684 户" in run.stdout.splitlines()

    status = warmline(home, "status", "--date", "2023-12-20")
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if "统计表!B4" in line)
    assert re.search(r"乐昌市 │ 乐昌市_20231220\.xlsx │ 统计表!B4 │ 走访慰问困难群众 │ the header could be several "
                     r"indicators +│ households_visited, person_visits, +│ +2 │", row), status.stdout
    assert "Figures not loaded (2 cells; not in the totals)" in status.stdout
    listed = warmline(home, "headers", "--unread")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "走访慰问困难群众" in line)
    assert re.search(r"│ 走访慰问困难群众 │ ambiguous: as good a match for +│ households_visited, person_visits, +│ +1 │ "
                     r"+2 │ 乐昌市_20231220\.xlsx 统计表!B4 “1200” +│", row), listed.stdout

    vague = warmline(home, "headers", "accept", "走访慰问困难群众")
    assert (vague.returncode, vague.stderr.strip()) == (1, "Error: say which indicator “走访慰问困难群众” means with "
                                                           "--as: it could be households_visited, person_visits, "
                                                           "persons_visited")
    accepted = warmline(home, "headers", "accept", "走访慰问困难群众", "--as", "households_visited",
                        server=prefect_server)
    assert accepted.returncode == 0, accepted.stderr
    assert f"“走访慰问困难群众” → households_visited: written to {home / 'data/reference/indicators.csv'}" \
        in accepted.stdout
    assert "Read 1 file(s) again:" in accepted.stdout and "recompute and republish the days with `warmline run " \
        "--date D` (2023-12-20)" in accepted.stdout
    again = warmline(home, "run", "--date", "2023-12-20", server=prefect_server)
    assert "  households visited: 26,684 户" in again.stdout.splitlines(), again.stdout
    status = warmline(home, "status", "--date", "2023-12-20")
    assert "2023-12-20 乐昌市 households_visited: — → 2,000 (乐昌市_20231220.xlsx → 乐昌市_20231220.xlsx" \
        in status.stdout, status.stdout
    assert "Figures not loaded" not in status.stdout


@pytest.mark.slow
def test_goods_held_back_for_an_unknown_word_are_accepted_with_the_kind_they_seem_to_be(tmp_path, prefect_server):
    home = _home_with_lechang(tmp_path, "发放方便食品（箱）", (120, 80))
    run = warmline(home, "run", "--date", "2023-12-20", server=prefect_server)
    assert run.returncode == 0, run.stderr
    listed = warmline(home, "headers", "--unread")
    row = next(line for line in listed.stdout.splitlines() if "发放方便食品" in line)
    assert "unfamiliar" in row and "items_issued" in row, listed.stdout

    accepted = warmline(home, "headers", "accept", "发放方便食品（箱）", server=prefect_server)
    assert accepted.returncode == 0, accepted.stderr
    assert f" → items_issued (食品): written to {home / 'data/reference/item_types.csv'}" in accepted.stdout, \
        accepted.stdout
    con = duckdb.connect(str(home / "data/warehouse/warmline.duckdb"), read_only=True)
    try:
        # goods issued in all, and of them 食品: the file's 200 boxes, read again from the archive
        assert con.execute("SELECT item_type, sum(value) FROM raw.facts WHERE indicator = 'items_issued' "
                           "GROUP BY ALL ORDER BY item_type NULLS FIRST").fetchall() == [(None, 200.0), ("食品", 200.0)]
    finally:
        con.close()


def test_init_is_idempotent(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    first, second = warmline(home, "init"), warmline(home, "init")
    assert first.returncode == second.returncode == 0
    assert "already set up; nothing changed" in second.stdout
    assert sorted(p.name for p in (home / "data/reference").iterdir()) == \
        ["bulletin_phrases.csv", "campaign.toml", "header_words.csv", "indicators.csv", "item_types.csv",
         "measures.csv", "template.csv", "units.csv"]


def test_commands_outside_a_home_fail_with_one_line_and_the_fix(tmp_path):
    result = warmline(tmp_path, "demo")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {tmp_path} is not a warmline home (no data/reference/campaign.toml); "
        "run `warmline init` first, or set WARMLINE_HOME"]
    assert "Traceback" not in result.stderr


def test_bad_date_is_one_line(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    warmline(home, "init")
    result = warmline(home, "run", "--date", "20-12-2023")
    assert (result.returncode, result.stderr.strip()) == (
        1, "Error: --date '20-12-2023' is not a date; write it as YYYY-MM-DD, e.g. --date 2023-12-20")


def test_a_unit_listed_twice_in_the_reference_is_one_line_naming_the_lines(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    warmline(home, "init")
    units = home / "data/reference/units.csv"
    lines = units.read_text(encoding="utf-8").splitlines()
    units.write_text("\n".join([*lines, lines[3]]) + "\n", encoding="utf-8")  # a line pasted again at the end
    code = lines[3].split(",")[0]
    result = warmline(home, "template")
    assert (result.returncode, result.stderr.strip()) == (
        1, f"Error: cannot read the reference data in {home / 'data/reference'}: units.csv lists the same code "
           f"more than once ({code} on lines 4, {len(lines) + 1}): keep one line for each; fix the file or copy it "
           "again from a fresh `warmline init`")


def test_template_writes_the_standard_workbook(tmp_path, ref):
    from transforms.read.parser import SubmissionParser
    from transforms.read.workbook import read_sheets

    home = tmp_path / "home"
    home.mkdir()
    warmline(home, "init")
    target = tmp_path / "t.xlsx"
    result = warmline(home, "template", "--unit", "浈江", "-o", str(target))
    assert result.returncode == 0 and result.stdout.strip() == f"wrote {target}"
    sheets = read_sheets(target.read_bytes(), target.name)
    rows = sheets[0].rows
    assert rows[1][:2] == ["填报单位：", "浈江区"] and rows[2][0] == "统计截止日期："
    assert rows[3][0] == "镇（街道）" and rows[3][1] == "走访慰问户数（户）"
    assert "合计" in [r[0] for r in rows]
    parsed = SubmissionParser(ref).parse(sheets, target.name)
    assert parsed.unit_code == "440204" and parsed.issues == []
    unknown = warmline(home, "template", "--unit", "火星")
    assert unknown.returncode == 1 and "no unit called '火星'" in unknown.stderr


def test_every_command_has_help_and_a_readme_mention():
    from flows.cli import app

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert command.callback.__doc__, f"warmline {name} has no help text"
        assert f"warmline {name}" in readme, f"warmline {name} is not in the README"
    for group in app.registered_groups:
        assert group.typer_instance.registered_callback.callback.__doc__, f"warmline {group.name} has no help text"
        assert f"warmline {group.name}" in readme, f"warmline {group.name} is not in the README"
        for command in group.typer_instance.registered_commands:
            assert command.callback.__doc__, f"warmline {group.name} {command.name} has no help text"
            assert f"warmline {group.name} {command.name}" in readme, \
                f"warmline {group.name} {command.name} is not in the README"


def test_a_large_ingest_lists_only_the_files_with_something_to_say(capsys):
    from flows.cli import LISTED_ALL_UP_TO, _print_outcomes

    def outcome(n: int, status: str = "loaded", reason: str | None = None, warnings: int = 0) -> dict:
        return {"file_name": f"file{n:04d}.xlsx", "submission_id": f"{n:012d}", "unit_code": "440203",
                "as_of_date": "2023-12-20", "status": status, "reason": reason, "warnings": warnings,
                "report_path": f"data/raw/rejected/file{n:04d}.xlsx.txt" if status == "rejected" else None}

    many = [outcome(n) for n in range(LISTED_ALL_UP_TO + 10)]
    many[3] = outcome(3, "rejected", "a figure cannot be negative")
    many[7] = outcome(7, warnings=2)
    _print_outcomes(many)
    printed = capsys.readouterr().out
    assert "file0003.xlsx" in printed and "file0007.xlsx" in printed and "2 warning(s)" in printed
    assert "file0000.xlsx" not in printed and "file0059.xlsx" not in printed
    assert f"{LISTED_ALL_UP_TO + 8} more files loaded without remark are not listed" in printed
    assert f"Files: {LISTED_ALL_UP_TO + 9} loaded, 0 superseded, 0 duplicate, 1 rejected" in printed
    assert "Rejected file0003.xlsx: report in data/raw/rejected/file0003.xlsx.txt" in printed

    few = [outcome(n) for n in range(3)]
    _print_outcomes(few)
    printed = capsys.readouterr().out
    assert all(f"file000{n}.xlsx" in printed for n in range(3)) and "not listed" not in printed
