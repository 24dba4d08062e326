"""The folder tree shows how a file travels: transforms/ holds one package per stage, and each stage imports only
the stages before it, so a change to the bulletin can never break reading, and reading never needs the
warehouse. (That transforms/ never imports Prefect or flows/ is tests/test_layout.py's.)"""

from __future__ import annotations

import ast
from pathlib import Path

TRANSFORMS = Path(__file__).resolve().parent.parent / "transforms"
STAGES = ["core", "read", "validate", "warehouse", "ingest", "day", "bulletin"]


def imported(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "transforms" and len(parts) > 1 and parts[1] in STAGES else None


def test_every_module_lives_in_a_stage_package():
    assert sorted(p.name for p in TRANSFORMS.iterdir() if p.suffix == ".py") == ["__init__.py"]
    assert sorted(p.name for p in TRANSFORMS.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(STAGES)


def test_each_stage_imports_only_the_stages_before_it():
    wrong = []
    for stage in STAGES:
        for path in sorted((TRANSFORMS / stage).rglob("*.py")):
            for module in imported(path):
                target = stage_of(module)
                if target and STAGES.index(target) > STAGES.index(stage):
                    wrong.append(f"{path.relative_to(TRANSFORMS)} imports {module} ({target} comes after {stage})")
    assert wrong == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from transforms.bulletin.text import x\n    from transforms import warehouse\n")
    assert {stage_of(m) for m in imported(sample)} >= {"bulletin", "warehouse"}
