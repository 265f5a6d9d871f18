"""The one-way dependency rule of docs/architecture.md, checked on the import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("web_ui", "rig", "drivers", "processing", "db")
ALLOWED = {
    "web_ui": {"rig"},
    "rig": {"drivers", "processing", "db"},
    "drivers": set(),
    "processing": set(),
    "db": set(),
}
#: The entry point composes the application, so it alone may reach up to the web layer.
COMPOSITION_ROOT = {"rig/cli.py": {"web_ui"}}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_dependency_rule(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources in {package}/"
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        allowed = ALLOWED[package] | {package} | COMPOSITION_ROOT.get(relative, set())
        forbidden = imported_packages(path) - allowed
        assert not forbidden, f"{relative} imports {sorted(forbidden)}"


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom rig.controller import RigController\nimport web_ui.app\n")
    assert imported_packages(bad) == {"rig", "web_ui"}
