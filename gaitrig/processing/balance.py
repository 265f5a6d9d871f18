"""Standing balance: sway of the centre of pressure and how weight is shared between the sides.

Standing frame (mm), seen from above: +x toward the patient's right (medio-lateral, ML), +y
forward (antero-posterior, AP). Where the insoles lie in it is a :class:`FootPlacement` per foot;
:func:`standing_cop_mm` puts both feet's sensors in that frame and gives the combined centre of
pressure (numba kernel :func:`gaitrig.processing.kernels.combined_centre_of_pressure`).

* :func:`cop_sway` — path length, mean velocity, mean and RMS distance (also per axis) and the
  95 % prediction ellipse of a CoP trajectory (Prieto et al. 1996; Schubert & Kirchner 2014).
* :func:`prediction_ellipse` — the ellipse alone, for any probability.
* :func:`standing_weight_bearing` — % body weight on the prosthetic and the sound foot and on
  the bars, each with its standard deviation, and the prosthetic foot's share of the feet's load.

Formulas and references: ``docs/clinical-metrics.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gaitrig.processing import kernels
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.metrics import json_ready

__all__ = [
    "CopSway",
    "FootPlacement",
    "PredictionEllipse",
    "WeightBearing",
    "cop_sway",
    "prediction_ellipse",
    "prediction_scale",
    "side_by_side_placement",
    "standing_cop_mm",
    "standing_weight_bearing",
]

FloatArray = npt.NDArray[np.float64]
Side = Literal["left", "right"]


@dataclass(frozen=True)
class FootPlacement:
    """Where an insole lies in the standing frame.

    ``origin_x_mm``, ``origin_y_mm``: the insole's origin (its heel centre) in the standing frame;
    ``angle_deg``: counter-clockwise seen from above, from the frame's +y (forward) to the
    insole's +y (toward the toes). Toe-out is positive for the left foot, negative for the right.
    """

    origin_x_mm: float
    origin_y_mm: float
    angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.origin_x_mm, self.origin_y_mm,
                                               self.angle_deg)):
            raise ValueError("a foot placement needs finite numbers")

    def pose(self) -> FloatArray:
        """``[origin_x_mm, origin_y_mm, angle_rad]``, as the kernel takes it."""
        return np.array([self.origin_x_mm, self.origin_y_mm, math.radians(self.angle_deg)])


def side_by_side_placement(stance_width_mm: float, toe_out_deg: float = 0.0
                           ) -> tuple[FootPlacement, FootPlacement]:
    """Left and right placement for feet side by side: heel centres ``stance_width_mm`` apart
    on the x axis, symmetric about the origin, each foot turned out by ``toe_out_deg``."""
    if not (math.isfinite(stance_width_mm) and stance_width_mm > 0.0):
        raise ValueError(f"stance_width_mm must be positive, got {stance_width_mm!r}")
    half = 0.5 * stance_width_mm
    return (FootPlacement(-half, 0.0, toe_out_deg), FootPlacement(half, 0.0, -toe_out_deg))


def standing_cop_mm(left_sensor_n: npt.ArrayLike, right_sensor_n: npt.ArrayLike,
                    layouts: RigLayout, left: FootPlacement, right: FootPlacement,
                    min_force_n: float) -> FloatArray:
    """Combined centre of pressure of both feet (n, 2) in the standing frame (mm).

    ``*_sensor_n`` (n, k): each FSR's force (N), columns in layout channel order. NaN in rows
    where both feet together carry less than ``min_force_n``.
    """
    left_n = np.array(left_sensor_n, dtype=np.float64, order="C")
    right_n = np.array(right_sensor_n, dtype=np.float64, order="C")
    if left_n.ndim != 2 or right_n.ndim != 2:
        raise ValueError("sensor forces must be (n, k) arrays")
    return kernels.combined_centre_of_pressure(
        left_n, right_n, np.ascontiguousarray(layouts.left.positions_mm),
        np.ascontiguousarray(layouts.right.positions_mm), left.pose(), right.pose(),
        float(min_force_n))


# -- sway of the centre of pressure ---------------------------------------------------------------


@dataclass(frozen=True)
class PredictionEllipse:
    """The region expected to hold a further CoP sample with ``probability``.

    ``centre_mm`` (x, y); ``semi_axes_mm`` (major, minor); ``angle_deg``: of the major axis,
    counter-clockwise from +x; ``area_mm2 = pi * major * minor``; ``scale``: the squared
    Mahalanobis radius of the boundary.
    """

    probability: float
    centre_mm: tuple[float, float]
    semi_axes_mm: tuple[float, float]
    angle_deg: float
    area_mm2: float
    scale: float
    samples: int

    def contains(self, points_mm: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which points (m, 2) lie inside (or on) the ellipse."""
        points = np.asarray(points_mm, dtype=np.float64).reshape(-1, 2) - self.centre_mm
        angle = math.radians(self.angle_deg)
        along = points @ np.array([math.cos(angle), math.sin(angle)])
        across = points @ np.array([-math.sin(angle), math.cos(angle)])
        major, minor = self.semi_axes_mm
        inside: npt.NDArray[np.bool_] = (along / major) ** 2 + (across / minor) ** 2 <= 1.0
        return inside


def prediction_scale(samples: int, probability: float) -> float:
    """Squared Mahalanobis radius of the bivariate normal prediction ellipse.

    ``2 (n + 1)(n - 1) / (n (n - 2)) * F(probability; 2, n - 2)`` with the sample covariance
    (n - 1 denominator); the F quantile with 2 numerator degrees of freedom is closed-form,
    ``F(p; 2, m) = (m / 2) ((1 - p) ** (-2 / m) - 1)``. Tends to the chi-square quantile
    ``-2 ln(1 - p)`` (5.991 at 95 %) as ``n`` grows.
    """
    if samples < 3:
        raise ValueError(f"a prediction ellipse needs at least 3 samples, got {samples}")
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be between 0 and 1, got {probability!r}")
    n = float(samples)
    m = n - 2.0
    f_quantile = 0.5 * m * math.expm1(-2.0 / m * math.log1p(-probability))
    return 2.0 * (n + 1.0) * (n - 1.0) / (n * m) * f_quantile


def prediction_ellipse(points_mm: npt.ArrayLike, probability: float = 0.95
                       ) -> PredictionEllipse:
    """The ``probability`` prediction ellipse of points (n, 2) in mm (rows with NaN left out).

    Area ``pi * scale * sqrt(det S)``, ``S`` the sample covariance, ``scale`` from
    :func:`prediction_scale` (Schubert & Kirchner 2014, with the exact finite-sample F factor).
    """
    points = _points(points_mm)
    valid = points[np.isfinite(points).all(axis=1)]
    scale = prediction_scale(valid.shape[0], probability)
    centre = valid.mean(axis=0)
    covariance = np.cov(valid, rowvar=False, ddof=1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
    minor_var, major_var = (max(float(v), 0.0) for v in eigenvalues)
    major_axis = eigenvectors[:, 1]
    angle = math.degrees(math.atan2(float(major_axis[1]), float(major_axis[0])))
    angle = (angle + 90.0) % 180.0 - 90.0  # an axis, not a direction: (-90, 90]
    major, minor = math.sqrt(scale * major_var), math.sqrt(scale * minor_var)
    return PredictionEllipse(
        probability=float(probability), centre_mm=(float(centre[0]), float(centre[1])),
        semi_axes_mm=(major, minor), angle_deg=angle, area_mm2=math.pi * major * minor,
        scale=scale, samples=int(valid.shape[0]))


@dataclass(frozen=True)
class CopSway:
    """Sway measures of a CoP trajectory (x = ML, y = AP, mm), after Prieto et al. (1996)."""

    samples: int  # defined (non-NaN) samples used
    duration_s: float  # time covered by steps between consecutive defined samples
    path_length_mm: float
    mean_velocity_mm_s: float  # path length / duration
    mean_distance_mm: float  # mean distance from the mean CoP
    rms_distance_mm: float  # root mean square distance from the mean CoP
    rms_ml_mm: float
    rms_ap_mm: float
    range_ml_mm: float
    range_ap_mm: float
    ellipse_area_95_mm2: float  # 95 % prediction ellipse
    ellipse: PredictionEllipse

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def cop_sway(cop_mm: npt.ArrayLike, sample_rate_hz: float) -> CopSway:
    """Sway measures of a CoP trajectory (n, 2) in mm sampled at ``sample_rate_hz``.

    NaN rows (too little load for a CoP) are left out: the path and its duration count only
    steps between consecutive defined samples; the distances and the ellipse use every defined
    sample. Needs at least 3 defined samples.
    """
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0.0):
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz!r}")
    points = _points(cop_mm)
    defined = np.asarray(np.isfinite(points).all(axis=1), dtype=np.bool_)
    valid = points[defined]
    if valid.shape[0] < 3:
        raise ValueError(f"sway needs at least 3 samples with a CoP, got {valid.shape[0]}")
    steps = np.diff(points, axis=0)
    consecutive = defined[1:] & defined[:-1]
    path = float(np.hypot(steps[consecutive, 0], steps[consecutive, 1]).sum())
    duration = int(np.count_nonzero(consecutive)) / sample_rate_hz
    offsets = valid - valid.mean(axis=0)
    distance = np.hypot(offsets[:, 0], offsets[:, 1])
    ellipse = prediction_ellipse(valid, 0.95)
    return CopSway(
        samples=int(valid.shape[0]), duration_s=duration, path_length_mm=path,
        mean_velocity_mm_s=path / duration if duration > 0.0 else math.nan,
        mean_distance_mm=float(distance.mean()),
        rms_distance_mm=float(np.sqrt(np.mean(distance**2))),
        rms_ml_mm=float(np.sqrt(np.mean(offsets[:, 0] ** 2))),
        rms_ap_mm=float(np.sqrt(np.mean(offsets[:, 1] ** 2))),
        range_ml_mm=float(np.ptp(valid[:, 0])), range_ap_mm=float(np.ptp(valid[:, 1])),
        ellipse_area_95_mm2=ellipse.area_mm2, ellipse=ellipse)


# -- weight bearing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightBearing:
    """How a standing patient shares their weight: means and standard deviations over samples.

    ``*_pct_bw``: % of body weight; ``prosthetic_share_pct``: the prosthetic foot's share of the
    two feet's load (50 = even), over samples where the feet carry at least 1 % of body weight.
    """

    prosthetic_side: Side
    samples: int
    prosthetic_pct_bw_mean: float
    prosthetic_pct_bw_sd: float
    sound_pct_bw_mean: float
    sound_pct_bw_sd: float
    bars_pct_bw_mean: float  # both bars together
    bars_pct_bw_sd: float
    prosthetic_share_pct_mean: float
    prosthetic_share_pct_sd: float

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def standing_weight_bearing(left_foot_n: npt.ArrayLike, right_foot_n: npt.ArrayLike,
                            body_weight_n: float, prosthetic_side: Side,
                            left_bar_n: npt.ArrayLike | None = None,
                            right_bar_n: npt.ArrayLike | None = None) -> WeightBearing:
    """Weight on each side (% body weight, mean and SD over samples) from the loads (n,) in N.

    Standard deviations are of the samples (population SD, n denominator). Without bar loads
    the bars count as unloaded.
    """
    left = _load(left_foot_n, "left_foot_n")
    n = left.shape[0]
    right = _load(right_foot_n, "right_foot_n", n)
    if (left_bar_n is None) != (right_bar_n is None):
        raise ValueError("give both bars' loads or neither")
    left_bar = np.zeros(n) if left_bar_n is None else _load(left_bar_n, "left_bar_n", n)
    right_bar = np.zeros(n) if right_bar_n is None else _load(right_bar_n, "right_bar_n", n)
    if n == 0:
        raise ValueError("weight bearing needs at least one sample")
    pct_bw, _ = kernels.weight_distribution_by_side(left, right, left_bar, right_bar,
                                                    float(body_weight_n), prosthetic_side)
    prosthetic, sound = pct_bw[:, 0], pct_bw[:, 1]
    bars = pct_bw[:, 2] + pct_bw[:, 3]
    feet = prosthetic + sound
    loaded = feet >= 100.0 * kernels.SHARE_MIN_TOTAL_FRACTION_BW
    share = 100.0 * prosthetic[loaded] / feet[loaded]
    share_mean, share_sd = (float(share.mean()), float(share.std())) if share.size else (
        math.nan, math.nan)
    return WeightBearing(
        prosthetic_side=prosthetic_side, samples=n,
        prosthetic_pct_bw_mean=float(prosthetic.mean()),
        prosthetic_pct_bw_sd=float(prosthetic.std()),
        sound_pct_bw_mean=float(sound.mean()), sound_pct_bw_sd=float(sound.std()),
        bars_pct_bw_mean=float(bars.mean()), bars_pct_bw_sd=float(bars.std()),
        prosthetic_share_pct_mean=share_mean, prosthetic_share_pct_sd=share_sd)


# -- helpers ------------------------------------------------------------------------------------


def _points(values: npt.ArrayLike) -> FloatArray:
    points = np.asarray(values, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"CoP must be (n, 2): x, y in mm per sample, got shape {points.shape}")
    return points


def _load(values: npt.ArrayLike, name: str, n: int | None = None) -> FloatArray:
    array = np.array(values, dtype=np.float64, order="C")
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        want = "(n,)" if n is None else f"({n},)"
        raise ValueError(f"{name} must be {want}: one load (N) per sample, got shape "
                         f"{array.shape}")
    return array
