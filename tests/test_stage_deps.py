"""Each DVC stage declares every project source file it imports, so DVC reruns it (and the tables' code id
changes) when any of them changes."""

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def imported(path: Path) -> set[str]:
    """The mtbert modules a file imports anywhere in it (lazy imports included: they run too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("mtbert")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mtbert"):
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names if module_file(f"{node.module}.{a.name}")}
    return names


def closure(start: Path) -> set[Path]:
    """Every project file a script runs, following imports through the package (packages' __init__ included)."""
    seen, todo = set(), [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                found = module_file(".".join(parts[:i]))
                if found is not None:
                    todo.append(found)
    return seen


def has_code(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in deps)


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_declares_every_imported_source_file(name):
    stage = STAGES[name]
    script = ROOT / stage["cmd"].split()[-1]
    deps = [d if isinstance(d, str) else next(iter(d)) for d in stage.get("deps", [])]
    files = {p for p in closure(script) if p != script and has_code(p)}
    assert files, f"{name}: found no project imports in {script}; the import walk is broken"
    undeclared = sorted(p.relative_to(ROOT).as_posix() for p in files if not covered(p, deps))
    assert not undeclared, f"dvc.yaml stage {name!r} imports but does not declare: {undeclared}"


def test_the_walk_follows_imports_through_packages():
    files = {p.relative_to(ROOT).as_posix() for p in closure(ROOT / "stages/finetune.py")}
    assert {"src/mtbert/train/loop.py", "src/mtbert/config/train.py", "src/mtbert/model/bert.py"} <= files
    assert "src/mtbert/config/params.py" not in files  # a stage imports the sections it reads, not all of them
