"""A trial's load curves for plotting: per-foot and per-bar load (% body weight) and each foot's
centre of pressure (mm) over time, from the stored result rows, downsampled for a chart.

Result columns read (names as the recorder stores them; see :data:`LOAD_SERIES`): loads in % body
weight (``left_foot_pct_bw`` ...), or in newtons (``left_foot_n`` ...) converted with the trial's
body mass (``setup["body_mass_kg"]``); CoP in the insole frame (``left_cop_x_mm`` ...), NaN while
the foot is off the ground. Time is seconds from the first stored row (the trial's start).

Downsampling keeps each load curve's shape and its peaks: MinMaxLTTB (``tsdownsample``) picks
about ``max_points / 4`` samples per load series and the curves keep the union of those samples,
so every returned point is a recorded sample and no peak load is shaved off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from tsdownsample import MinMaxLTTBDownsampler

from gaitrig.processing.pipeline import (
    STANDARD_GRAVITY,  # m/s²: body weight in N = mass in kg x this
)

#: The four loads, in % body weight, as the curves name them.
LOAD_SERIES = ("left_foot_pct_bw", "right_foot_pct_bw", "left_bar_pct_bw", "right_bar_pct_bw")
#: Each foot's centre of pressure in its insole frame (mm; origin heel centre, +y to the toes).
COP_SERIES = ("left_cop_x_mm", "left_cop_y_mm", "right_cop_x_mm", "right_cop_y_mm")
#: The least points a chart may ask for (MinMaxLTTB needs a few per series).
MIN_POINTS = 64

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LoadCurves:
    """Curves on one time axis; None where a value was not measured (CoP of a lifted foot)."""

    trial_id: int
    time_s: list[float]  # s from the first stored row
    series: dict[str, list[float | None]]  # LOAD_SERIES (% BW) and COP_SERIES (mm) present
    stored_rows: int  # rows recorded, of which ``len(time_s)`` are returned
    body_mass_kg: float | None


def load_series(values: Mapping[str, npt.NDArray[Any]], body_mass_kg: float | None
                ) -> dict[str, FloatArray]:
    """The load (% BW) and CoP (mm) columns of stored results, converting newtons to % BW."""
    out: dict[str, FloatArray] = {}
    for name in LOAD_SERIES:
        newton_name = name.removesuffix("_pct_bw") + "_n"
        if name in values:
            out[name] = np.asarray(values[name], np.float64)
        elif newton_name in values and body_mass_kg:
            weight_n = body_mass_kg * STANDARD_GRAVITY
            out[name] = np.asarray(values[newton_name], np.float64) / weight_n * 100.0
    for name in COP_SERIES:
        if name in values:
            out[name] = np.asarray(values[name], np.float64)
    return out


def plot_indices(time_s: FloatArray, loads: list[FloatArray], max_points: int
                 ) -> npt.NDArray[np.int64]:
    """Sorted indices of the samples to plot: all of them when they fit, else the union of a
    MinMaxLTTB pick per load series (at most ``max_points`` in all, first and last kept)."""
    n = int(time_s.shape[0])
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    finite = [y for y in loads if np.isfinite(y).all()]
    if not finite:  # nothing to follow: evenly spaced samples
        return np.unique(np.linspace(0, n - 1, max_points).astype(np.int64))
    per_series = (max_points - 2) // len(finite)  # the union, first and last: <= max_points
    downsampler = MinMaxLTTBDownsampler()  # type: ignore[no-untyped-call]
    picks = [np.asarray(downsampler.downsample(time_s, y, n_out=per_series), np.int64)
             for y in finite]
    return np.unique(np.concatenate([*picks, [0, n - 1]]))


def _listed(values: FloatArray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def make_curves(trial_id: int, host_time_s: FloatArray, values: Mapping[str, npt.NDArray[Any]],
                body_mass_kg: float | None, max_points: int) -> LoadCurves:
    """The curves of one trial's stored results (``host_time_s`` in s, host clock)."""
    series = load_series(values, body_mass_kg)
    n = int(host_time_s.shape[0])
    if n == 0:
        return LoadCurves(trial_id, [], {name: [] for name in series}, 0, body_mass_kg)
    time_s = np.asarray(host_time_s, np.float64) - float(host_time_s[0])
    keep = plot_indices(time_s, [series[name] for name in LOAD_SERIES if name in series],
                        max(MIN_POINTS, max_points))
    return LoadCurves(trial_id, [float(t) for t in time_s[keep]],
                      {name: _listed(column[keep]) for name, column in series.items()},
                      n, body_mass_kg)


@dataclass(frozen=True, slots=True)
class StanceCurves:
    """The load under one foot through each of its steps, on a common axis: % of stance (0 heel
    strike, 100 toe off); ``mean_pct_bw`` is the mean over the steps (the "typical step")."""

    trial_id: int
    side: str  # "prosthetic" or "sound"
    stance_pct: list[float]
    mean_pct_bw: list[float]
    step_indices: list[int]
    steps_pct_bw: list[list[float]]


def stance_profiles(time_s: FloatArray, load: FloatArray,
                    windows: list[tuple[float, float]], points: int = 101) -> FloatArray:
    """Each window's (heel strike, toe off; s on ``time_s``'s axis) load resampled by linear
    interpolation at ``points`` evenly spaced fractions of its stance: shape (steps, points).
    Windows with fewer than two samples inside are dropped."""
    fractions = np.linspace(0.0, 1.0, points)
    rows = []
    for strike_s, off_s in windows:
        inside = (time_s >= strike_s) & (time_s <= off_s)
        if inside.sum() < 2 or off_s <= strike_s:
            continue
        rows.append(np.interp(strike_s + fractions * (off_s - strike_s), time_s[inside],
                              load[inside]))
    return np.array(rows, dtype=np.float64).reshape(len(rows), points)
