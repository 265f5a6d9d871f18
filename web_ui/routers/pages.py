"""The HTML pages (plain files with their own JavaScript; no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

from web_ui.deps import AppSettings

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/display")
def display_page() -> FileResponse:
    """The patient's screen in front of the bars."""
    return FileResponse(STATIC / "display.html")


@router.get("/console")
def console_page() -> FileResponse:
    """The therapist's tablet."""
    return FileResponse(STATIC / "console.html")


@router.get("/rigs/{rig_id}/display")
def rig_display_page(rig_id: str, settings: AppSettings) -> FileResponse:
    """The display link of one rig: no login, watch only (the page sends no controls).

    A fixed per-rig URL until the security issue replaces it with a revocable token.
    """
    if rig_id != settings.rig_id:
        raise HTTPException(404, f"no rig {rig_id!r} here (this server runs {settings.rig_id!r})")
    return FileResponse(STATIC / "display.html")
