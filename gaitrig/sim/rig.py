"""The virtual rig: one virtual patient, a bars board and two insole boards on pseudo-terminals.

All three boards share one host time base (``time.monotonic()``) and the one
:class:`~gaitrig.sim.patient.PatientModel`; each reads its sensors through the sensor physics
of :mod:`gaitrig.sim.sensors`. The host talks to them through :attr:`VirtualRig.ports`
exactly as it talks to real boards.

The rig layer hands in the sensor layouts (insole sensor positions per foot, bar post positions):
``drivers`` never reads the layout files itself.
"""

from __future__ import annotations

import time
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from gaitrig.processing.units import STANDARD_GRAVITY
from gaitrig.sim.boards import CountsSource, VirtualBarsBoard, VirtualBoard, VirtualInsoleBoard
from gaitrig.sim.patient import (
    GaitEvent,
    GaitParameters,
    GroundTruth,
    PatientModel,
    Repetition,
    SitToStandParameters,
    StepPeak,
    TargetResponse,
    generic_insole_positions_mm,
)
from gaitrig.sim.sensors import (
    FsrChannels,
    FsrParameters,
    LoadCellChannels,
    LoadCellParameters,
    fsr_nominal_calibration,
    load_cell_nominal_calibration,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Role names, as in ``BoardRole[...].name.lower()``.
ROLE_NAMES = ("bars", "insole_left", "insole_right")
_Params = TypeVar("_Params", FsrParameters, LoadCellParameters)


class VirtualRig:
    """A whole simulated rig. ``start()`` powers the boards on; the host then opens ``ports``.

    ``insole_positions_mm``: {"left": (k, 2), "right": (k, 2)} sensor positions, mm, insole frame
    (default: the generic 8-sensor EU 42 layout). ``bar_posts_mm``: (rear, front) post positions
    along each bar, mm. ``clock_offsets_us``/``clock_drifts_ppm`` (per role name) set the boards'
    clocks; by default they are seeded: offsets within the first 10 s, drifts within ±50 ppm.
    ``noise=False`` gives noiseless ADC and amplifier readings. ``gait`` and ``sit_to_stand``
    set how the patient walks and rises (:mod:`gaitrig.sim.patient`).
    """

    def __init__(
        self,
        body_mass_kg: float = 75.0,
        prosthetic_side: str = "left",
        activity: str = "walking",
        insole_positions_mm: dict[str, FloatArray] | None = None,
        bar_posts_mm: tuple[float, float] = (250.0, 2750.0),
        insole_rate_hz: int = 1000,
        seed: int = 0,
        noise: bool = True,
        *,
        gait: GaitParameters | None = None,
        sit_to_stand: SitToStandParameters | None = None,
        fsr: FsrParameters | None = None,
        load_cells: LoadCellParameters | None = None,
        clock_offsets_us: dict[str, int] | None = None,
        clock_drifts_ppm: dict[str, float] | None = None,
        burst_s: float = 0.002,
    ) -> None:
        positions = insole_positions_mm or generic_insole_positions_mm(8)
        counts = {side: int(np.asarray(positions[side]).shape[0]) for side in ("left", "right")}
        if counts["left"] != counts["right"]:
            raise ValueError(f"both insoles need the same sensor count, got {counts}")
        self.start_s = time.monotonic()
        self.patient = PatientModel(body_mass_kg, prosthetic_side, activity, positions,
                                    bar_posts_mm, seed=seed, start_s=self.start_s, gait=gait,
                                    sit_to_stand=sit_to_stand)
        fsr = fsr or FsrParameters()
        load_cells = load_cells or LoadCellParameters()
        if not noise:
            fsr = _without_noise(fsr)
            load_cells = _without_noise(load_cells)
        self.fsr = {side: FsrChannels(counts[side], fsr, seed=seed * 10 + i)
                    for i, side in enumerate(("left", "right"))}
        self.load_cells = LoadCellChannels(load_cells, seed=seed)
        #: Test weights resting on the bar posts (N per post, channel order): place_weight().
        self.placed_weights_n = np.zeros(4)

        rng = np.random.default_rng([seed, 7])
        offsets = {role: int(rng.integers(0, 10_000_000)) for role in ROLE_NAMES}
        drifts = {role: float(rng.uniform(-50.0, 50.0)) for role in ROLE_NAMES}
        offsets.update(clock_offsets_us or {})
        drifts.update(clock_drifts_ppm or {})

        self.bars = VirtualBarsBoard(
            self._read_bar_counts, clock_offset_us=offsets["bars"], drift_ppm=drifts["bars"],
            burst_s=burst_s, boot_s=self.start_s)
        self.insole_left = VirtualInsoleBoard(
            "left", self._insole_reader("left"), channel_count=counts["left"],
            rate_hz=insole_rate_hz, clock_offset_us=offsets["insole_left"],
            drift_ppm=drifts["insole_left"], burst_s=burst_s, boot_s=self.start_s)
        self.insole_right = VirtualInsoleBoard(
            "right", self._insole_reader("right"), channel_count=counts["right"],
            rate_hz=insole_rate_hz, clock_offset_us=offsets["insole_right"],
            drift_ppm=drifts["insole_right"], burst_s=burst_s, boot_s=self.start_s)

    # -- boards ----------------------------------------------------------------------------------

    @property
    def boards(self) -> dict[str, VirtualBoard]:
        """Role name -> board."""
        return {"bars": self.bars, "insole_left": self.insole_left,
                "insole_right": self.insole_right}

    @property
    def ports(self) -> dict[str, str]:
        """Role name -> pseudo-terminal path to open with pyserial."""
        return {role: board.port for role, board in self.boards.items()}

    def replug(self, role: str) -> str:
        """Pull the cable of the board ``role`` and plug it back in: the old pseudo-terminal
        vanishes, a fresh board (same role, rate, clock and sensors; sequence numbers from 0)
        boots on a new one, whose path is returned."""
        old = self.boards[role]
        old.unplug()
        options: dict[str, Any] = {"clock_offset_us": old.clock_offset_us,
                                   "drift_ppm": old.drift_ppm, "burst_s": old.burst_s,
                                   "boot_s": old.boot_s, "rate_hz": old.rate_hz}
        board: VirtualBoard
        if role == "bars":
            board = self.bars = VirtualBarsBoard(self._read_bar_counts, **options)
        else:
            side = role.removeprefix("insole_")
            board = VirtualInsoleBoard(side, self._insole_reader(side),
                                       channel_count=old.channel_count, **options)
            setattr(self, role, board)
        board.power_on()
        return board.port

    def start(self) -> None:
        """Power the boards on (each sends HELLO once and waits for the host's commands)."""
        for board in self.boards.values():
            board.power_on()

    def stop(self) -> None:
        """Power the boards off and remove their pseudo-terminals."""
        for board in self.boards.values():
            board.close()

    def __enter__(self) -> VirtualRig:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- calibration -----------------------------------------------------------------------------

    def nominal_calibration(self) -> dict[str, list[dict[str, Any]]]:
        """Datasheet calibration per role name: one plain dict per channel, in channel order."""
        return {"bars": self.load_cells.nominal_calibration(),
                "insole_left": self.fsr["left"].nominal_calibration(),
                "insole_right": self.fsr["right"].nominal_calibration()}

    def true_calibration(self) -> dict[str, list[dict[str, Any]]]:
        """What the simulated sensors really do (equal to nominal without per-unit variation)."""
        return {"bars": self.load_cells.true_calibration(),
                "insole_left": self.fsr["left"].true_calibration(),
                "insole_right": self.fsr["right"].true_calibration()}

    @staticmethod
    def nominal_calibration_for(insole_sensors: int = 8, fsr: FsrParameters | None = None,
                                load_cells: LoadCellParameters | None = None
                                ) -> dict[str, list[dict[str, Any]]]:
        """The nominal calibration of a rig with ``insole_sensors`` per insole, without a rig."""
        return {"bars": load_cell_nominal_calibration(load_cells),
                "insole_left": fsr_nominal_calibration(insole_sensors, fsr),
                "insole_right": fsr_nominal_calibration(insole_sensors, fsr)}

    # -- the patient ------------------------------------------------------------------------------

    def ground_truth(self, t_s: npt.ArrayLike) -> GroundTruth:
        """What the patient did at host times ``t_s`` (s)."""
        return self.patient.sample(t_s)

    def events_between(self, t0_s: float, t1_s: float) -> list[GaitEvent]:
        return self.patient.events_between(t0_s, t1_s)

    def set_activity(self, activity: str, at_s: float | None = None) -> float:
        """Walk, stand, shift weight, rise from a chair... (``patient.ACTIVITIES``) from ``at_s``
        (default now); returns when it begins."""
        return self.patient.set_activity(activity, at_s)

    def follow_targets(self, band_low_pct_bw: float, band_high_pct_bw: float,
                       limit_pct_bw: float | None = None, shift_period_s: float = 5.0,
                       at_s: float | None = None) -> None:
        """The therapist's band and limit (% BW on the prosthesis) and weight-shift period (s),
        as the patient hears them from ``at_s`` (default now): walking steps are drawn around
        the band, weight shifting swings with its period (``PatientModel.set_targets``)."""
        self.patient.set_targets(TargetResponse(band_low_pct_bw, band_high_pct_bw, limit_pct_bw,
                                                shift_period_s), at_s)

    # -- ground truth of the exercises' figures -------------------------------------------------

    def truth_repetitions(self, t0_s: float, t1_s: float) -> list[Repetition]:
        """Sit-to-stand repetitions whose rise starts at or after ``t0_s`` and reaches standing
        before ``t1_s`` (host s), with their times and loads (``Repetition``)."""
        return self.patient.repetitions_between(t0_s, t1_s)

    def truth_step_peaks(self, t0_s: float, t1_s: float) -> list[StepPeak]:
        """Prosthetic steps wholly within ``t0_s``..``t1_s`` (host s): true peak load, % BW."""
        return self.patient.step_peaks_between(t0_s, t1_s)

    def truth_sway_ellipse_area_mm2(self, t0_s: float, t1_s: float, stance_width_mm: float,
                                    rate_hz: float = 1000.0) -> float:
        """The true 95 % ellipse area (mm²) of the combined CoP from ``t0_s`` to ``t1_s`` (host
        s), heel centres ``stance_width_mm`` apart (``PatientModel.sway_ellipse_area_mm2``)."""
        return self.patient.sway_ellipse_area_mm2(t0_s, t1_s, stance_width_mm, rate_hz)

    def place_weight(self, post: int, mass_kg: float) -> None:
        """Rest a known weight of ``mass_kg`` (kg) on bar post ``post`` (0-3: left front, left
        rear, right front, right rear), as a therapist does for the bars' known-weight
        calibration; 0 kg takes it off. The post reads it from now on, on top of the patient."""
        if not 0 <= post < 4:
            raise ValueError(f"post must be 0-3, got {post!r}")
        if not mass_kg >= 0.0:
            raise ValueError(f"a weight's mass must be 0 kg or more, got {mass_kg!r}")
        weights = self.placed_weights_n.copy()
        weights[post] = float(mass_kg) * STANDARD_GRAVITY
        self.placed_weights_n = weights  # one assignment: the board's thread sees old or new

    # -- what the boards read --------------------------------------------------------------------

    def read_counts(self, role: str, t_s: npt.ArrayLike) -> IntArray:
        """What board ``role`` (a :data:`ROLE_NAMES` entry) reads at host times ``t_s`` (s):
        the same counts its frames would carry, without the serial link (offline recordings)."""
        times = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        if role == "bars":
            return self._read_bar_counts(times)
        if role in ("insole_left", "insole_right"):
            return self._insole_reader(role.removeprefix("insole_"))(times)
        raise ValueError(f"role must be one of {ROLE_NAMES}, got {role!r}")

    def _read_bar_counts(self, t_s: FloatArray) -> IntArray:
        posts_n = self.patient.sample_bar_posts(t_s)
        weights_n = self.placed_weights_n
        return self.load_cells.counts(posts_n + weights_n if weights_n.any() else posts_n)

    def _insole_reader(self, side: str) -> CountsSource:
        fsr = self.fsr[side]

        def read(t_s: FloatArray) -> IntArray:
            return fsr.counts(self.patient.sample_sensors(side, t_s))
        return read


def _without_noise(params: _Params) -> _Params:
    return replace(params, noise_counts=0.0)
