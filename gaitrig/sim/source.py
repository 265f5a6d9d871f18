"""The virtual rig as the controller's board source (``gaitrig.rig.live.board_source``): its
boards on pseudo-terminals, the nominal calibration the real boards start with, and a patient who
does the chosen exercise, follows the targets (when asked to) and takes the posture a
calibration asks for."""

from __future__ import annotations

from typing import Any

from gaitrig.processing.calibration import nominal_calibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.sim.rig import VirtualRig

#: What the virtual patient does for each exercise (by ``Exercise`` value).
ACTIVITY_FOR_EXERCISE = {"quiet_standing": "standing", "weight_shift": "weight_shift",
                         "walking": "walking", "partial_weight_bearing": "walking",
                         "sit_to_stand": "sit_to_stand"}
#: What the virtual patient does when the insole calibration asks for a phase.
ACTIVITY_FOR_PHASE = {"both": "standing", "left": "standing_on_left",
                      "right": "standing_on_right"}


class VirtualBoards:
    """The virtual rig behind the controller. ``follows_targets``: the patient's steps are drawn
    around the band the therapist sets (demo mode); ``follows_postures``: the patient takes the
    posture a calibration asks for (False: one who does not, for tests of the refusals)."""

    def __init__(self, body_mass_kg: float, prosthetic_side: str, activity: str = "walking",
                 insole_rate_hz: int = 1000, insole_sensors: int = 8,
                 follows_targets: bool = False) -> None:
        self._options: dict[str, Any] = {"body_mass_kg": body_mass_kg,
                                         "prosthetic_side": prosthetic_side,
                                         "activity": activity, "insole_rate_hz": insole_rate_hz}
        self.insole_sensors = insole_sensors
        self.follows_targets = follows_targets
        self.follows_postures = True
        self.virtual_rig: VirtualRig | None = None

    def start(self, layout: RigLayout) -> list[str]:
        self.virtual_rig = VirtualRig(
            insole_positions_mm={"left": layout.left.positions_mm,
                                 "right": layout.right.positions_mm},
            bar_posts_mm=(layout.bars.rear_post_mm, layout.bars.front_post_mm), **self._options)
        self.virtual_rig.start()
        return list(self.virtual_rig.ports.values())

    def nominal_calibration(self) -> dict[str, list[dict[str, Any]]]:
        return nominal_calibration(self.insole_sensors)

    def stop(self) -> None:
        if self.virtual_rig is not None:
            self.virtual_rig.stop()

    def exercise_chosen(self, exercise: str) -> None:
        if self.virtual_rig is not None:
            self.virtual_rig.set_activity(ACTIVITY_FOR_EXERCISE[exercise])

    def targets_set(self, band_low_pct_bw: float, band_high_pct_bw: float,
                    limit_pct_bw: float | None, shift_period_s: float) -> None:
        if self.virtual_rig is not None and self.follows_targets:
            self.virtual_rig.follow_targets(band_low_pct_bw, band_high_pct_bw, limit_pct_bw,
                                            shift_period_s)

    def posture_asked(self, phase: str | None, exercise: str) -> None:
        if self.virtual_rig is not None and self.follows_postures:
            self.virtual_rig.set_activity(ACTIVITY_FOR_PHASE[phase] if phase is not None
                                          else ACTIVITY_FOR_EXERCISE[exercise])
