"""Trials: start, stop, list."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import Field

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.records import TrialOut
from gaitrig.web_ui.api_input import ApiInput, RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import AppSettings, ClinicRecords

router = APIRouter(prefix="/api/trials", tags=["trials"])
READ, CONTROL = [requires(Permission.VIEW_RECORDS)], [requires(Permission.CONTROL_RIG)]


class TrialStart(ApiInput):
    exercise: Literal["walking", "standing", "weight_shift"] = Field(
        description="The exercise the trial records.")


@router.post("", status_code=201, dependencies=CONTROL)
def start_trial(body: TrialStart, records: ClinicRecords, settings: AppSettings) -> TrialOut:
    return records.start_trial(settings.rig_id, body.exercise)


@router.post("/{trial_id}/stop", dependencies=CONTROL)
def stop_trial(trial_id: RecordId, records: ClinicRecords) -> TrialOut:
    trial = records.stop_trial(trial_id)
    if trial is None:
        raise HTTPException(404, f"no trial {trial_id}")
    return trial


@router.get("", dependencies=READ)
def list_trials(records: ClinicRecords) -> list[TrialOut]:
    return records.list_trials()
