"""The catalogue of problems (transforms/core/problems.toml): every code the source produces is in it and every code
in it is produced somewhere, each entry says what the clerk reads and does in both languages, what it renders is
exactly what the clerk saw before the catalogue, and docs/problems.md is generated from it."""

from __future__ import annotations

import ast
import datetime as dt
import html
import json
import string
from pathlib import Path

import pytest

from tests.conftest import REPO
from transforms.core.problems import DEFAULT, DOCS, SEVERITIES, STAGES, catalogue, generate, problem, templates
from transforms.read.parser import HEADER_REASONS

TRANSFORMS = REPO / "transforms"
# The only places a code is computed rather than written: the header reader's reason (<reason>-header) and the rule
# a suite's expectation names. Anywhere else, a computed code would escape the checks below.
COMPUTED_CODES = {Path("transforms/read/parser.py"), Path("transforms/validate/suites.py")}
FIELDS = {"severity", "stage", "title_zh", "title_en", "message_zh", "message_en", "fix_zh", "fix_en"}


def _literals(node: ast.AST | None) -> set[str | None]:
    """The strings an argument can be when it is written out: a literal, or either side of an if-else; empty when
    it is computed. None stands for a literal None."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return {node.value}
    if isinstance(node, ast.IfExp):
        sides = _literals(node.body), _literals(node.orelse)
        return sides[0] | sides[1] if all(sides) else set()
    return set()


def problem_calls() -> list[tuple[Path, int, set, set | None]]:
    """(file, line, codes, variants) of every problem(...) call in transforms/: the codes and variants it can name
    when they are written out (codes empty, or variants None, when computed); variants {None} when it names none."""
    calls = []
    for path in sorted(TRANSFORMS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "problem":
                named = next((k.value for k in node.keywords if k.arg == "variant"), None)
                variants = {None} if named is None else _literals(named) or None
                calls.append((path.relative_to(REPO), node.lineno, _literals(node.args[0]), variants))
    return calls


def suite_rules() -> set[str]:
    return {e["meta"]["rule"] for path in (REPO / "expectations").glob("*.json")
            for e in json.loads(path.read_text(encoding="utf-8"))["expectations"]}


def produced_codes() -> set[str]:
    """Every code the source can produce: written in a problem(...) call, a <reason>-header, or a suite's rule."""
    written = {code for _, _, codes, _ in problem_calls() for code in codes}
    return written | {f"{reason}-header" for reason in HEADER_REASONS} | suite_rules()


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def sample_context(template: str) -> dict:
    """A value for each placeholder that its format spec accepts: a time, a number, or a word."""
    context = {}
    for _, field, spec, _ in string.Formatter().parse(template):
        if field:
            context[field] = dt.datetime(2023, 12, 20, 16, 5) if spec and "%" in spec else 1234.5 if spec else "x"
    return context


def test_every_code_the_source_produces_is_in_the_catalogue():
    calls = problem_calls()
    assert len(calls) > 40  # the calls are where this looks: a renamed function would pass with none
    assert produced_codes() - set(catalogue()) == set()
    assert {path for path, _, codes, _ in calls if not codes} == COMPUTED_CODES


def test_every_code_in_the_catalogue_is_produced_somewhere():
    assert set(catalogue()) - produced_codes() == set()


def test_every_variant_named_exists_and_every_variant_is_named():
    """A variant named in a call is one of its code's templates (a code named with none has one template, or a
    default); and each template is named by a call, or written in the file whose call computes the variant."""
    named: dict[str, set] = {}
    computed_in: dict[str, set[Path]] = {}
    for path, line, codes, variants in problem_calls():
        for code in codes:
            if variants is None:
                computed_in.setdefault(code, set()).add(path)
                continue
            have = set(templates(catalogue()[code], "zh"))
            wanted = {DEFAULT if v is None and None not in have else v for v in variants}
            assert wanted <= have, f"{path}:{line}: {code} has no template {wanted - have}"
            named.setdefault(code, set()).update(wanted)
    for code in suite_rules():
        have = set(templates(catalogue()[code], "zh"))
        assert None in have or DEFAULT in have, f"a suite names {code} with no variant: it needs a default"
        named.setdefault(code, set()).add(None if None in have else DEFAULT)
    for code, entry in catalogue().items():
        unnamed = set(templates(entry, "zh")) - {None} - named.get(code, set())
        written = {node.value for path in computed_in.get(code, ())
                   for node in ast.walk(ast.parse((REPO / path).read_text(encoding="utf-8")))
                   if isinstance(node, ast.Constant)}
        assert unnamed - written == set(), f"{code}: no call names {unnamed - written}"


@pytest.mark.parametrize("code", sorted(catalogue()))
def test_every_entry_says_what_it_is_and_what_to_do_in_both_languages(code):
    entry = catalogue()[code]
    assert set(entry) == FIELDS, set(entry) ^ FIELDS
    assert entry["severity"] in SEVERITIES and entry["stage"] in STAGES
    for field in ("title_zh", "title_en", "fix_zh", "fix_en"):
        assert isinstance(entry[field], str) and entry[field].strip(), field
    zh, en = templates(entry, "zh"), templates(entry, "en")
    assert set(zh) == set(en), "the same variants in both languages"
    for variant in zh:
        assert zh[variant].strip() and en[variant].strip(), variant
        # the same placeholders, but for each language's own words (x_zh / x_en) and what only the English says
        said_zh, said_en = placeholders(zh[variant]), placeholders(en[variant])
        assert not any(p.endswith("_en") for p in said_zh) and not any(p.endswith("_zh") for p in said_en), variant
        assert {p for p in said_zh if not p.endswith("_zh")} == {p for p in said_en if not p.endswith("_en")}, \
            f"{variant}: {sorted(said_zh)} in Chinese, {sorted(said_en)} in English"
        for template in (zh[variant], en[variant]):
            template.format(**sample_context(template))  # well-formed: every brace a placeholder


@pytest.mark.parametrize(("made", "zh", "en"), [
    (problem("not-a-number", text="abc"),
     "“abc”不是数字，请填写阿拉伯数字（可带“余”“约”“若干”），没有数据请留空",
     "'abc' is not a number — write digits (余, 约 and 若干 are allowed), or leave the cell empty"),
    (problem("csv-encoding", variant="utf16"),
     "CSV 文件是 UTF-16（“Unicode 文本”）编码，系统无法读取。请另存为“CSV UTF-8”格式",
     "the CSV file is UTF-16 ('Unicode Text'), which is not read — save it as 'CSV UTF-8'"),
    (problem("formula-error", variant="more", more=1234),
     "另有 1,234 个单元格是公式错误值，请一并修正", "and 1,234 more cells hold formula errors — fix them too"),
    (problem("breakdown-header", header="其中：老人", cells=3, candidates_zh="", candidates_en="", detail_zh="",
             detail_en=""),
     "表头“其中：老人”是“其中”分项，已包含在其他数字中，不重复计入，该列3个数字未导入",
     "the header '其中：老人' was not loaded (3 figure(s)): it is a breakdown (其中) of another figure, which already "
     "counts it"),
    (problem("date-after-receipt", variant="file-name", as_of_date=dt.date(2023, 12, 22),
             received=dt.datetime(2023, 12, 20, 16, 5)),
     "统计截止日期 2023-12-22（文件名） 晚于收到文件的时间 2023-12-20 16:05，截止日期不可能在报送之后；本文件已计入 2023-12-22。"
     "请核对截至日期，如有误请更正后重新报送",
     "the as-of date 2023-12-22 (in the file name) is after the file was received (2023-12-20 16:05): a report "
     "cannot run to a later day, and the file is counted for 2023-12-22 — check the as-of date and send the file "
     "again corrected"),
    (problem("staff-below-patrols", patrol_staff=3.0, patrols_run=1250000.0),
     "出动人员（3人次）少于巡查次数（1,250,000次），每次巡查至少出动一人",
     "staff deployed (3) is below patrols run (1,250,000) — every patrol takes at least one person"),
])
def test_what_a_problem_renders_is_what_the_clerk_reads(made, zh, en):
    assert (made.message_zh, made.message_en) == (zh, en)


def test_a_problem_takes_the_catalogues_severity_its_place_apart_and_a_severity_given():
    found = problem("unknown-unit", variant="written", sheet="统计表", cell="B2", raw_text="某局", text="某局")
    assert (found.rule, found.severity, found.sheet, found.cell, found.raw_text) == \
        ("unknown-unit", "error", "统计表", "B2", "某局")
    assert found.message_zh == "填报单位“某局”不在单位名录中，请填写单位全称（如“浈江区民政局”）"
    assert problem("unknown-unit").message_en == "the reporting unit is not in the list of units"  # the default
    assert problem("negative-figure", severity="warning").severity == "warning"
    assert problem("unknown-item", header="暖宝宝").severity == "warning"


def test_a_variant_that_does_not_exist_is_an_error_not_another_message():
    with pytest.raises(KeyError, match="csv-encoding has no template 'default'"):
        problem("csv-encoding")
    with pytest.raises(KeyError, match="empty-file has no template 'utf16'"):
        problem("empty-file", variant="utf16")


def test_the_committed_list_of_problems_is_what_make_docs_generates():
    assert DOCS.read_text(encoding="utf-8") == generate(), \
        "docs/problems.md is stale: run `make docs` and commit the result"


def test_the_list_of_problems_has_a_row_for_every_code_under_its_stage():
    rows = {}
    for line in generate().splitlines():
        if line.startswith("## "):
            stage = line
        elif line.startswith("| `"):
            rows[line.split("`")[1]] = (stage, line)
    assert set(rows) == set(catalogue())
    for code, (stage, row) in rows.items():
        entry = catalogue()[code]
        assert stage.startswith(f"## {STAGES[entry['stage']][0]}") and f"| {entry['severity']} |" in row, row
        # as written, with '<unit>' escaped so that Markdown shows it
        assert html.escape(entry["fix_zh"], quote=False) in row and html.escape(entry["fix_en"], quote=False) in row
