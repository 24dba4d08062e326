"""Guards on the shape of the code base."""

import ast

from tests.conftest import REPO


def test_transforms_never_import_prefect():
    offenders = []
    for path in (REPO / "transforms").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("prefect", "flows")]
    assert offenders == []


def test_every_sql_model_has_a_comment_saying_what_it_builds():
    models = sorted((REPO / "transforms" / "warehouse" / "sql").rglob("*.sql"))
    assert len(models) > 50  # the models are where this looks: a moved folder would pass with none
    for path in models:
        assert path.read_text(encoding="utf-8").lstrip().startswith("--"), path


def test_every_expectation_says_why_and_what_the_clerk_reads():
    import json

    from transforms.core.problems import catalogue

    for path in (REPO / "expectations").glob("*.json"):
        for rule in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            meta = rule["meta"]
            assert {"rule", "why"} <= set(meta), (path.name, rule["type"])
            assert meta["rule"] in catalogue(), (path.name, rule["type"])  # whose message is what the clerk reads
