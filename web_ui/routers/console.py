"""What the therapist controls on the rig: patient, exercise, targets, feedback, trial, tare and
the insole calibration. Each call answers with the resulting state, or 409 with the reason when
it does not fit (a trial already running, a tare while someone leans on the bars...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException
from pydantic import Field, model_validator

from rig.controller import CalibrationResult
from rig.live_message import PatientOnRig
from rig.permissions import Permission
from rig.targets import Exercise, Targets
from rig.trial import TrialStateError
from web_ui.api_input import ApiInput
from web_ui.auth import requires
from web_ui.deps import Audit, Controller

router = APIRouter(prefix="/api/rig", tags=["console"],
                   dependencies=[requires(Permission.CONTROL_RIG)])
T = TypeVar("T")


@contextmanager
def refusals() -> Iterator[None]:
    """A control that does not fit the rig's state is a 409 with the reason, not a 500."""
    try:
        yield
    except TrialStateError as exc:
        raise HTTPException(409, str(exc)) from exc


class PatientIn(ApiInput):
    display_name: str = Field(min_length=1, max_length=80,
                              description="What the patient's screen may show (first name).")
    body_mass_kg: float = Field(gt=20, lt=300)
    prosthetic_side: Literal["left", "right"]
    amputation_level: Literal["transtibial", "transfemoral", "other"] | None = None
    patient_id: int | None = None


class TargetsIn(ApiInput):
    """Targets in the unit the therapist chose: ``kg`` of load or ``pct_bw``."""

    unit: Literal["pct_bw", "kg"] = "pct_bw"
    band_low: float = Field(ge=0, description="Low end of the prosthetic-limb load band.")
    band_high: float = Field(ge=0, description="High end of the band.")
    limit: float | None = Field(default=None, ge=0,
                                description="Safety limit: the load must not exceed it.")
    max_hand_support: float | None = Field(default=None, gt=0,
                                           description="Most load on both bars together.")
    shift_period_s: float = Field(default=5.0, gt=0, le=60,
                                  description="Weight shift: the band changes leg this often.")

    @model_validator(mode="after")
    def band_in_order(self) -> TargetsIn:
        if self.band_low > self.band_high:
            raise ValueError("band_low must not be above band_high")
        if self.limit is not None and self.limit < self.band_high:
            raise ValueError("limit must not be below band_high")
        return self


class ExerciseIn(ApiInput):
    exercise: Exercise = Field(strict=False)


class FeedbackIn(ApiInput):
    visual: bool | None = None
    tone: bool | None = None
    counter: bool | None = None
    muted: bool | None = None
    volume_pct: int | None = Field(default=None, ge=0, le=100)


class TrialIn(ApiInput):
    exercise: Exercise | None = Field(default=None, strict=False,
                                      description="Default: the exercise chosen on the rig.")


class MarkIn(ApiInput):
    note: str = Field(min_length=1, max_length=200)


def rig_state(controller: Any) -> dict[str, Any]:
    patient = controller.patient
    trial = controller.trial
    return {
        "patient": {"display_name": patient.display_name, "body_mass_kg": patient.body_mass_kg,
                    "prosthetic_side": patient.prosthetic_side, "patient_id": patient.patient_id,
                    "amputation_level": patient.amputation_level},
        "exercise": controller.monitor.exercise.value,
        "targets": controller.monitor.targets.to_dict(patient.body_mass_kg),
        "feedback": controller.feedback.to_dict(),
        "trial": None if trial is None else {"id": trial.trial_id, "state": trial.state.value,
                                             "exercise": trial.exercise.value},
        "last_summary": controller.last_summary,
        "standing_phases_captured": sorted(controller.standing_phases),
    }


def calibration_answer(result: CalibrationResult) -> dict[str, Any]:
    return {"accepted": result.accepted, "reason": result.reason, "method": result.method}


@router.get("")
def get_rig(controller: Controller) -> dict[str, Any]:
    """The rig's settings and trial, as the console shows them."""
    return rig_state(controller)


@router.put("/patient")
def put_patient(body: PatientIn, controller: Controller, audit: Audit) -> dict[str, Any]:
    with refusals():
        controller.set_patient(PatientOnRig(**body.model_dump()))
    audit("rig.patient", body.model_dump(exclude={"display_name"}))  # no name in the log
    return rig_state(controller)


@router.put("/exercise")
def put_exercise(body: ExerciseIn, controller: Controller) -> dict[str, Any]:
    with refusals():
        controller.set_exercise(body.exercise)
    return rig_state(controller)


@router.put("/targets")
def put_targets(body: TargetsIn, controller: Controller, audit: Audit) -> dict[str, Any]:
    mass = controller.patient.body_mass_kg
    try:
        if body.unit == "kg":
            targets = Targets.from_kg(mass, body.band_low, body.band_high, body.limit,
                                      body.max_hand_support, body.shift_period_s)
        else:
            targets = Targets(body.band_low, body.band_high, body.limit, body.max_hand_support,
                              "pct_bw", body.shift_period_s)
    except ValueError as exc:
        raise HTTPException(422, f"targets: {exc}") from exc
    controller.set_targets(targets)
    audit("rig.targets", body.model_dump())
    return rig_state(controller)


@router.put("/feedback")
def put_feedback(body: FeedbackIn, controller: Controller) -> dict[str, Any]:
    controller.set_feedback(**body.model_dump(exclude_none=True))
    return rig_state(controller)


def _control(controller: Any, action: Callable[[], T]) -> T:
    with refusals():
        return action()


@router.post("/trial", status_code=201)
def start_trial(body: TrialIn, controller: Controller) -> dict[str, Any]:
    _control(controller, lambda: controller.start_trial(body.exercise))
    return rig_state(controller)


@router.post("/trial/pause")
def pause_trial(controller: Controller) -> dict[str, Any]:
    _control(controller, controller.pause_trial)
    return rig_state(controller)


@router.post("/trial/resume")
def resume_trial(controller: Controller) -> dict[str, Any]:
    _control(controller, controller.resume_trial)
    return rig_state(controller)


@router.post("/trial/stop")
def stop_trial(controller: Controller) -> dict[str, Any]:
    """Stop the trial; answers with its summary (also kept as ``last_summary``)."""
    return _control(controller, controller.stop_trial)


@router.post("/trial/mark", status_code=201)
def mark(body: MarkIn, controller: Controller) -> dict[str, Any]:
    return _control(controller, lambda: controller.mark(body.note))


@router.post("/tare")
def tare(controller: Controller, audit: Audit) -> dict[str, Any]:
    """Zero the bars. Nobody may touch them: refused, with the reason, if the signal moves."""
    answer = calibration_answer(controller.tare())
    audit("calibration.tare", answer)
    return answer


@router.post("/calibration/insoles/{phase}")
def capture_phase(phase: Literal["both", "left", "right"], controller: Controller
                  ) -> dict[str, Any]:
    """Capture the last 2 s of a standing phase: on both feet, on the left, on the right."""
    return _control(controller, lambda: controller.capture_standing_phase(phase))


@router.post("/calibration/insoles")
def calibrate_insoles(controller: Controller, audit: Audit) -> dict[str, Any]:
    """Scale each insole from the three captured phases; accepted or refused with the reason."""
    answer = calibration_answer(_control(controller, controller.calibrate_insoles))
    audit("calibration.body_weight", {**answer, "body_mass_kg": controller.patient.body_mass_kg})
    return answer
