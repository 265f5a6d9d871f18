"""uPlot is vendored from its npm package at a pinned version, with its licence, and packaged."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "gaitrig" / "web_ui" / "static" / "vendor" / "uplot"
PINNED = "1.6.31"


def test_uplot_is_the_pinned_release_with_its_licence() -> None:
    script = (VENDOR / "uPlot.iife.min.js").read_text()
    assert script.startswith(f"/*! https://github.com/leeoniya/uPlot (v{PINNED}) */")
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    assert ".uplot" in (VENDOR / "uPlot.min.css").read_text()
    console = (ROOT / "gaitrig" / "web_ui" / "static" / "console.html").read_text()
    assert '<script src="/static/vendor/uplot/uPlot.iife.min.js"></script>' in console


def test_the_vendored_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["gaitrig.web_ui"]
    package = ROOT / "gaitrig" / "web_ui"
    packaged = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    assert {VENDOR / name for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE")} <= packaged
