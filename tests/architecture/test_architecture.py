"""The one-way dependency rule of docs/architecture.md, checked on the import statements.

Floors, top to bottom: ``cli -> web_ui -> rig -> sim -> {drivers, processing, io, db}``. A module
may import its own floor and any floor below it, never one above. Inside ``rig`` the jobs have
their own order: ``live`` may use ``recording``, ``clinic``, ``access`` and ``offline``;
``recording`` may use ``offline``; ``clinic``, ``access`` and ``offline`` use none of the others;
all of them share ``model``, ``settings`` and ``records``, which use no job. The bottom floor's
four packages do not import one another, except ``io`` (recording files) reading through
``processing``. ``testing`` (helpers of the tests and benchmarks) may import anything and nothing
imports it but tests and benchmarks. No exceptions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gaitrig"
FLOORS = ("cli", "web_ui", "rig", "sim", "bottom")
BOTTOM = {"drivers": set(), "processing": set(), "io": {"processing"}, "db": set()}
JOBS = {"live": {"recording", "clinic", "access", "offline"}, "recording": {"offline"},
        "clinic": set(), "access": set(), "offline": set()}
SHARED = ("model", "settings", "records")


def unit(module: str) -> tuple[str, ...]:
    """Where a ``gaitrig`` module lives: ``("rig", "live")``, ``("rig", "model")``, ``("sim",)``
    ... (a module outside the package gives ``(first name,)``)."""
    parts = module.split(".")
    if parts[0] != "gaitrig" or len(parts) == 1:
        return (parts[0],)
    if parts[1] == "rig" and len(parts) > 2:
        return ("rig", parts[2])
    return (parts[1],)


def floor(where: tuple[str, ...]) -> int:
    return FLOORS.index("bottom" if where[0] in BOTTOM else where[0])


def may_import(importer: tuple[str, ...], imported: tuple[str, ...]) -> bool:
    """The rule, for one import between two units of the package."""
    if importer[0] == "testing":
        return True
    if imported[0] == "testing":
        return False
    if importer[0] in BOTTOM and imported[0] in BOTTOM:
        return imported[0] == importer[0] or imported[0] in BOTTOM[importer[0]]
    if floor(importer) != floor(imported):
        return floor(importer) < floor(imported)
    if importer[0] != "rig" or importer == imported or len(importer) == 1:
        return True
    if len(imported) == 1:  # the rig package itself
        return False
    mine, theirs = importer[1], imported[1]
    if theirs in SHARED:
        return True
    return mine in JOBS and theirs in JOBS[mine]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}: relative import (use the full gaitrig.… name)")
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def package_imports(path: Path) -> set[str]:
    """The ``gaitrig`` modules (and names in them) ``path`` imports."""
    return {name for name in imports_of(path) if name.split(".")[0] == "gaitrig"}


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_imports_follow_the_dependency_rule(path: Path) -> None:
    importer = unit(module_name(path))
    wrong = sorted(name for name in package_imports(path)
                   if not may_import(importer, unit(name)))
    assert not wrong, f"{path.relative_to(ROOT)} ({'.'.join(importer)}) imports {wrong}"


def test_nothing_outside_the_tests_and_benchmarks_imports_them() -> None:
    for path in [*SOURCES, *sorted((ROOT / "studies").rglob("*.py"))]:
        wrong = {name.split(".")[0] for name in imports_of(path)} & {"tests", "benchmarks"}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
    for path in sorted((ROOT / "benchmarks").rglob("*.py")):
        assert not any(name.split(".")[0] == "tests" for name in imports_of(path)), path


def test_the_rig_never_imports_the_simulator() -> None:
    """The controller gets its boards from a ``BoardSource`` the command line chooses
    (``gaitrig.cli.sources``): nothing in ``gaitrig/rig`` knows the virtual rig."""
    for path in sorted((PACKAGE / "rig").rglob("*.py")):
        wrong = sorted(name for name in package_imports(path) if unit(name) == ("sim",))
        assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"


def test_the_package_is_the_only_thing_installed() -> None:
    """One ``gaitrig`` package: no generic top-level ``rig``, ``db`` ... left in the checkout."""
    for old in ("rig", "drivers", "processing", "db", "web_ui"):
        assert not (ROOT / old).exists(), f"{old}/ is still at the top of the checkout"


def test_the_rule_refuses_what_it_must() -> None:
    """The checker itself, on the arrows the issue names."""
    assert not may_import(unit("gaitrig.rig.live.controller"), unit("gaitrig.cli.main"))
    assert not may_import(unit("gaitrig.rig.live.controller"), unit("gaitrig.web_ui.app"))
    assert not may_import(unit("gaitrig.sim.rig"), unit("gaitrig.rig.settings"))
    assert not may_import(unit("gaitrig.rig.recording.recorder"), unit("gaitrig.rig.live.trial"))
    assert not may_import(unit("gaitrig.rig.offline.replay"), unit("gaitrig.rig.live.timeline"))
    assert not may_import(unit("gaitrig.rig.model"), unit("gaitrig.rig.live.alarms"))
    assert not may_import(unit("gaitrig.drivers.protocol"), unit("gaitrig.db.models"))
    assert not may_import(unit("gaitrig.db.models"), unit("gaitrig.testing.server"))
    assert may_import(unit("gaitrig.cli.main"), unit("gaitrig.web_ui.app"))
    assert may_import(unit("gaitrig.rig.live.controller"), unit("gaitrig.rig.recording.recorder"))
    assert may_import(unit("gaitrig.rig.recording.recorder"), unit("gaitrig.rig.offline.analyze"))
    assert may_import(unit("gaitrig.rig.clinic.history"), unit("gaitrig.rig.model"))
    assert may_import(unit("gaitrig.rig.settings"), unit("gaitrig.rig.model"))
    assert may_import(unit("gaitrig.web_ui.app"), unit("gaitrig.processing.layouts"))


def test_the_checker_reads_every_form_of_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom gaitrig.rig.live import controller\nimport gaitrig.web_ui.app\n"
                   "def f():\n    from gaitrig.cli.main import main\n")
    assert package_imports(bad) == {"gaitrig.rig.live.controller", "gaitrig.web_ui.app",
                                    "gaitrig.cli.main.main"}
