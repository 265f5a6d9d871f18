"""Trials recorded with no patient confirmed on the rig (a demo, a quick check): listed, and
assigned to a patient's session afterwards (audited)."""

from __future__ import annotations

from fastapi import APIRouter

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic.history import SessionOut, TrialSummary
from gaitrig.web_ui.api_input import BodyId, ClosedInput, RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import Audit, History

router = APIRouter(prefix="/api/unassigned-trials", tags=["trials"])


class AssignIn(ClosedInput):
    """One of: the patient's session to put the trial in, or the patient (a new session at the
    trial's time)."""

    session_id: BodyId | None = None
    patient_id: BodyId | None = None


@router.get("", dependencies=[requires(Permission.VIEW_RECORDS)])
def unassigned_trials(history: History) -> list[TrialSummary]:
    """Trials that belong to no session, newest first."""
    return history.unassigned_trials()


@router.post("/{trial_id}/assign", dependencies=[requires(Permission.EDIT_RECORDS)])
def assign_trial(trial_id: RecordId, body: AssignIn, history: History, audit: Audit
                 ) -> SessionOut:
    """Put the trial in a patient's session; answers that session."""
    visit = history.assign_trial(trial_id, body.session_id, body.patient_id)
    audit("trial.assign", {"trial_id": trial_id, "session_id": visit.id,
                           "patient_id": visit.patient_id})
    return visit
