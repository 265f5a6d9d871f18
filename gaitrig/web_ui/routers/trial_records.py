"""A recorded trial as the history shows it: details, steps, load curves for plotting."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic.exercise_results import exercise_results
from gaitrig.rig.clinic.history import StepOut, TrialDetail
from gaitrig.rig.clinic.load_curves import MIN_POINTS, LoadCurves, StanceCurves
from gaitrig.web_ui.api_input import RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import History

router = APIRouter(prefix="/api/trials", tags=["trials"],
                   dependencies=[requires(Permission.VIEW_RECORDS)])


@router.get("/{trial_id}")
def trial_detail(trial_id: RecordId, history: History) -> TrialDetail:
    """Setup, boards, metrics, alarms and how much was recorded."""
    return history.trial_detail(trial_id)


@router.get("/{trial_id}/results")
def trial_results(trial_id: RecordId, history: History) -> dict[str, Any]:
    """The trial's exercise's own figures (``gaitrig.rig.clinic.exercise_results``): label, unit,
    value and text each; for quiet standing the 95 % prediction ellipse and the CoP trace to draw
    it."""
    trial = history.trial_detail(trial_id)
    return {"trial_id": trial.id, "analysed": trial.metrics is not None,
            **exercise_results(trial.exercise, None if trial.metrics is None
                               else trial.metrics.summary)}


@router.get("/{trial_id}/steps")
def trial_steps(trial_id: RecordId, history: History) -> list[StepOut]:
    """Every step: foot, gait events (s from the trial's start) and metrics."""
    return history.trial_steps(trial_id)


@router.get("/{trial_id}/curves")
def trial_curves(trial_id: RecordId, history: History,
                 max_points: Annotated[int, Query(ge=MIN_POINTS, le=20_000)] = 2000
                 ) -> LoadCurves:
    """Per-foot and per-bar load (% BW) and each foot's CoP (mm) over time (s), downsampled
    to at most ``max_points`` recorded samples."""
    return history.trial_curves(trial_id, max_points)


@router.get("/{trial_id}/stance-curves")
def trial_stance_curves(trial_id: RecordId, history: History,
                        side: Literal["prosthetic", "sound"] = "prosthetic",
                        points: Annotated[int, Query(ge=11, le=1001)] = 101) -> StanceCurves:
    """The load (% BW) under one foot through each step, on % of stance, and the mean step."""
    return history.trial_stance_curves(trial_id, side, points)
