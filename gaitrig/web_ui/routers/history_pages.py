"""The clinic-records pages (plain HTML with their own JavaScript; the data come from the REST
API): the patient list, a patient's progress, a session with its replay and notes, and two
trials compared."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from gaitrig.rig.access.permissions import Permission
from gaitrig.web_ui.api_input import MAX_RECORD_ID, RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.routers.pages import STATIC

router = APIRouter(prefix="/history", include_in_schema=False,
                   dependencies=[requires(Permission.VIEW_RECORDS, page=True)])


@router.get("")
def patients_page() -> FileResponse:
    return FileResponse(STATIC / "history-patients.html")


@router.get("/patients/{patient_id}")
def patient_page(patient_id: RecordId) -> FileResponse:
    return FileResponse(STATIC / "history-patient.html")


@router.get("/sessions/{session_id}")
def session_page(session_id: RecordId) -> FileResponse:
    return FileResponse(STATIC / "history-session.html")


@router.get("/compare")
def compare_page(a: Annotated[int, Query(ge=1, le=MAX_RECORD_ID)],
                 b: Annotated[int, Query(ge=1, le=MAX_RECORD_ID)]) -> FileResponse:
    """Trials ``a`` and ``b`` side by side."""
    return FileResponse(STATIC / "history-compare.html")
