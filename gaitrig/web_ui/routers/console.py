"""What the therapist controls on the rig: patient, exercise, targets, feedback, trial, tare and
the insole calibration. Each call answers with the resulting state, or 409 with the reason when
it does not fit (a trial already running, a tare while someone leans on the bars...)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException
from pydantic import Field, model_validator

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic.history import AmputationLevel
from gaitrig.rig.clinic.visits import UnknownPatientError
from gaitrig.rig.live.controller import CalibrationResult
from gaitrig.rig.live.trial import TrialStateError
from gaitrig.rig.model import Exercise, PatientOnRig, Targets
from gaitrig.web_ui.api_input import ApiInput
from gaitrig.web_ui.auth import CurrentCaller, requires
from gaitrig.web_ui.deps import Audit, Controller

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
    except UnknownPatientError as exc:
        raise HTTPException(404, str(exc)) from exc


class PatientIn(ApiInput):
    display_name: str = Field(min_length=1, max_length=80,
                              description="What the patient's screen may show (first name).")
    body_mass_kg: float = Field(gt=20, lt=300)
    prosthetic_side: Literal["left", "right"]
    #: the records' list (gaitrig.rig.clinic.history)
    amputation_level: AmputationLevel | None = None
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
    mode: Literal["full", "faded", "off"] | None = Field(
        default=None, description="Feedback fading: every step's verdict, every n-th, none.")
    fade_every_n: int | None = Field(default=None, ge=1, le=20,
                                     description="Faded: the verdict of every n-th step.")


class TrialIn(ApiInput):
    exercise: Exercise | None = Field(default=None, strict=False,
                                      description="Default: the exercise chosen on the rig.")


class FootwearIn(ApiInput):
    footwear: str = Field(min_length=1, max_length=200,
                          description="The shoes worn, e.g. \"own trainers, left insole 42\".")


class MarkIn(ApiInput):
    note: str = Field(min_length=1, max_length=200)


def rig_state(controller: Any) -> dict[str, Any]:
    """The rig as the console shows it. ``controls_version`` is read first: a change made
    while this is built gives a newer version in the live message, and the console reads again.
    """
    version = controller.controls_version
    patient = controller.patient
    trial = controller.trial
    return {
        "controls_version": version,
        "server": {"instance": controller.server_instance,
                   "started_at": controller.started_at.isoformat(),
                   "interrupted_trial_ids": list(controller.interrupted_trial_ids)},
        "patient": {"display_name": patient.display_name, "body_mass_kg": patient.body_mass_kg,
                    "prosthetic_side": patient.prosthetic_side, "patient_id": patient.patient_id,
                    "amputation_level": patient.amputation_level},
        "exercise": controller.monitor.exercise.value,
        "targets": controller.monitor.targets.to_dict(patient.body_mass_kg),
        "feedback": controller.feedback.to_dict(),
        "trial": None if trial is None else {
            "id": trial.trial_id, "state": trial.state.value, "exercise": trial.exercise.value,
            "marks": [{"elapsed_s": round(m.elapsed_s, 2), "note": m.note}
                      for m in list(trial.marks)]},
        "last_summary": controller.last_summary,
        "session": None if controller.visit is None else {
            "id": controller.visit.id, "patient_id": controller.visit.patient_id,
            "clinician_id": controller.visit.clinician_id,
            "started_at": controller.visit.started_at.isoformat()},
        "footwear": controller.footwear,
        "footwear_last": controller.footwear_last,
        "standing_phases_captured": sorted(controller.standing_phases),
        # Per board: the calibration in use (kind, calibrated_at UTC, age_s, by) or "none".
        "boards_calibration": controller.board_calibration_status(),
    }


def calibration_answer(result: CalibrationResult) -> dict[str, Any]:
    return {"accepted": result.accepted, "reason": result.reason, "method": result.method}


def with_boards(answer: dict[str, Any], controller: Any) -> dict[str, Any]:
    """A calibration's answer (as audited) with every board's calibration now in use."""
    return {**answer, "boards_calibration": controller.board_calibration_status()}


class KnownWeightIn(ApiInput):
    """A known weight on the bars: on one post, or hanging on one whole bar."""

    mass_kg: float = Field(gt=0, le=200, description="The weight's mass, kg.")
    post: int | None = Field(default=None, ge=0, le=3,
                             description="The post it rests on alone: 0 left front, 1 left "
                                         "rear, 2 right front, 3 right rear.")
    bar: Literal["left", "right"] | None = Field(
        default=None, description="Instead of a post: the bar it hangs on (both posts scaled "
                                  "together).")

    @model_validator(mode="after")
    def post_or_bar(self) -> KnownWeightIn:
        if (self.post is None) == (self.bar is None):
            raise ValueError("give either post (0-3) or bar ('left' or 'right')")
        return self


@router.get("")
def get_rig(controller: Controller) -> dict[str, Any]:
    """The rig's settings and trial, as the console shows them."""
    return rig_state(controller)


@router.put("/patient")
def put_patient(body: PatientIn, controller: Controller, audit: Audit, caller: CurrentCaller
                ) -> dict[str, Any]:
    """Confirm the patient on the rig; one from the records opens (or resumes) today's
    session with the calling clinician."""
    with refusals():
        controller.set_patient(PatientOnRig(**body.model_dump()), caller.clinician_id)
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
def start_trial(body: TrialIn, controller: Controller, caller: CurrentCaller) -> dict[str, Any]:
    """Start a trial, stored in the open session (none: unassigned) with the caller as its
    clinician and the confirmed footwear."""
    _control(controller, lambda: controller.start_trial(body.exercise, caller.clinician_id))
    return rig_state(controller)


@router.put("/footwear")
def put_footwear(body: FootwearIn, controller: Controller) -> dict[str, Any]:
    """The shoes the patient wears, stored with every trial from now on."""
    _control(controller, lambda: controller.set_footwear(body.footwear.strip()))
    return rig_state(controller)


@router.post("/session/end")
def end_session(controller: Controller, audit: Audit) -> dict[str, Any]:
    """End the open session (at its last trial's end)."""
    ended = _control(controller, controller.end_session)
    if ended is not None:
        audit("session.end", {"session_id": ended.id})
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
def tare(controller: Controller, audit: Audit, caller: CurrentCaller) -> dict[str, Any]:
    """Zero the bars. Nobody may touch them: refused, with the reason, if the signal moves.
    Accepted, it is stored for the bars board (its serial number) with the caller."""
    answer = calibration_answer(controller.tare(caller.clinician_id))
    audit("calibration.tare", answer)
    return with_boards(answer, controller)


@router.post("/calibration/bars")
def calibrate_bars(body: KnownWeightIn, controller: Controller, audit: Audit,
                   caller: CurrentCaller) -> dict[str, Any]:
    """A post's (or a bar's) gain from a known weight resting on it, measured over the last
    second, after a tare with the bars empty; accepted (stored for the bars board with the
    caller) or refused with the reason."""
    result = controller.calibrate_bars(body.mass_kg, post=body.post, bar=body.bar,
                                       clinician_id=caller.clinician_id)
    answer = calibration_answer(result)
    gains = result.calibration.bars.newtons_per_count
    answer["newtons_per_count"] = [float(g) for g in gains]  # the posts' gains now, N/count
    audit("calibration.known_weight", {**answer, **body.model_dump()})
    return with_boards(answer, controller)


class PhaseIn(ApiInput):
    phase: Literal["both", "left", "right"] | None = Field(
        description="The posture asked of the patient now; null: the calibration is over.")


@router.put("/calibration/insoles/asked")
def ask_phase(body: PhaseIn, controller: Controller) -> dict[str, Any]:
    """Ask the patient for a calibration posture: the patient's screen says it in words."""
    controller.ask_standing_phase(body.phase)
    return {"phase": controller.calibration_phase}


@router.post("/calibration/insoles/{phase}")
def capture_phase(phase: Literal["both", "left", "right"], controller: Controller
                  ) -> dict[str, Any]:
    """Capture the last 2 s of a standing phase (on both feet, on the left, on the right) and
    check it at once: ``accepted``, or refused with the ``reason``; only a refused phase needs
    repeating (``captured``: the phases kept, ``missing``: still to do)."""
    return _control(controller, lambda: controller.capture_standing_phase(phase))


@router.post("/calibration/insoles")
def calibrate_insoles(controller: Controller, audit: Audit, caller: CurrentCaller
                      ) -> dict[str, Any]:
    """Scale each insole from the three captured phases; accepted (stored for both insoles
    with the caller) or refused with the reason. Refused because of one phase, ``repeat_phase``
    names it (the others are kept); refused as a whole, it is null and every phase is to do."""
    result = _control(controller, lambda: controller.calibrate_insoles(caller.clinician_id))
    answer = {**calibration_answer(result), "repeat_phase": result.repeat_phase}
    audit("calibration.body_weight", {**answer, "body_mass_kg": controller.patient.body_mass_kg})
    return with_boards({**answer, "captured": sorted(controller.standing_phases)}, controller)
