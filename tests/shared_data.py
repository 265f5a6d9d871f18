"""Where the shared public recordings are (``../shared/data`` or ``GAITRIG_SHARED_DATA``)."""

from __future__ import annotations

import os
from pathlib import Path

from gaitrig.testing.server import require_tool

ROOT = Path(__file__).resolve().parent.parent


def shared_data(folder: str) -> Path:
    """The folder ``folder`` of the shared data; skips (outside CI) when it is absent."""
    base = Path(os.environ.get("GAITRIG_SHARED_DATA", ROOT.parent / "shared" / "data"))
    path = base / folder
    require_tool(path.is_dir(), f"the shared recordings {path}",
                 "set GAITRIG_SHARED_DATA to the folder described in ../shared/data/README.md")
    return path
