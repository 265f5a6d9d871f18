"""The live message the server sends to every browser (version 2, see docs/live-protocol.md).

Field names carry their units: ``_n`` newtons, ``_pct_bw`` % of body weight, ``_share_pct`` % of
the total measured load, ``_mm`` millimetres (insole frame for CoP, along the bar for hands),
``_s`` seconds on the host's monotonic clock, ``_us`` microseconds on a board's clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gaitrig.processing.compliance import shown_on_step
from gaitrig.rig.model import Alarm, Exercise, PatientOnRig, Side, Targets

if TYPE_CHECKING:
    from gaitrig.rig.live.trial import LiveTrial

LIVE_MESSAGE_VERSION = 2
LOAD_NAMES = ("left_foot", "right_foot", "left_bar", "right_bar")
#: How many of the newest steps the message lists.
LAST_STEPS = 8
#: The sources a board's silence makes unavailable: the live message's ``<source>_unavailable``.
SOURCES = ("left_foot", "right_foot", "bars")
#: The load names each source's values come from.
SOURCE_LOADS = {"left_foot": ("left_foot",), "right_foot": ("right_foot",),
                "bars": ("left_bar", "right_bar")}


#: Feedback fading modes (:attr:`Feedback.mode`).
FEEDBACK_MODES = ("full", "faded", "off")


@dataclass(frozen=True, slots=True)
class Feedback:
    """What the patient's screen gives: the visual bar, the tone, the good-step counter."""

    visual: bool = True
    tone: bool = True
    counter: bool = True
    muted: bool = False  # the therapist silenced the tone from the tablet
    volume_pct: int = 60
    #: Feedback fading (issue 13): ``full`` every step's verdict is shown; ``faded`` only every
    #: ``fade_every_n``-th prosthetic step's; ``off`` none (the STOP alarm always shows).
    mode: str = "full"
    fade_every_n: int = 2

    def shown_on_step(self, index: int) -> bool:
        """Whether the display gives the verdict of prosthetic step ``index`` (1-based)."""
        return shown_on_step(self.mode, self.fade_every_n, index)

    def to_dict(self) -> dict[str, Any]:
        return {"visual": self.visual, "tone": self.tone, "counter": self.counter,
                "muted": self.muted, "volume_pct": self.volume_pct, "mode": self.mode,
                "fade_every_n": self.fade_every_n}


@dataclass(frozen=True, slots=True)
class RigView:
    """Everything besides the loads that the screens show."""

    rig_id: str
    patient: PatientOnRig
    exercise: Exercise
    targets: Targets
    band_side: Side
    alarms: list[Alarm]
    feedback: Feedback
    trial: LiveTrial | None
    milestone: dict[str, Any] | None
    live_rig: bool = True  # False on a history server (rig serve --no-devices): no boards
    server_instance: str = ""  # this start of the server (changes when it restarts)
    controls_version: int = 0  # +1 whenever a control changes what the consoles show
    calibration_phase: str | None = None  # the insole calibration's posture asked now


def number(value: float, digits: int = 2) -> float | None:
    """A JSON-safe number: rounded, and None (null) instead of NaN or infinity."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def point(x: float, y: float) -> list[float] | None:
    px, py = number(x, 1), number(y, 1)
    return None if px is None or py is None else [px, py]


@dataclass(frozen=True, slots=True)
class LoadSnapshot:
    """The newest processed sample (forces in N, positions in mm, NaN where undefined)."""

    sample_time_s: float
    force_n: tuple[float, float, float, float]  # left foot, right foot, left bar, right bar
    pct_bw: tuple[float, float, float, float]  # the same four, % body weight
    share_pct: tuple[float, float, float, float]  # the same four, % of the total measured load
    left_cop_mm: tuple[float, float]
    right_cop_mm: tuple[float, float]
    left_hand_position_mm: float
    right_hand_position_mm: float


def live_message(
    seq: int,
    server_time_s: float,
    view: RigView,
    load: LoadSnapshot | None,
    devices: list[dict[str, Any]],
    frame_seq: dict[str, int],
    device_time_us: dict[str, int],
    recording: dict[str, Any] | None = None,
    unavailable: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The message; ``recording`` is the recorder's status (:meth:`TrialRecorder.status`);
    ``unavailable``: source (:data:`SOURCES`) -> why its values are not live (a stale board):
    those values are null, never the held ones, and so are the totals and shares."""
    unavailable = unavailable or {}
    patient, targets = view.patient, view.targets
    band = [targets.band_low_pct_bw, targets.band_high_pct_bw]
    limit_side = patient.prosthetic_side
    trial = view.trial
    message: dict[str, Any] = {
        "type": "live",
        "version": LIVE_MESSAGE_VERSION,
        "seq": seq,
        "server_time_s": round(server_time_s, 6),
        "sample_time_s": None if load is None else round(load.sample_time_s, 6),
        "rig_id": view.rig_id,
        "live_rig": view.live_rig,
        "server_instance": view.server_instance,
        "controls_version": view.controls_version,
        "calibration_phase": view.calibration_phase,
        "patient": {"display_name": patient.display_name, "body_mass_kg": patient.body_mass_kg,
                    "prosthetic_side": patient.prosthetic_side},
        "body_weight_n": number(patient.body_weight_n),
        "exercise": view.exercise.value,
        "targets": targets.to_dict(patient.body_mass_kg),
        "target_band_pct_bw": band,
        "band_side": view.band_side,
        "left_band_pct_bw": band if view.band_side == "left" else None,
        "right_band_pct_bw": band if view.band_side == "right" else None,
        "left_limit_pct_bw": targets.limit_pct_bw if limit_side == "left" else None,
        "right_limit_pct_bw": targets.limit_pct_bw if limit_side == "right" else None,
        "alarm": {"active": bool(view.alarms), "kinds": [a.kind for a in view.alarms],
                  "since_s": min((round(a.start_s, 4) for a in view.alarms), default=None)},
        "feedback": view.feedback.to_dict(),
        "trial": None if trial is None else {
            "id": trial.trial_id, "state": trial.state.value, "exercise": trial.exercise.value,
            "elapsed_s": round(trial.elapsed_s(server_time_s), 2)},
        "steps": None if trial is None else {
            "total": trial.steps.total, "on_target": trial.steps.on_target,
            "streak": trial.steps.streak, "best_streak": trial.steps.best_streak,
            "last": [s.to_dict() for s in trial.steps.last(LAST_STEPS)],
            "judged": None if (judged := trial.steps.last_judged()) is None
            else judged.judged()},
        "milestone": view.milestone,
        "devices": devices,
        "frame_seq": frame_seq,
        "device_time_us": device_time_us,
        "recording": recording,
    }
    for source in SOURCES:
        message[f"{source}_unavailable"] = unavailable.get(source)
    if load is None:
        return message
    for i, name in enumerate(LOAD_NAMES):
        message[f"{name}_n"] = number(load.force_n[i])
        message[f"{name}_pct_bw"] = number(load.pct_bw[i])
        message[f"{name}_share_pct"] = number(load.share_pct[i])
    message["total_n"] = number(sum(load.force_n))
    message["bars_pct_bw"] = number(load.pct_bw[2] + load.pct_bw[3])
    message["left_cop_mm"] = point(*load.left_cop_mm)
    message["right_cop_mm"] = point(*load.right_cop_mm)
    message["left_hand_position_mm"] = number(load.left_hand_position_mm, 1)
    message["right_hand_position_mm"] = number(load.right_hand_position_mm, 1)
    low, high = band
    for i, side in enumerate(("left", "right")):
        value = load.pct_bw[i]
        message[f"{side}_in_band"] = (bool(low <= value <= high) if side == view.band_side
                                      and math.isfinite(value) else None)
    if unavailable:  # a stale board's held values are not shown as live
        for source in unavailable:
            for name in SOURCE_LOADS[source]:
                message[f"{name}_n"] = message[f"{name}_pct_bw"] = None
        for name in LOAD_NAMES:
            message[f"{name}_share_pct"] = None
        message["total_n"] = None
        for side in ("left", "right"):
            if f"{side}_foot" in unavailable:
                message[f"{side}_cop_mm"] = message[f"{side}_in_band"] = None
        if "bars" in unavailable:
            message["bars_pct_bw"] = None
            message["left_hand_position_mm"] = message["right_hand_position_mm"] = None
    return message
