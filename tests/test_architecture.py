"""The layers of docs/architecture.md hold: import-linter checks the real import graph against the contract in
pyproject.toml, a planted back-import is caught, the tree matches the documented layout, and modules stay small."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "aigi_scd"
MAX_LINES = 400  # a longer module says why in its docstring ("long because ...")


def lint_imports(root: Path, config: Path) -> subprocess.CompletedProcess:
    """import-linter over the package found first on the path from `root` (its own process: grimp imports nothing,
    but the package it finds depends on sys.path)."""
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", code, str(config)], cwd=root, env=env, capture_output=True, text=True)


def test_the_import_graph_keeps_the_layer_contract():
    result = lint_imports(REPO, REPO / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_planted_back_import_breaks_the_contract(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "aigi_scd", ignore=shutil.ignore_patterns("__pycache__", "_registry"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / "aigi_scd" / "dataset" / "shards.py"
    planted.write_text(planted.read_text() + "\nfrom aigi_scd.bench import sources  # planted back-import\n")
    result = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert result.returncode != 0
    assert "aigi_scd.dataset is not allowed to import aigi_scd.bench" in result.stdout
    found = subprocess.run(
        [sys.executable, "-c", "import aigi_scd; print(aigi_scd.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert found.stdout.startswith(str(tmp_path))  # the planted copy, not the installed package, was checked


def documented_modules() -> set[str]:
    """Module paths (``aigi_scd/dataset/shards.py``) named in the layout block of docs/architecture.md: two
    spaces of indent per package level (``  pipelines/``, ``    tiny_builders/``, ``      components.py``)."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("<!-- layout -->", 2)[1]
    modules, packages = set(), []
    for line in block.splitlines():
        match = re.match(r"^((?:  )+)(\w+)(/|\.py\s)", line)
        if not match:
            continue
        depth = len(match.group(1)) // 2 - 1  # "  cli/" and "  config.py" are at depth 0
        if depth > len(packages):
            continue
        packages = packages[:depth]
        if match.group(3) == "/":
            packages.append(match.group(2))
        else:
            modules.add("/".join(["aigi_scd", *packages, match.group(2) + ".py"]))
    return modules


def test_the_tree_matches_docs_architecture():
    actual = {str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "_registry" not in p.parts}
    actual -= {str(p.relative_to(REPO)) for p in PACKAGE.rglob("__init__.py")} - {"aigi_scd/cli/__init__.py"}
    actual.discard("aigi_scd/__main__.py")
    documented = documented_modules()
    assert sorted(actual - documented) == [], "modules missing from docs/architecture.md"
    assert sorted(documented - actual) == [], "docs/architecture.md names modules that do not exist"


def test_modules_stay_small_or_say_why():
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES:
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert "long because" in docstring, f"{path.relative_to(REPO)} has {lines} lines and no reason"
