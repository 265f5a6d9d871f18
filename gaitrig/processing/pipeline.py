"""One block of merged counts in, forces, centres of pressure and weight distribution out.

The rig's processing loop calls :func:`process_block` on each block of samples, already merged
onto one timeline (the same ``n`` rows for both insoles and the bars). It is a pure function:
no I/O, no clock, no state between blocks.

Frames and units of :class:`BlockResult`:

* forces in newtons (N); ``pct_bw`` in % of body weight (body weight = mass x g, g = 9.80665 m/s²);
  ``share_pct`` in % of the total measured load (NaN below 1 % of body weight in total);
* ``left_cop_mm`` / ``right_cop_mm``: centre of pressure in that foot's insole frame (mm, origin
  at the heel centre, +y toward the toes, +x toward the patient's right; see
  :mod:`gaitrig.processing.layouts`), NaN while the foot carries less than 2 % of body weight;
* ``hand_position_mm``: where each hand pushes along its bar, mm from the bar's rear end, NaN
  while that bar carries less than 2 % of body weight.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import numpy.typing as npt

from gaitrig.processing import gait_events, kernels
from gaitrig.processing.calibration import FSR_POWER_LAW, LINEAR, RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.units import STANDARD_GRAVITY

__all__ = [
    "COP_MIN_FORCE_FRACTION_BW",
    "HAND_MIN_FORCE_FRACTION_BW",
    "LOAD_COLUMNS",
    "STANDARD_GRAVITY",
    "BlockProcessor",
    "BlockResult",
    "RigCalibration",
    "RigLayout",
    "process_block",
    "warm_up",
]

FloatArray = npt.NDArray[np.float64]
CountsArray = npt.NDArray[np.int64] | npt.NDArray[np.float64]

#: Standard gravity (m/s²): body weight in N = body mass in kg x this.
#: A foot's centre of pressure is shown only while it carries at least this fraction of body
#: weight (2 %): below it the few newtons left are sensor noise and the CoP would jump about.
COP_MIN_FORCE_FRACTION_BW = 0.02
#: The same rule for a hand's position along a bar (2 % of body weight on that bar).
HAND_MIN_FORCE_FRACTION_BW = 0.02
#: Column order of ``pct_bw`` and ``share_pct``.
LOAD_COLUMNS = ("left_foot", "right_foot", "left_bar", "right_bar")


class BlockResult:
    """Everything computed for one block of ``n`` samples (float64, units in the names).

    The values live in one (quantities, n) array, the layout of :func:`kernels.process_frames`;
    the attributes are views of it, made when they are read.
    """

    __slots__ = ("_k_left", "_k_right", "values")

    def __init__(self, values: FloatArray, k_left: int, k_right: int) -> None:
        self.values = values
        self._k_left, self._k_right = k_left, k_right

    @property
    def rows(self) -> int:
        return int(self.values.shape[1])

    def _row(self, index: int) -> FloatArray:
        row: FloatArray = self.values[index]
        return row

    @property
    def left_foot_n(self) -> FloatArray:  # (n,)
        return self._row(0)

    @property
    def right_foot_n(self) -> FloatArray:  # (n,)
        return self._row(1)

    @property
    def left_bar_n(self) -> FloatArray:  # (n,)
        return self._row(2)

    @property
    def right_bar_n(self) -> FloatArray:  # (n,)
        return self._row(3)

    @property
    def total_n(self) -> FloatArray:  # (n,) both feet and both bars
        return self._row(4)

    @property
    def pct_bw(self) -> FloatArray:  # (n, 4) LOAD_COLUMNS, % body weight
        return self.values[5:9].T

    @property
    def share_pct(self) -> FloatArray:  # (n, 4) LOAD_COLUMNS, % of total_n
        return self.values[9:13].T

    @property
    def left_cop_mm(self) -> FloatArray:  # (n, 2) x, y in the left insole frame
        return self.values[13:15].T

    @property
    def right_cop_mm(self) -> FloatArray:  # (n, 2) x, y in the right insole frame
        return self.values[15:17].T

    @property
    def hand_position_mm(self) -> FloatArray:  # (n, 2) left bar, right bar: mm from rear end
        return self.values[17:19].T

    @property
    def left_sensor_n(self) -> FloatArray:  # (n, kL) each FSR of the left insole
        first = len(kernels.FRAME_ROWS)
        return self.values[first:first + self._k_left].T

    @property
    def right_sensor_n(self) -> FloatArray:  # (n, kR) each FSR of the right insole
        first = len(kernels.FRAME_ROWS) + self._k_left
        return self.values[first:first + self._k_right].T

    @property
    def bar_post_n(self) -> FloatArray:  # (n, 4) left front, left rear, right front, right rear
        return self.values[len(kernels.FRAME_ROWS) + self._k_left + self._k_right:].T


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
    module with the kernels: the numba one, or :mod:`gaitrig.processing.reference` (same functions
    in plain numpy) for tests and benchmarks.
    """
    processor = BlockProcessor(calibration, layouts, body_mass_kg, backend)
    left = _counts(left_counts, "left insole", layouts.left.sensor_count)
    right = _counts(right_counts, "right insole", layouts.right.sensor_count)
    bars = _counts(bar_counts, "bars", calibration.bars.channels)
    if not left.shape[0] == right.shape[0] == bars.shape[0]:
        raise ValueError("left, right and bar counts must have the same number of rows, got "
                         f"{left.shape[0]}, {right.shape[0]}, {bars.shape[0]}")
    return processor.process(left, right, bars)


class BlockProcessor:
    """:func:`process_block` prepared once for a patient, calibration and layout: the live path.

    The parameters are packed into arrays once, and each block is one kernel call
    (:func:`kernels.process_frames`), so small blocks cost little more than their arithmetic.
    """

    def __init__(self, calibration: RigCalibration, layouts: RigLayout, body_mass_kg: float,
                 backend: ModuleType = kernels) -> None:
        if not (math.isfinite(body_mass_kg) and body_mass_kg > 0.0):
            raise ValueError(f"body_mass_kg must be a positive number, got {body_mass_kg!r}")
        for side, insole, fsr in (("left", layouts.left, calibration.insole_left),
                                  ("right", layouts.right, calibration.insole_right)):
            if insole.sensor_count != fsr.channels:
                raise ValueError(f"{side} insole layout has {insole.sensor_count} sensors but "
                                 f"its calibration has {fsr.channels} channels")
        body_weight_n = float(body_mass_kg) * STANDARD_GRAVITY
        self.body_weight_n = body_weight_n
        self.backend = backend
        self.k_left, self.k_right = layouts.left.sensor_count, layouts.right.sensor_count
        self._quantities = len(kernels.FRAME_ROWS) + self.k_left + self.k_right + 4

        def packed(*columns: FloatArray) -> FloatArray:
            return np.ascontiguousarray(np.column_stack(columns), dtype=np.float64)

        left, right, bars = calibration.insole_left, calibration.insole_right, calibration.bars
        self._left_fsr = left.curves  # power law or table per sensor
        self._right_fsr = right.curves
        self._bars = packed(bars.offset_counts, bars.newtons_per_count)
        self._left_positions = np.ascontiguousarray(layouts.left.positions_mm, dtype=np.float64)
        self._right_positions = np.ascontiguousarray(layouts.right.positions_mm,
                                                     dtype=np.float64)
        self._geometry = np.array([layouts.bars.rear_post_mm, layouts.bars.front_post_mm,
                                   COP_MIN_FORCE_FRACTION_BW * body_weight_n,
                                   HAND_MIN_FORCE_FRACTION_BW * body_weight_n, body_weight_n],
                                  dtype=np.float64)

    def process(self, left_counts: CountsArray, right_counts: CountsArray,
                bar_counts: CountsArray) -> BlockResult:
        """One block: ``left_counts`` (n, kL), ``right_counts`` (n, kR), ``bar_counts`` (n, 4).

        Counts are C-ordered int64 or float64 arrays (as the rig's collector makes them).
        """
        n = left_counts.shape[0]
        if right_counts.shape[0] != n or bar_counts.shape[0] != n:
            raise ValueError("left, right and bar counts must have the same number of rows, got "
                             f"{n}, {right_counts.shape[0]}, {bar_counts.shape[0]}")
        out = np.empty((self._quantities, n), dtype=np.float64)
        self.backend.process_frames(left_counts, right_counts, bar_counts, self._left_fsr,
                                    self._right_fsr, self._left_positions, self._right_positions,
                                    self._bars, self._geometry, out)
        return BlockResult(out, self.k_left, self.k_right)


def warm_up() -> None:
    """Compile every kernel (or load it from numba's on-disk cache) for the array types
    :func:`process_block` and :class:`BlockProcessor` use (float64 and int64 counts), and the
    separate kernels, by running them on a tiny block. Call once at server start.

    The array types do not depend on the number of sensors, so one 8-sensor block covers 16 too.
    """
    sensors = 8
    fsr = [{"kind": FSR_POWER_LAW, "gain_n": 50.0, "exponent": 1.2, "adc_max": 1023}]
    calibration = RigCalibration.from_dicts({
        "insole_left": fsr * sensors, "insole_right": fsr * sensors,
        "bars": [{"kind": LINEAR, "offset_counts": 0, "newtons_per_count": 0.01}] * 4})
    counts = np.full((2, sensors), 300, dtype=np.int64)
    bars = np.full((2, 4), 20_000, dtype=np.int64)
    layout = RigLayout.load(sensors, 42)
    process_block(counts, counts, bars, calibration, layout, 70.0)  # float64 counts
    BlockProcessor(calibration, layout, 70.0).process(counts, counts, bars)  # int64 counts
    forces = np.full((2, sensors), 10.0)
    foot = kernels.foot_force(forces)
    kernels.fsr_counts_to_newtons(counts.astype(np.float64), calibration.insole_left.gain_n,
                                  calibration.insole_left.exponent, calibration.insole_left.adc_max)
    kernels.fsr_curves_to_newtons(counts.astype(np.float64), calibration.insole_left.curves)
    kernels.centre_of_pressure(forces, layout.left.positions_mm, 1.0)
    kernels.linear_counts_to_newtons(bars.astype(np.float64), calibration.bars.offset_counts,
                                     calibration.bars.newtons_per_count)
    kernels.bar_forces(np.full((2, 4), 10.0), 250.0, 2750.0, 1.0)
    kernels.weight_distribution(foot, foot, foot, foot, 700.0)
    gait_events.warm_up()
