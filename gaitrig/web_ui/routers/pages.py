"""The HTML pages (plain files with their own JavaScript; no build step).

The display page needs the rig's display token (``/display?token=...``) or a login; the console
needs a login. A browser that is not logged in is sent to ``/login`` (gaitrig.web_ui.auth).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

from gaitrig.rig.access.permissions import Permission
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import AppSettings

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[requires(Permission.PUBLIC)])
def index() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/display", dependencies=[requires(Permission.WATCH_LIVE, page=True)])
def display_page() -> FileResponse:
    """The patient's screen in front of the bars (watch only: the page sends no controls)."""
    return FileResponse(STATIC / "display.html")


@router.get("/console", dependencies=[requires(Permission.CONTROL_RIG, page=True)])
def console_page() -> FileResponse:
    """The therapist's tablet."""
    return FileResponse(STATIC / "console.html")


@router.get("/rigs/{rig_id}/display", dependencies=[requires(Permission.WATCH_LIVE, page=True)])
def rig_display_page(rig_id: str, settings: AppSettings) -> FileResponse:
    """The display of one rig by name (``?token=`` the rig's display token, or a login)."""
    if rig_id != settings.rig_id:
        raise HTTPException(404, f"no rig {rig_id!r} here (this server runs {settings.rig_id!r})")
    return FileResponse(STATIC / "display.html")
