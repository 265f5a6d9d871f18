"""Training sessions: one visit of a patient to the rig, holding its trials and notes."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic.history import SessionDetail, SessionOut
from gaitrig.web_ui.api_input import BodyId, ClosedInput, RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import AppSettings, History

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
READ, WRITE = [requires(Permission.VIEW_RECORDS)], [requires(Permission.EDIT_RECORDS)]


class SessionIn(ClosedInput):
    patient_id: BodyId
    clinician_id: BodyId | None = None
    notes: str = Field(default="", max_length=10_000)


class SessionPatch(ClosedInput):
    notes: str | None = Field(default=None, max_length=10_000)
    ended: bool = Field(default=False, description="True ends the session now (once).")


@router.post("", status_code=201, dependencies=WRITE)
def start_session(body: SessionIn, history: History, settings: AppSettings) -> SessionOut:
    return history.start_session(body.patient_id, settings.rig_id, body.clinician_id,
                                 body.notes)


@router.get("/{session_id}", dependencies=READ)
def session_detail(session_id: RecordId, history: History) -> SessionDetail:
    """The session with its patient, therapist, trials (with metrics) and notes."""
    return history.session_detail(session_id)


@router.patch("/{session_id}", dependencies=WRITE)
def update_session(session_id: RecordId, body: SessionPatch, history: History) -> SessionOut:
    return history.update_session(session_id, body.notes, body.ended)
