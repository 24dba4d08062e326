"""The warehouse's data dictionary (docs/warehouse.md), generated so it cannot drift from the models.

Relations and columns come from the warehouse as built from transforms/warehouse/sql/ (an empty one, in memory); what each
relation is, from the first comment lines of its .sql file; what each column means and its unit, from
docs/dictionary/columns.csv; the indicators and item types, from data/reference/; the example queries, from
docs/dictionary/examples/*.sql. Regenerate with `make docs`; a test fails when the committed file is stale.

    python -m transforms.warehouse.dictionary [docs/warehouse.md]
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms import warehouse
from transforms.core.layout import SHIPPED_REFERENCE
from transforms.core.reference import Reference, load_reference

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "docs" / "dictionary"
TARGET = REPO / "docs" / "warehouse.md"
SCHEMAS = ("marts", "raw", "ref")  # in the order the dictionary presents them
SCHEMA_TITLES = {"marts": "Views for analysis (`marts`)", "raw": "What was received and read (`raw`)",
                 "ref": "Reference data as of the last run (`ref`)"}
ANY = "*"  # a columns.csv row for every relation that has the column, unless a row names the relation


class UndocumentedColumns(ValueError):
    """Columns without a line in columns.csv, or lines for columns that no longer exist."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    unit: str
    description: str


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # view or table
    description: str
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Example:
    title: str
    explanation: str
    sql: str


def header_comment(path: Path) -> str:
    """The leading `--` lines of a .sql file, as one paragraph."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)


def _source_file(schema: str, name: str) -> Path:
    if schema == "marts":
        return warehouse.MARTS_DIR / f"{name}.sql"
    return warehouse.SCHEMA_DIR / f"{schema}_{name}.sql"


def read_columns_csv(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(relation or *, column) -> (unit, description)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # DictReader keeps the fields of a line with an unquoted comma under None: refuse it rather than cut the text.
    bad = [f"line {n}" for n, r in enumerate(rows, start=2) if None in r or None in r.values()]
    if bad:
        raise UndocumentedColumns(f"{path.name}: not four fields on {', '.join(bad)}; quote text that has a comma")
    return {(r["relation"], r["column"]): (r["unit"], r["description"]) for r in rows}


def relations(con: duckdb.DuckDBPyConnection, docs: dict[tuple[str, str], tuple[str, str]]) -> list[Relation]:
    """Every table and view of the raw, ref and marts schemas with its documented columns."""
    rows = con.execute(
        "SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type "
        "FROM information_schema.columns AS c JOIN information_schema.tables AS t "
        "USING (table_catalog, table_schema, table_name) "
        "WHERE c.table_catalog = current_database() ORDER BY c.table_schema, c.table_name, c.ordinal_position"
    ).fetchall()
    found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for schema, table, kind, column, data_type in rows:
        if schema in SCHEMAS:
            found.setdefault((schema, table), []).append((column, data_type, "view" if kind == "VIEW" else "table"))
    missing, used = [], set()
    result = []
    for (schema, table), cols in sorted(found.items(), key=lambda kv: (SCHEMAS.index(kv[0][0]), kv[0][1])):
        documented = []
        for column, data_type, _ in cols:
            key = (f"{schema}.{table}", column) if (f"{schema}.{table}", column) in docs else (ANY, column)
            if key not in docs:
                missing.append(f"{schema}.{table}.{column}")
                continue
            used.add(key)
            unit, description = docs[key]
            documented.append(Column(column, data_type, unit, description))
        result.append(Relation(schema, table, cols[0][2], header_comment(_source_file(schema, table)),
                               tuple(documented)))
    stale = [f"{relation}.{column}" for relation, column in docs if (relation, column) not in used]
    if missing or stale:
        raise UndocumentedColumns(
            "docs/dictionary/columns.csv is out of step with the warehouse: "
            + "; ".join(filter(None, [f"no description for {', '.join(missing)}" if missing else "",
                                      f"no such column for {', '.join(stale)}" if stale else ""])))
    return result


def macros(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(signature, description) of each marts macro; the description from the first comment of its .sql file."""
    rows = con.execute(
        "SELECT DISTINCT function_name, parameters FROM duckdb_functions() "
        "WHERE database_name = current_database() AND schema_name = 'marts' AND function_type LIKE '%macro' "
        "ORDER BY function_name").fetchall()
    return [(f"marts.{name}({', '.join(params)})", header_comment(warehouse.MACROS_DIR / f"{name}.sql"))
            for name, params in rows]


def examples(folder: Path) -> list[Example]:
    """The example queries: first comment line the title, further comment lines the explanation."""
    result = []
    for path in sorted(folder.glob("*.sql")):
        lines = path.read_text(encoding="utf-8").splitlines()
        comments = [line.removeprefix("--").strip() for line in lines if line.startswith("--")]
        body = "\n".join(line for line in lines if not line.startswith("--")).strip()
        result.append(Example(comments[0], " ".join(comments[1:]), body))
    return result


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else ""


def render(rels: list[Relation], macro_docs: list[tuple[str, str]], ref: Reference, intro: str,
           example_queries: list[Example]) -> str:
    """The dictionary as Markdown."""
    out = [intro.rstrip(), ""]
    out += ["## Contents", ""]
    for schema in SCHEMAS:
        names = ", ".join(f"[`{r.qualified}`](#{r.schema}{r.name})" for r in rels if r.schema == schema)
        out.append(f"- {SCHEMA_TITLES[schema]}: {names}")
    out += ["- [Indicators](#indicators) and [item types](#item-types)", "- [Example queries](#example-queries)", ""]

    out += ["## Indicators", "",
            "From `data/reference/indicators.csv` (also in `ref.indicators`). The four headline figures are "
            "in `marts.headline`.", "",
            "| indicator | 指标 | meaning | unit | headline |", "|---|---|---|---|---|"]
    out += [f"| `{i.code}` | {i.name_zh} | {_cell(i.name_en)} | {i.unit} | {'yes' if i.headline else ''} |"
            for i in ref.indicators]
    out += ["", "## Item types", "",
            "From `data/reference/item_types.csv`: the types of `items_issued` reported by type (`item_type`).", "",
            "| item_type | unit |", "|---|---|"]
    out += [f"| {t.name} | {t.unit} |" for t in ref.item_types]
    out.append("")

    for schema in SCHEMAS:
        out += [f"## {SCHEMA_TITLES[schema]}", ""]
        for r in (r for r in rels if r.schema == schema):
            out += [f"### {r.qualified}", "", f"{r.kind.capitalize()}. {r.description}", "",
                    "| column | type | unit | meaning |", "|---|---|---|---|"]
            out += [f"| `{c.name}` | {c.type} | {_cell(c.unit)} | {_cell(c.description)} |" for c in r.columns]
            out.append("")
        if schema == "marts" and macro_docs:
            out += ["### Macros", ""]
            out += [f"- `{signature}`: {text}" for signature, text in macro_docs]
            out.append("")

    out += ["## Example queries", "",
            "Each runs as it stands on the analytics copy (a test runs every one of them against the worked "
            "example): paste it into `duckdb -readonly data/warehouse/analytics.duckdb`, or pass it to "
            "`warmline sql`.", ""]
    for e in example_queries:
        out += [f"### {e.title}", "", e.explanation, "", "```sql", e.sql, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def generate(sources: Path = SOURCES, reference: Path = SHIPPED_REFERENCE) -> str:
    """docs/warehouse.md as the models, columns.csv, the reference data and the examples make it now."""
    ref = load_reference(reference)
    con = duckdb.connect(":memory:")
    try:
        warehouse.prepare(con, ref)
        rels = relations(con, read_columns_csv(sources / "columns.csv"))
        macro_docs = macros(con)
    finally:
        con.close()
    intro = (sources / "intro.md").read_text(encoding="utf-8")
    return render(rels, macro_docs, ref, intro, examples(sources / "examples"))


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else TARGET
    try:
        text = generate()
    except UndocumentedColumns as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
