"""Plain numpy twins of the numba kernels in :mod:`gaitrig.processing.kernels` (same names, same
results).

Written for clarity, not speed: the tests check each kernel against its twin. Units and frames
are those of the kernels: forces in N, positions in mm, shares in %.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from gaitrig.processing.kernels import SHARE_MIN_TOTAL_FRACTION_BW

FloatArray = npt.NDArray[np.float64]
CountsArray = npt.NDArray[Any]


def linear_counts_to_newtons(counts: CountsArray, offset_counts: FloatArray,
                             newtons_per_count: FloatArray) -> FloatArray:
    """Load-cell counts (n, k) to forces (n, k) in N: ``(counts - offset) * newtons_per_count``."""
    k = counts.shape[1]
    if offset_counts.shape[0] != k or newtons_per_count.shape[0] != k:
        raise ValueError("offset_counts and newtons_per_count need one value per column")
    counts_f = counts.astype(np.float64)
    return (counts_f - offset_counts) * newtons_per_count


def fsr_counts_to_newtons(counts: CountsArray, gain_n: FloatArray, exponent: FloatArray,
                          adc_max: FloatArray) -> FloatArray:
    """FSR divider counts (n, k) to forces (n, k) in N (see the kernel for the rules)."""
    k = counts.shape[1]
    if gain_n.shape[0] != k or exponent.shape[0] != k or adc_max.shape[0] != k:
        raise ValueError("gain_n, exponent and adc_max need one value per column")
    c = counts.astype(np.float64)
    full_scale = np.broadcast_to(adc_max, c.shape)
    unloaded = c <= 0.0
    c = np.where(c >= full_scale, full_scale - 0.5, c)
    c = np.where(unloaded, 0.5 * full_scale, c)  # any value in (0, adc_max): 0 N below
    force = gain_n * (c / (full_scale - c)) ** exponent
    return np.where(unloaded, 0.0, force)


def fsr_curves_to_newtons(counts: CountsArray, curves: FloatArray) -> FloatArray:
    """FSR counts (n, k) to N, each channel its packed curve (see the kernel): power-law channels
    through :func:`fsr_counts_to_newtons`, table channels through ``np.interp``."""
    k = counts.shape[1]
    if curves.ndim != 2 or curves.shape[0] != k or (curves.shape[1] - 4) % 2 != 0:
        raise ValueError("curves must be (k, 4 + 2 m): one packed curve per column")
    width = (curves.shape[1] - 4) // 2
    c = counts.astype(np.float64)
    if width == 0:  # every channel a power law
        return fsr_counts_to_newtons(c, curves[:, 0], curves[:, 1], curves[:, 2])
    out = np.empty(c.shape, dtype=np.float64)
    for j in range(k):
        knots = int(curves[j, 3])
        if knots == 0:
            out[:, j] = fsr_counts_to_newtons(c[:, j:j + 1], curves[j, 0:1], curves[j, 1:2],
                                              curves[j, 2:3])[:, 0]
        else:
            xs = curves[j, 4:4 + knots]
            ys = curves[j, 4 + width:4 + width + knots]
            out[:, j] = np.interp(c[:, j], xs, ys)  # ends held; NaN stays NaN
    return out


def foot_force(sensor_n: FloatArray) -> FloatArray:
    """Total force under a foot (n,) in N."""
    total: FloatArray = np.asarray(sensor_n, dtype=np.float64).sum(axis=1)
    return total


def centre_of_pressure(sensor_n: FloatArray, positions_mm: FloatArray,
                       min_force_n: float) -> FloatArray:
    """Force-weighted centroid (n, 2) in mm; NaN where the total force is too small."""
    k = sensor_n.shape[1]
    if positions_mm.shape != (k, 2):
        raise ValueError("positions_mm must be (k, 2): one (x, y) per column of sensor_n")
    total = sensor_n.sum(axis=1)
    moments = np.stack([(sensor_n * positions_mm[:, 0]).sum(axis=1),
                        (sensor_n * positions_mm[:, 1]).sum(axis=1)], axis=1)
    valid = (total >= min_force_n) & (total > 0.0)
    safe_total = np.where(valid, total, 1.0)[:, None]
    return np.where(valid[:, None], moments / safe_total, np.nan)


def bar_forces(post_n: FloatArray, rear_post_mm: float, front_post_mm: float,
               min_force_n: float) -> tuple[FloatArray, FloatArray]:
    """Bar forces (n, 2) [left, right] in N and hand positions (n, 2) in mm from the rear end."""
    if post_n.ndim != 2 or post_n.shape[1] != 4:
        raise ValueError("post_n must have 4 columns: left front, left rear, right front, "
                         "right rear")
    front = post_n[:, [0, 2]]
    bar_n = front + post_n[:, [1, 3]]
    valid = (bar_n >= min_force_n) & (bar_n > 0.0)
    safe_bar = np.where(valid, bar_n, 1.0)
    span = front_post_mm - rear_post_mm
    hand = rear_post_mm + span * front / safe_bar
    return bar_n, np.where(valid, hand, np.nan)


def weight_distribution(left_foot_n: FloatArray, right_foot_n: FloatArray,
                        left_bar_n: FloatArray, right_bar_n: FloatArray,
                        body_weight_n: float) -> tuple[FloatArray, FloatArray]:
    """``pct_bw`` (n, 4) and ``share_pct`` (n, 4), columns [left foot, right foot, left bar,
    right bar]; shares NaN where the total is below 1 % of body weight."""
    n = left_foot_n.shape[0]
    if not right_foot_n.shape[0] == left_bar_n.shape[0] == right_bar_n.shape[0] == n:
        raise ValueError("the four loads must have the same number of samples")
    if not body_weight_n > 0.0:
        raise ValueError("body_weight_n must be positive")
    loads_n = np.stack([left_foot_n, right_foot_n, left_bar_n, right_bar_n], axis=1)
    loads_n = loads_n.astype(np.float64).reshape(n, 4)
    total = ((loads_n[:, 0] + loads_n[:, 1]) + loads_n[:, 2]) + loads_n[:, 3]
    pct_bw = 100.0 * loads_n / body_weight_n
    valid = total >= SHARE_MIN_TOTAL_FRACTION_BW * body_weight_n
    safe_total = np.where(valid, total, 1.0)[:, None]
    share_pct = np.where(valid[:, None], 100.0 * loads_n / safe_total, np.nan)
    return pct_bw, share_pct


def combined_centre_of_pressure(left_sensor_n: FloatArray, right_sensor_n: FloatArray,
                                left_positions_mm: FloatArray, right_positions_mm: FloatArray,
                                left_pose: FloatArray, right_pose: FloatArray,
                                min_force_n: float) -> FloatArray:
    """Centre of pressure of both feet (n, 2), mm in the common frame; NaN where too light.

    Each pose is ``[origin_x_mm, origin_y_mm, angle_rad]`` (see the kernel).
    """
    if right_sensor_n.shape[0] != left_sensor_n.shape[0]:
        raise ValueError("left_sensor_n and right_sensor_n must have the same number of rows")
    if (left_positions_mm.shape != (left_sensor_n.shape[1], 2)
            or right_positions_mm.shape != (right_sensor_n.shape[1], 2)):
        raise ValueError("positions_mm must be (k, 2): one (x, y) per column of sensor_n")
    if left_pose.shape != (3,) or right_pose.shape != (3,):
        raise ValueError("a pose is [origin_x_mm, origin_y_mm, angle_rad]")

    def to_floor(positions: FloatArray, pose: FloatArray) -> FloatArray:
        cos_a, sin_a = np.cos(pose[2]), np.sin(pose[2])
        rotation = np.array([[cos_a, -sin_a], [sin_a, cos_a]])
        floor_mm: FloatArray = pose[:2] + positions @ rotation.T
        return floor_mm

    positions = np.concatenate([to_floor(left_positions_mm, left_pose),
                                to_floor(right_positions_mm, right_pose)])
    sensor_n = np.concatenate([left_sensor_n, right_sensor_n], axis=1)
    return centre_of_pressure(sensor_n, positions, min_force_n)


def weight_distribution_by_side(left_foot_n: FloatArray, right_foot_n: FloatArray,
                                left_bar_n: FloatArray, right_bar_n: FloatArray,
                                body_weight_n: float, prosthetic_side: str
                                ) -> tuple[FloatArray, FloatArray]:
    """``pct_bw`` and ``share_pct`` (n, 4), columns [prosthetic foot, sound foot, left bar,
    right bar]."""
    if prosthetic_side not in ("left", "right"):
        raise ValueError("prosthetic_side must be 'left' or 'right'")
    pct_bw, share_pct = weight_distribution(left_foot_n, right_foot_n, left_bar_n, right_bar_n,
                                            body_weight_n)
    order = [0, 1, 2, 3] if prosthetic_side == "left" else [1, 0, 2, 3]
    return pct_bw[:, order], share_pct[:, order]


def process_frames(left_counts: CountsArray, right_counts: CountsArray, bar_counts: CountsArray,
                   left_fsr: FloatArray, right_fsr: FloatArray, left_positions_mm: FloatArray,
                   right_positions_mm: FloatArray, bar_calibration: FloatArray,
                   geometry: FloatArray, out: FloatArray) -> None:
    """The numpy twin of the fused kernel: the separate twins above, chained."""
    rows = 19
    k_left, k_right = left_counts.shape[1], right_counts.shape[1]
    rear_mm, front_mm, cop_min_n, hand_min_n, body_weight_n = (float(g) for g in geometry)
    left_n = fsr_curves_to_newtons(left_counts, left_fsr)
    right_n = fsr_curves_to_newtons(right_counts, right_fsr)
    post_n = linear_counts_to_newtons(bar_counts, bar_calibration[:, 0], bar_calibration[:, 1])
    bar_n, hand_mm = bar_forces(post_n, rear_mm, front_mm, hand_min_n)
    feet = (foot_force(left_n), foot_force(right_n))
    pct_bw, share_pct = weight_distribution(feet[0], feet[1], bar_n[:, 0], bar_n[:, 1],
                                            body_weight_n)
    out[0], out[1], out[2], out[3] = feet[0], feet[1], bar_n[:, 0], bar_n[:, 1]
    out[4] = feet[0] + feet[1] + bar_n[:, 0] + bar_n[:, 1]
    out[5:9] = pct_bw.T
    out[9:13] = share_pct.T
    out[13:15] = centre_of_pressure(left_n, left_positions_mm, cop_min_n).T
    out[15:17] = centre_of_pressure(right_n, right_positions_mm, cop_min_n).T
    out[17:19] = hand_mm.T
    out[rows:rows + k_left] = left_n.T
    out[rows + k_left:rows + k_left + k_right] = right_n.T
    out[rows + k_left + k_right:] = post_n.T
