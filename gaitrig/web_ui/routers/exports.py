"""Downloads: a trial's raw samples and steps (CSV) and C3D; PDF reports per session and per
patient; the plain-language guide to the metrics the pages and reports show, and the
amputation levels every patient form offers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic import exports
from gaitrig.rig.clinic.history import LevelChoice, amputation_levels
from gaitrig.rig.clinic.metric_guide import GUIDE, MetricGuide
from gaitrig.web_ui.api_input import RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import History

router = APIRouter(prefix="/api", tags=["exports"],
                   dependencies=[requires(Permission.VIEW_RECORDS)])
BoardRole = Literal["insole_left", "insole_right", "bars"]


def _download(export: exports.Export) -> StreamingResponse:
    return StreamingResponse(export.parts, media_type=export.media_type, headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"'})


@router.get("/trials/{trial_id}/export/raw.csv")
def raw_csv(trial_id: RecordId, history: History, role: BoardRole = "insole_left"
            ) -> StreamingResponse:
    """One board's raw frames: host time (s), sequence, board time (µs), counts per channel."""
    return _download(exports.raw_csv(history, trial_id, role))


@router.get("/trials/{trial_id}/export/steps.csv")
def steps_csv(trial_id: RecordId, history: History) -> StreamingResponse:
    """One row per step: gait events (s), peak load (% BW) and every per-step metric."""
    return _download(exports.steps_csv(history, trial_id))


@router.get("/trials/{trial_id}/export/trial.c3d")
def trial_c3d(trial_id: RecordId, history: History) -> StreamingResponse:
    """The trial for gait-analysis software: analog channels (N, mm, counts) and gait events."""
    return _download(exports.c3d_file(history, trial_id))


@router.get("/sessions/{session_id}/report.pdf")
def session_report(session_id: RecordId, history: History) -> StreamingResponse:
    return _download(exports.session_report(history, session_id))


@router.get("/patients/{patient_id}/report.pdf")
def patient_report(patient_id: RecordId, history: History) -> StreamingResponse:
    return _download(exports.patient_report(history, patient_id))


@router.get("/metric-guide")
def metric_guide() -> list[MetricGuide]:
    """Each progress metric: label, unit, which way is better, and a plain explanation."""
    return list(GUIDE)


@router.get("/amputation-levels")
def levels() -> list[LevelChoice]:
    """The amputation levels the records keep, with their words: the console's patient form and
    the records pages offer this one list."""
    return amputation_levels()
