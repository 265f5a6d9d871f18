"""One block of merged counts in, forces, centres of pressure and weight distribution out.

The rig's processing loop calls :func:`process_block` on each block of samples, already merged
onto one timeline (the same ``n`` rows for both insoles and the bars). It is a pure function:
no I/O, no clock, no state between blocks.

Frames and units of :class:`BlockResult`:

* forces in newtons (N); ``pct_bw`` in % of body weight (body weight = mass x g, g = 9.80665 m/s²);
  ``share_pct`` in % of the total measured load (NaN below 1 % of body weight in total);
* ``left_cop_mm`` / ``right_cop_mm``: centre of pressure in that foot's insole frame (mm, origin
  at the heel centre, +y toward the toes, +x toward the patient's right; see
  :mod:`processing.layouts`), NaN while the foot carries less than 2 % of body weight;
* ``hand_position_mm``: where each hand pushes along its bar, mm from the bar's rear end, NaN
  while that bar carries less than 2 % of body weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt

from processing import kernels
from processing.calibration import FSR_POWER_LAW, LINEAR, RigCalibration
from processing.layouts import RigLayout

__all__ = [
    "COP_MIN_FORCE_FRACTION_BW",
    "HAND_MIN_FORCE_FRACTION_BW",
    "LOAD_COLUMNS",
    "STANDARD_GRAVITY",
    "BlockResult",
    "RigCalibration",
    "RigLayout",
    "process_block",
    "warm_up",
]

FloatArray = npt.NDArray[np.float64]

#: Standard gravity (m/s²): body weight in N = body mass in kg x this.
STANDARD_GRAVITY = 9.80665
#: A foot's centre of pressure is shown only while it carries at least this fraction of body
#: weight (2 %): below it the few newtons left are sensor noise and the CoP would jump about.
COP_MIN_FORCE_FRACTION_BW = 0.02
#: The same rule for a hand's position along a bar (2 % of body weight on that bar).
HAND_MIN_FORCE_FRACTION_BW = 0.02
#: Column order of ``pct_bw`` and ``share_pct``.
LOAD_COLUMNS = ("left_foot", "right_foot", "left_bar", "right_bar")


@dataclass(frozen=True, eq=False)
class BlockResult:
    """Everything computed for one block of ``n`` samples (float64 arrays, units in the names)."""

    left_foot_n: FloatArray  # (n,)
    right_foot_n: FloatArray  # (n,)
    left_bar_n: FloatArray  # (n,)
    right_bar_n: FloatArray  # (n,)
    total_n: FloatArray  # (n,) both feet and both bars
    pct_bw: FloatArray  # (n, 4) LOAD_COLUMNS, % body weight
    share_pct: FloatArray  # (n, 4) LOAD_COLUMNS, % of total_n
    left_cop_mm: FloatArray  # (n, 2) x, y in the left insole frame
    right_cop_mm: FloatArray  # (n, 2) x, y in the right insole frame
    hand_position_mm: FloatArray  # (n, 2) left bar, right bar: mm from the rear end
    left_sensor_n: FloatArray  # (n, kL) each FSR of the left insole
    right_sensor_n: FloatArray  # (n, kR) each FSR of the right insole
    bar_post_n: FloatArray  # (n, 4) each post: left front, left rear, right front, right rear

    @property
    def rows(self) -> int:
        return int(self.total_n.shape[0])


def _counts(values: npt.ArrayLike, board: str, columns: int) -> FloatArray:
    # Always a fresh, writable, C-ordered float64 array: the kernels then see one array type
    # only, the one warm_up() compiled (int64 -> float64 is exact for 24-bit counts).
    array = np.array(values, dtype=np.float64, order="C")
    if array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(f"{board} counts must be (n, {columns}), got shape {array.shape}")
    return array


def process_block(left_counts: npt.ArrayLike, right_counts: npt.ArrayLike,
                  bar_counts: npt.ArrayLike, calibration: RigCalibration, layouts: RigLayout,
                  body_mass_kg: float, backend: ModuleType = kernels) -> BlockResult:
    """Forces, centres of pressure and weight distribution for one merged block.

    ``left_counts`` (n, kL) and ``right_counts`` (n, kR): raw FSR counts of each insole, columns
    in layout channel order; ``bar_counts`` (n, 4): raw HX711 counts of the posts [left front,
    left rear, right front, right rear]; ``body_mass_kg``: the patient's mass. ``backend`` is the
    module with the kernels: the numba one, or :mod:`processing.reference` (same functions in
    plain numpy) for tests and benchmarks.
    """
    if not (math.isfinite(body_mass_kg) and body_mass_kg > 0.0):
        raise ValueError(f"body_mass_kg must be a positive number, got {body_mass_kg!r}")
    for side, insole, fsr in (("left", layouts.left, calibration.insole_left),
                              ("right", layouts.right, calibration.insole_right)):
        if insole.sensor_count != fsr.channels:
            raise ValueError(f"{side} insole layout has {insole.sensor_count} sensors but its "
                             f"calibration has {fsr.channels} channels")
    left = _counts(left_counts, "left insole", layouts.left.sensor_count)
    right = _counts(right_counts, "right insole", layouts.right.sensor_count)
    bars = _counts(bar_counts, "bars", calibration.bars.channels)
    if not left.shape[0] == right.shape[0] == bars.shape[0]:
        raise ValueError("left, right and bar counts must have the same number of rows, got "
                         f"{left.shape[0]}, {right.shape[0]}, {bars.shape[0]}")

    body_weight_n = float(body_mass_kg) * STANDARD_GRAVITY
    cop_min_n = COP_MIN_FORCE_FRACTION_BW * body_weight_n
    hand_min_n = HAND_MIN_FORCE_FRACTION_BW * body_weight_n

    fsr_left, fsr_right = calibration.insole_left, calibration.insole_right
    left_sensor_n = backend.fsr_counts_to_newtons(left, fsr_left.gain_n, fsr_left.exponent,
                                                  fsr_left.adc_max)
    right_sensor_n = backend.fsr_counts_to_newtons(right, fsr_right.gain_n, fsr_right.exponent,
                                                   fsr_right.adc_max)
    left_foot_n = backend.foot_force(left_sensor_n)
    right_foot_n = backend.foot_force(right_sensor_n)
    left_cop_mm = backend.centre_of_pressure(left_sensor_n, layouts.left.positions_mm, cop_min_n)
    right_cop_mm = backend.centre_of_pressure(right_sensor_n, layouts.right.positions_mm,
                                              cop_min_n)

    bar_post_n = backend.linear_counts_to_newtons(bars, calibration.bars.offset_counts,
                                                  calibration.bars.newtons_per_count)
    bar_n, hand_position_mm = backend.bar_forces(
        bar_post_n, float(layouts.bars.rear_post_mm), float(layouts.bars.front_post_mm),
        hand_min_n)
    left_bar_n = np.ascontiguousarray(bar_n[:, 0])
    right_bar_n = np.ascontiguousarray(bar_n[:, 1])

    pct_bw, share_pct = backend.weight_distribution(left_foot_n, right_foot_n, left_bar_n,
                                                    right_bar_n, body_weight_n)
    total_n = left_foot_n + right_foot_n + left_bar_n + right_bar_n
    return BlockResult(
        left_foot_n=left_foot_n, right_foot_n=right_foot_n, left_bar_n=left_bar_n,
        right_bar_n=right_bar_n, total_n=total_n, pct_bw=pct_bw, share_pct=share_pct,
        left_cop_mm=left_cop_mm, right_cop_mm=right_cop_mm, hand_position_mm=hand_position_mm,
        left_sensor_n=left_sensor_n, right_sensor_n=right_sensor_n, bar_post_n=bar_post_n)


def warm_up() -> None:
    """Compile every kernel (or load it from numba's on-disk cache) for the array types
    :func:`process_block` uses, by running it on a tiny block. Call once at server start.

    The array types do not depend on the number of sensors, so one 8-sensor block covers 16 too.
    """
    sensors = 8
    fsr = [{"kind": FSR_POWER_LAW, "gain_n": 50.0, "exponent": 1.2, "adc_max": 1023}]
    calibration = RigCalibration.from_dicts({
        "insole_left": fsr * sensors, "insole_right": fsr * sensors,
        "bars": [{"kind": LINEAR, "offset_counts": 0, "newtons_per_count": 0.01}] * 4})
    counts = np.full((2, sensors), 300, dtype=np.int64)
    process_block(counts, counts, np.full((2, 4), 20_000, dtype=np.int64), calibration,
                  RigLayout.load(sensors, 42), 70.0)
