"""The HTML pages (plain files with their own JavaScript; no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

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
