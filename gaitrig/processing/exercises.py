"""Figures of the standing exercises that are not walking or quiet standing: weight shifting
from foot to foot, and rising from a chair (sit-to-stand), from the feet's loads in % BW.

Definitions and sources: ``docs/clinical-metrics.md`` ("Weight shift", "Sit-to-stand"). Pure
numpy; samples where a load is not finite (NaN: a gap in the recording) are left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gaitrig.processing.metrics import json_ready

FloatArray = npt.NDArray[np.float64]

#: A shift toward a foot begins when that foot carries this much more than the other (% BW)
#: and ends when the other foot does: hysteresis against sway around an even stance.
SHIFT_THRESHOLD_PCT_BW = 10.0
#: Sit-to-stand: seated while the feet together carry at most this (% BW) ...
SEATED_PCT_BW = 40.0
#: ... standing once they carry at least this (% BW).
STANDING_PCT_BW = 80.0
#: A rise counts only after the patient was seen seated this long (s): a recording that begins
#: in the middle of a rise does not count it (a trial edge).
MIN_SEATED_S = 0.3


@dataclass(frozen=True)
class WeightShift:
    """Shifts from foot to foot (``docs/clinical-metrics.md``, "Weight shift")."""

    shifts: int  # shifts toward either side
    prosthetic_shifts: int
    sound_shifts: int
    prosthetic_amplitude_pct_bw: float  # mean over shifts toward the side of its peak load
    sound_amplitude_pct_bw: float
    prosthetic_time_in_band_s: float  # the foot's load within the target band
    sound_time_in_band_s: float

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def weight_shift(prosthetic_pct_bw: npt.ArrayLike, sound_pct_bw: npt.ArrayLike,
                 sample_rate_hz: float, band_pct_bw: tuple[float, float]) -> WeightShift:
    """Count the shifts and measure them: a shift toward a foot lasts from the sample its
    load first exceeds the other's by :data:`SHIFT_THRESHOLD_PCT_BW` until the other foot's
    load first exceeds it by as much; its amplitude is the peak load on that foot during it."""
    p = np.asarray(prosthetic_pct_bw, dtype=np.float64)
    s = np.asarray(sound_pct_bw, dtype=np.float64)
    difference = p - s
    toward: int = 0  # +1 prosthetic, -1 sound, 0 none yet
    start = 0
    peaks: dict[int, list[float]] = {1: [], -1: []}
    for i, d in enumerate(difference):
        if not math.isfinite(d):
            continue
        side = 1 if d > SHIFT_THRESHOLD_PCT_BW else -1 if d < -SHIFT_THRESHOLD_PCT_BW else 0
        if side and side != toward:
            if toward:
                peaks[toward].append(_peak(p if toward == 1 else s, start, i))
            toward, start = side, i
    if toward:
        peaks[toward].append(_peak(p if toward == 1 else s, start, difference.size))
    low, high = band_pct_bw
    period = 1.0 / sample_rate_hz

    def in_band(load: FloatArray) -> float:
        return float(np.count_nonzero((load >= low) & (load <= high))) * period

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    return WeightShift(
        shifts=len(peaks[1]) + len(peaks[-1]), prosthetic_shifts=len(peaks[1]),
        sound_shifts=len(peaks[-1]), prosthetic_amplitude_pct_bw=mean(peaks[1]),
        sound_amplitude_pct_bw=mean(peaks[-1]), prosthetic_time_in_band_s=in_band(p),
        sound_time_in_band_s=in_band(s))


def _peak(load: FloatArray, start: int, end: int) -> float:
    part = load[start:end]
    part = part[np.isfinite(part)]
    return float(part.max()) if part.size else math.nan


@dataclass(frozen=True)
class Repetition:
    """One rise from the chair: ``rise_start_s`` (the feet's load leaves the seated level) to
    ``standing_s`` (it reaches the standing level); ``end_s`` the next rise's start, or the
    sitting down after the last one (NaN if the patient did not sit again)."""

    rise_start_s: float
    standing_s: float
    end_s: float
    prosthetic_peak_pct_bw: float  # during the rise
    sound_peak_pct_bw: float
    prosthetic_mean_pct_bw: float
    sound_mean_pct_bw: float
    bars_mean_pct_bw: float


@dataclass(frozen=True)
class SitToStand:
    repetitions: int
    mean_repetition_s: float  # mean of end - rise start over repetitions with an end
    mean_rise_s: float  # mean of standing - rise start
    prosthetic_peak_pct_bw: float  # means over the repetitions of each rise's figures
    sound_peak_pct_bw: float
    prosthetic_mean_pct_bw: float
    sound_mean_pct_bw: float
    bars_mean_pct_bw: float  # hands on the bars during the rises
    rises: tuple[Repetition, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def sit_to_stand(prosthetic_pct_bw: npt.ArrayLike, sound_pct_bw: npt.ArrayLike,
                 bars_pct_bw: npt.ArrayLike, sample_rate_hz: float) -> SitToStand:
    """Repetitions of rising from a chair, from the feet's loads (% BW, sample ``j`` at
    ``j / sample_rate_hz`` s): seated while the feet together carry at most
    :data:`SEATED_PCT_BW`, standing once they carry :data:`STANDING_PCT_BW`; a repetition is a
    seated -> standing transition after at least :data:`MIN_SEATED_S` seated, its rise from the
    last seated sample to the first standing one (times interpolated linearly between samples
    at the two levels)."""
    p = np.asarray(prosthetic_pct_bw, dtype=np.float64)
    s = np.asarray(sound_pct_bw, dtype=np.float64)
    bars = np.asarray(bars_pct_bw, dtype=np.float64)
    total = p + s
    seated: bool | None = None
    last_seated = -1
    seated_since = 0
    starts: list[tuple[float, float, int, int]] = []  # rise start, standing (s), rows
    sat_down: list[float] = []
    for i, value in enumerate(total):
        if not math.isfinite(value):
            continue
        if value <= SEATED_PCT_BW:
            if seated is not True:
                seated_since = i
            if seated is False:
                sat_down.append(_crossing(total, i, SEATED_PCT_BW, sample_rate_hz))
            seated, last_seated = True, i
        elif value >= STANDING_PCT_BW and seated is not None and not seated:
            seated = False  # standing, without a rise seen from the chair
        elif value >= STANDING_PCT_BW and seated:
            if (last_seated - seated_since + 1) / sample_rate_hz < MIN_SEATED_S:
                seated = False
                continue
            starts.append((_crossing(total, last_seated + 1, SEATED_PCT_BW, sample_rate_hz),
                           _crossing(total, i, STANDING_PCT_BW, sample_rate_hz),
                           last_seated, i + 1))
            seated = False
    rises = []
    for k, (start_s, standing_s, first, end) in enumerate(starts):
        if k + 1 < len(starts):
            end_s = starts[k + 1][0]
        else:
            after = [t for t in sat_down if t > standing_s]
            end_s = after[0] if after else math.nan
        rows = slice(first, end)
        rises.append(Repetition(start_s, standing_s, end_s, _peak(p, first, end),
                                _peak(s, first, end), _mean(p[rows]), _mean(s[rows]),
                                _mean(bars[rows])))

    def over(name: str) -> float:
        return _mean(np.array([getattr(r, name) for r in rises], dtype=np.float64))

    return SitToStand(
        repetitions=len(rises),
        mean_repetition_s=_mean(np.array([r.end_s - r.rise_start_s for r in rises])),
        mean_rise_s=_mean(np.array([r.standing_s - r.rise_start_s for r in rises])),
        prosthetic_peak_pct_bw=over("prosthetic_peak_pct_bw"),
        sound_peak_pct_bw=over("sound_peak_pct_bw"),
        prosthetic_mean_pct_bw=over("prosthetic_mean_pct_bw"),
        sound_mean_pct_bw=over("sound_mean_pct_bw"),
        bars_mean_pct_bw=over("bars_mean_pct_bw"), rises=tuple(rises))


def _crossing(values: FloatArray, i: int, level: float, rate: float) -> float:
    """Time (s) at which ``values`` crosses ``level`` between samples ``i - 1`` and ``i``."""
    if i <= 0 or not math.isfinite(values[i - 1]) or values[i] == values[i - 1]:
        return i / rate
    fraction = float((level - values[i - 1]) / (values[i] - values[i - 1]))
    return (i - 1 + min(max(fraction, 0.0), 1.0)) / rate


def _mean(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan
