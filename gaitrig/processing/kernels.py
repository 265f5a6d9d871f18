"""Numba kernels: counts to forces, per-foot force, centre of pressure, bars, weight distribution.

Each kernel works on a block of ``n`` samples (rows) at once and returns new float64 arrays; each
has a plain numpy twin of the same name in :mod:`gaitrig.processing.reference` that the tests hold
it to. Kernels compile lazily on their first call (importing this module compiles nothing) and cache
the machine code on disk; :func:`gaitrig.processing.pipeline.warm_up` compiles them ahead of live
use.

Units: forces in newtons (N), positions in millimetres (mm), shares in percent (%).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: Raw ADC or amplifier counts: any integer or float dtype.
CountsArray = npt.NDArray[Any]

#: Below this fraction of body weight on the rig in total, shares of the total are undefined (NaN).
SHARE_MIN_TOTAL_FRACTION_BW = 0.01

_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(function: _F) -> _F:
    """``numba.njit(cache=True)``, typed for mypy (compiled lazily, on first call)."""
    return cast(_F, numba.njit(cache=True)(function))


@kernel
def linear_counts_to_newtons(counts: CountsArray, offset_counts: FloatArray,
                             newtons_per_count: FloatArray) -> FloatArray:
    """Load-cell counts (n, k) to forces (n, k) in N: ``(counts - offset) * newtons_per_count``."""
    n, k = counts.shape
    if offset_counts.shape[0] != k or newtons_per_count.shape[0] != k:
        raise ValueError("offset_counts and newtons_per_count need one value per column")
    out = np.empty((n, k), dtype=np.float64)
    for i in range(n):
        for j in range(k):
            out[i, j] = (counts[i, j] - offset_counts[j]) * newtons_per_count[j]
    return out


@kernel
def fsr_counts_to_newtons(counts: CountsArray, gain_n: FloatArray, exponent: FloatArray,
                          adc_max: FloatArray) -> FloatArray:
    """FSR divider counts (n, k) to forces (n, k) in N: ``gain * (c / (adc_max - c)) ** exponent``.

    0 N where ``c <= 0``; a saturated count (``c >= adc_max``) is evaluated at ``adc_max - 0.5``;
    NaN counts give NaN.
    """
    n, k = counts.shape
    if gain_n.shape[0] != k or exponent.shape[0] != k or adc_max.shape[0] != k:
        raise ValueError("gain_n, exponent and adc_max need one value per column")
    out = np.empty((n, k), dtype=np.float64)
    for i in range(n):
        for j in range(k):
            c = np.float64(counts[i, j])
            full_scale = adc_max[j]
            if c <= 0.0:
                out[i, j] = 0.0
                continue
            if c >= full_scale:
                c = full_scale - 0.5
            out[i, j] = gain_n[j] * (c / (full_scale - c)) ** exponent[j]
    return out


@kernel
def fsr_curve_newtons(curves: FloatArray, j: int, count: float) -> float:
    """One FSR reading to N with channel ``j``'s row of packed ``curves`` (see
    :func:`fsr_curves_to_newtons`)."""
    c = np.float64(count)
    knots = int(curves[j, 3])
    if knots == 0:  # power law
        full_scale = curves[j, 2]
        if c <= 0.0:
            return 0.0
        if c >= full_scale:
            c = full_scale - 0.5
        return float(curves[j, 0] * (c / (full_scale - c)) ** curves[j, 1])
    if c != c:
        return math.nan
    width = (curves.shape[1] - 4) // 2
    xs, ys = 4, 4 + width  # first column of the counts, of the forces
    last = knots - 1
    if c <= curves[j, xs]:
        return float(curves[j, ys])
    if c >= curves[j, xs + last]:
        return float(curves[j, ys + last])
    lo, hi = 0, last
    while hi - lo > 1:  # bisection: curves[j, xs + lo] < c < curves[j, xs + hi]
        mid = (lo + hi) // 2
        if curves[j, xs + mid] <= c:
            lo = mid
        else:
            hi = mid
    x0, y0 = curves[j, xs + lo], curves[j, ys + lo]
    slope = (curves[j, ys + hi] - y0) / (curves[j, xs + hi] - x0)
    return float(slope * (c - x0) + y0)


@kernel
def fsr_curves_to_newtons(counts: CountsArray, curves: FloatArray) -> FloatArray:
    """FSR counts (n, k) to forces (n, k) in N, each channel its own curve.

    ``curves`` (k, 4 + 2 m) is :attr:`gaitrig.processing.calibration.FsrCalibration.curves`: per
    channel ``[gain_n, exponent, adc_max, knots, counts_0 .. counts_{m-1}, newtons_0 ..
    newtons_{m-1}]``. ``knots == 0``: the power law of :func:`fsr_counts_to_newtons`; otherwise
    linear interpolation between the channel's first ``knots`` knots, the end forces outside them
    (NaN counts give NaN).
    """
    n, k = counts.shape
    if curves.shape[0] != k or curves.shape[1] < 4 or (curves.shape[1] - 4) % 2 != 0:
        raise ValueError("curves must be (k, 4 + 2 m): one packed curve per column")
    out = np.empty((n, k), dtype=np.float64)
    for i in range(n):
        for j in range(k):
            out[i, j] = fsr_curve_newtons(curves, j, counts[i, j])
    return out


@kernel
def foot_force(sensor_n: FloatArray) -> FloatArray:
    """Total force under a foot (n,) in N: the sum of its sensors' forces (n, k)."""
    n, k = sensor_n.shape
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        total = 0.0
        for j in range(k):
            total += sensor_n[i, j]
        out[i] = total
    return out


@kernel
def centre_of_pressure(sensor_n: FloatArray, positions_mm: FloatArray,
                       min_force_n: float) -> FloatArray:
    """Force-weighted centroid of the sensor positions (n, 2), mm in the insole frame.

    NaN (never a fake 0) in rows where the foot's total force is below ``min_force_n``, not
    positive, or NaN.
    """
    n, k = sensor_n.shape
    if positions_mm.shape[0] != k or positions_mm.shape[1] != 2:
        raise ValueError("positions_mm must be (k, 2): one (x, y) per column of sensor_n")
    out = np.empty((n, 2), dtype=np.float64)
    for i in range(n):
        total = 0.0
        moment_x = 0.0
        moment_y = 0.0
        for j in range(k):
            force = sensor_n[i, j]
            total += force
            moment_x += force * positions_mm[j, 0]
            moment_y += force * positions_mm[j, 1]
        if total >= min_force_n and total > 0.0:
            out[i, 0] = moment_x / total
            out[i, 1] = moment_y / total
        else:
            out[i, 0] = np.nan
            out[i, 1] = np.nan
    return out


@kernel
def bar_forces(post_n: FloatArray, rear_post_mm: float, front_post_mm: float,
               min_force_n: float) -> tuple[FloatArray, FloatArray]:
    """Force on each bar and where the hand pushes on it, from the four posts' forces.

    ``post_n`` (n, 4) in N, columns [left front, left rear, right front, right rear]. Returns
    ``bar_n`` (n, 2) [left, right] in N and ``hand_position_mm`` (n, 2) [left, right]: mm from
    the bar's rear end by the lever rule, ``rear + (front - rear) * F_front / F_bar`` (outside the
    posts when one post pulls). NaN where that bar's force is below ``min_force_n`` or not
    positive.
    """
    n = post_n.shape[0]
    if post_n.shape[1] != 4:
        raise ValueError("post_n must have 4 columns: left front, left rear, right front, "
                         "right rear")
    span = front_post_mm - rear_post_mm
    bar_n = np.empty((n, 2), dtype=np.float64)
    hand_position_mm = np.empty((n, 2), dtype=np.float64)
    for i in range(n):
        for bar in range(2):
            front = post_n[i, 2 * bar]
            total = front + post_n[i, 2 * bar + 1]
            bar_n[i, bar] = total
            if total >= min_force_n and total > 0.0:
                hand_position_mm[i, bar] = rear_post_mm + span * front / total
            else:
                hand_position_mm[i, bar] = np.nan
    return bar_n, hand_position_mm


@kernel
def weight_distribution(left_foot_n: FloatArray, right_foot_n: FloatArray,
                        left_bar_n: FloatArray, right_bar_n: FloatArray,
                        body_weight_n: float) -> tuple[FloatArray, FloatArray]:
    """How the load is shared, columns [left foot, right foot, left bar, right bar].

    Returns ``pct_bw`` (n, 4), each load in % of body weight, and ``share_pct`` (n, 4), each
    load in % of the measured total. ``share_pct`` is NaN where the total is below
    ``SHARE_MIN_TOTAL_FRACTION_BW`` (1 %) of body weight: nobody on the rig, no shares.
    """
    n = left_foot_n.shape[0]
    if right_foot_n.shape[0] != n or left_bar_n.shape[0] != n or right_bar_n.shape[0] != n:
        raise ValueError("the four loads must have the same number of samples")
    if not body_weight_n > 0.0:
        raise ValueError("body_weight_n must be positive")
    min_total_n = SHARE_MIN_TOTAL_FRACTION_BW * body_weight_n
    loads_n = np.empty((n, 4), dtype=np.float64)
    pct_bw = np.empty((n, 4), dtype=np.float64)
    share_pct = np.empty((n, 4), dtype=np.float64)
    for i in range(n):
        loads_n[i, 0] = left_foot_n[i]
        loads_n[i, 1] = right_foot_n[i]
        loads_n[i, 2] = left_bar_n[i]
        loads_n[i, 3] = right_bar_n[i]
        total = loads_n[i, 0] + loads_n[i, 1] + loads_n[i, 2] + loads_n[i, 3]
        for j in range(4):
            pct_bw[i, j] = 100.0 * loads_n[i, j] / body_weight_n
            if total >= min_total_n:
                share_pct[i, j] = 100.0 * loads_n[i, j] / total
            else:
                share_pct[i, j] = np.nan
    return pct_bw, share_pct


#: Every kernel, for warm-up and for tests.
KERNELS = (linear_counts_to_newtons, fsr_counts_to_newtons, fsr_curves_to_newtons, foot_force,
           centre_of_pressure, bar_forces, weight_distribution)


# -- standing trials: both feet in one frame; loads by prosthetic side ------------------------


@kernel
def combined_centre_of_pressure(left_sensor_n: FloatArray, right_sensor_n: FloatArray,
                                left_positions_mm: FloatArray, right_positions_mm: FloatArray,
                                left_pose: FloatArray, right_pose: FloatArray,
                                min_force_n: float) -> FloatArray:
    """Centre of pressure of both feet together (n, 2), mm in a common floor frame.

    ``left_sensor_n`` (n, kL) and ``right_sensor_n`` (n, kR): each FSR's force (N);
    ``*_positions_mm`` (k, 2): sensor positions in that insole's frame (mm, see
    :mod:`gaitrig.processing.layouts`); ``*_pose`` (3,): where the insole lies in the common frame,
    ``[origin_x_mm, origin_y_mm, angle_rad]``: its origin (the heel centre) in the common frame
    and the counter-clockwise angle (seen from above) from the common +y axis to the insole's +y
    axis. A sensor at ``p`` in the insole frame lies at ``origin + R(angle) @ p`` in the common
    frame. The result is the force-weighted centroid of every sensor of both feet; NaN in rows
    where the two feet's total force is below ``min_force_n``, not positive, or NaN.
    """
    n, k_left = left_sensor_n.shape
    k_right = right_sensor_n.shape[1]
    if right_sensor_n.shape[0] != n:
        raise ValueError("left_sensor_n and right_sensor_n must have the same number of rows")
    if (left_positions_mm.shape[0] != k_left or left_positions_mm.shape[1] != 2
            or right_positions_mm.shape[0] != k_right or right_positions_mm.shape[1] != 2):
        raise ValueError("positions_mm must be (k, 2): one (x, y) per column of sensor_n")
    if left_pose.shape[0] != 3 or right_pose.shape[0] != 3:
        raise ValueError("a pose is [origin_x_mm, origin_y_mm, angle_rad]")
    # Sensor positions in the common frame: rows 0..kL-1 left, then right.
    k = k_left + k_right
    floor_mm = np.empty((k, 2), dtype=np.float64)
    for j in range(k):
        if j < k_left:
            pose = left_pose
            x = left_positions_mm[j, 0]
            y = left_positions_mm[j, 1]
        else:
            pose = right_pose
            x = right_positions_mm[j - k_left, 0]
            y = right_positions_mm[j - k_left, 1]
        cos_a = np.cos(pose[2])
        sin_a = np.sin(pose[2])
        floor_mm[j, 0] = pose[0] + cos_a * x - sin_a * y
        floor_mm[j, 1] = pose[1] + sin_a * x + cos_a * y
    out = np.empty((n, 2), dtype=np.float64)
    for i in range(n):
        total = 0.0
        moment_x = 0.0
        moment_y = 0.0
        for j in range(k):
            force = left_sensor_n[i, j] if j < k_left else right_sensor_n[i, j - k_left]
            total += force
            moment_x += force * floor_mm[j, 0]
            moment_y += force * floor_mm[j, 1]
        if total >= min_force_n and total > 0.0:
            out[i, 0] = moment_x / total
            out[i, 1] = moment_y / total
        else:
            out[i, 0] = np.nan
            out[i, 1] = np.nan
    return out


@kernel
def weight_distribution_by_side(left_foot_n: FloatArray, right_foot_n: FloatArray,
                                left_bar_n: FloatArray, right_bar_n: FloatArray,
                                body_weight_n: float, prosthetic_side: str
                                ) -> tuple[FloatArray, FloatArray]:
    """:func:`weight_distribution` with the feet named by role, columns [prosthetic foot, sound
    foot, left bar, right bar].

    ``prosthetic_side`` is "left" or "right". Returns ``pct_bw`` (n, 4) in % of body weight and
    ``share_pct`` (n, 4) in % of the measured total (NaN below 1 % of body weight in total).
    """
    if prosthetic_side == "left":
        return weight_distribution(left_foot_n, right_foot_n, left_bar_n, right_bar_n,
                                   body_weight_n)
    if prosthetic_side == "right":
        return weight_distribution(right_foot_n, left_foot_n, left_bar_n, right_bar_n,
                                   body_weight_n)
    raise ValueError("prosthetic_side must be 'left' or 'right'")


#: Kernels for standing trials and clinical summaries (compiled by their first call).
STANDING_KERNELS = (combined_centre_of_pressure, weight_distribution_by_side)


# -- the live path: every step of the pipeline in one call ------------------------------------

#: Rows of the output of :func:`process_frames` before the per-sensor forces.
FRAME_ROWS = ("left_foot_n", "right_foot_n", "left_bar_n", "right_bar_n", "total_n",
              "left_foot_pct_bw", "right_foot_pct_bw", "left_bar_pct_bw", "right_bar_pct_bw",
              "left_foot_share_pct", "right_foot_share_pct", "left_bar_share_pct",
              "right_bar_share_pct", "left_cop_x_mm", "left_cop_y_mm", "right_cop_x_mm",
              "right_cop_y_mm", "left_hand_position_mm", "right_hand_position_mm")


@kernel
def process_frames(left_counts: CountsArray, right_counts: CountsArray, bar_counts: CountsArray,
                   left_fsr: FloatArray, right_fsr: FloatArray, left_positions_mm: FloatArray,
                   right_positions_mm: FloatArray, bar_calibration: FloatArray,
                   geometry: FloatArray, out: FloatArray) -> None:
    """The whole pipeline for one block in a single call, written into ``out``.

    The same arithmetic, in the same order, as chaining :func:`fsr_curves_to_newtons`,
    :func:`foot_force`, :func:`centre_of_pressure`, :func:`linear_counts_to_newtons`,
    :func:`bar_forces` and :func:`weight_distribution`; one call instead of eight matters for the
    small blocks of the live loop. ``left_fsr``/``right_fsr`` (k, 4 + 2 m): each sensor's packed
    curve (power law or table, :attr:`gaitrig.processing.calibration.FsrCalibration.curves`);
    ``bar_calibration`` (4, 2): offset_counts, newtons_per_count per post;
    ``geometry`` (5,): rear_post_mm, front_post_mm, cop_min_force_n, hand_min_force_n,
    body_weight_n. ``out`` (len(FRAME_ROWS) + kL + kR + 4, n): one row per quantity (see
    FRAME_ROWS), then each left sensor's force, each right sensor's, each post's (N).
    """
    n, k_left = left_counts.shape
    k_right = right_counts.shape[1]
    rows = len(FRAME_ROWS)
    if (right_counts.shape[0] != n or bar_counts.shape[0] != n or bar_counts.shape[1] != 4
            or out.shape[0] != rows + k_left + k_right + 4 or out.shape[1] != n
            or left_fsr.shape[0] != k_left or right_fsr.shape[0] != k_right
            or left_fsr.shape[1] < 4 or (left_fsr.shape[1] - 4) % 2 != 0
            or right_fsr.shape[1] < 4 or (right_fsr.shape[1] - 4) % 2 != 0
            or left_positions_mm.shape[0] != k_left or right_positions_mm.shape[0] != k_right):
        raise ValueError("process_frames: inconsistent shapes")
    rear_mm, front_mm = geometry[0], geometry[1]
    cop_min_n, hand_min_n, body_weight_n = geometry[2], geometry[3], geometry[4]
    span = front_mm - rear_mm
    min_total_n = SHARE_MIN_TOTAL_FRACTION_BW * body_weight_n
    loads = np.empty(4, dtype=np.float64)
    for i in range(n):
        for side in range(2):
            counts = left_counts if side == 0 else right_counts
            fsr = left_fsr if side == 0 else right_fsr
            positions = left_positions_mm if side == 0 else right_positions_mm
            k = k_left if side == 0 else k_right
            first = rows if side == 0 else rows + k_left
            total = 0.0
            moment_x = 0.0
            moment_y = 0.0
            for j in range(k):
                c = np.float64(counts[i, j])
                if fsr[j, 3] != 0.0:  # a table: knots in the row
                    force = fsr_curve_newtons(fsr, j, c)
                elif c <= 0.0:  # the power law, inline (the common case, kept fast)
                    force = 0.0
                else:
                    full_scale = fsr[j, 2]
                    if c >= full_scale:
                        c = full_scale - 0.5
                    force = fsr[j, 0] * (c / (full_scale - c)) ** fsr[j, 1]
                out[first + j, i] = force
                total += force
                moment_x += force * positions[j, 0]
                moment_y += force * positions[j, 1]
            loads[side] = total
            if total >= cop_min_n and total > 0.0:
                out[13 + 2 * side, i] = moment_x / total
                out[14 + 2 * side, i] = moment_y / total
            else:
                out[13 + 2 * side, i] = np.nan
                out[14 + 2 * side, i] = np.nan
        posts = rows + k_left + k_right
        for j in range(4):
            out[posts + j, i] = (bar_counts[i, j] - bar_calibration[j, 0]) * bar_calibration[j, 1]
        for bar in range(2):
            front = out[posts + 2 * bar, i]
            total = front + out[posts + 2 * bar + 1, i]
            loads[2 + bar] = total
            if total >= hand_min_n and total > 0.0:
                out[17 + bar, i] = rear_mm + span * front / total
            else:
                out[17 + bar, i] = np.nan
        total = loads[0] + loads[1] + loads[2] + loads[3]
        out[4, i] = total
        for j in range(4):
            out[j, i] = loads[j]
            out[5 + j, i] = 100.0 * loads[j] / body_weight_n
            out[9 + j, i] = 100.0 * loads[j] / total if total >= min_total_n else np.nan
