"""Each exercise's own results, as the console's trial summary, the records pages and the PDF
show them (issue 13, part 5): a list of figures (label, unit, value, text) taken from a trial's
stored metrics summary (``trial_metrics.summary``, :mod:`gaitrig.rig.offline.trial_analysis`), and
for quiet standing the 95 % prediction ellipse with the CoP trace for its plot.

Only the figures that belong to the exercise are listed (a quiet standing has no cadence, a
walk no sway). Formulas and sources: ``docs/clinical-metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gaitrig.processing.metrics import symmetry_index_pct

Summary = Mapping[str, Any]

#: How every symmetry index is worked out, shown next to it.
SYMMETRY_FORMULA = "SI = (P − S) / (0.5 (P + S)) × 100; P prosthetic, S sound side"


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    unit: str
    digits: int
    value: Callable[[Summary], float | int | None]
    note: str = ""


def _get(summary: Summary, *path: str) -> Any:
    value: Any = summary
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _side_of(summary: Summary, foot: str) -> str:
    """"prosthetic" or "sound": which of the two is ``foot`` ("left" / "right")."""
    side = _get(summary, "walking", "prosthetic_side") or "left"
    return "prosthetic" if side == foot else "sound"


def _share(summary: Summary, foot: str) -> float | None:
    share = _get(summary, "balance", "weight_bearing", "prosthetic_share_pct_mean")
    if share is None:
        return None
    return float(share) if _side_of(summary, foot) == "prosthetic" else 100.0 - float(share)


def _symmetry(name: str) -> Callable[[Summary], float | None]:
    def value(summary: Summary) -> float | None:
        p = _get(summary, "walking", "prosthetic", name)
        s = _get(summary, "walking", "sound", name)
        if p is None or s is None:
            return None
        index = symmetry_index_pct(float(p), float(s))
        return index if math.isfinite(index) else None
    return value


def _path(*path: str) -> Callable[[Summary], Any]:
    return lambda summary: _get(summary, *path)


def _excluded(summary: Summary) -> int | None:
    counts = _get(summary, "walking", "excluded_count")
    return None if counts is None else int(sum(counts.values()))


_SWAY = ("balance", "sway")
_WS = "weight_shift"
_STS = "sit_to_stand"
_EXCLUDED = Figure("excluded_contacts", "Contacts not counted", "", 0, _excluded,
                   "spanning a pause, a gap in the data or the trial's start or end")
_WALKING = (
    Figure("steps", "Steps", "", 0, _path("walking", "step_count")),
    Figure("cadence", "Cadence", "steps/min", 1, _path("walking", "cadence_steps_per_min")),
    Figure("stance_symmetry", "Stance-time symmetry", "%", 1, _symmetry("mean_stance_s"),
           SYMMETRY_FORMULA),
    Figure("swing_symmetry", "Swing-time symmetry", "%", 1, _symmetry("mean_swing_s"),
           SYMMETRY_FORMULA),
    Figure("step_time_symmetry", "Step-time symmetry", "%", 1, _symmetry("mean_step_time_s"),
           SYMMETRY_FORMULA),
    Figure("loading_rate_prosthetic", "Loading rate, prosthetic", "BW/s", 2,
           _path("walking", "prosthetic", "mean_loading_rate_bw_per_s")),
    Figure("loading_rate_sound", "Loading rate, sound", "BW/s", 2,
           _path("walking", "sound", "mean_loading_rate_bw_per_s")),
    Figure("cop_progression_prosthetic", "Heel-to-toe CoP progression, prosthetic", "mm", 0,
           _path("walking", "prosthetic", "mean_cop_progression_mm"), "mean per step"),
    Figure("cop_progression_sound", "Heel-to-toe CoP progression, sound", "mm", 0,
           _path("walking", "sound", "mean_cop_progression_mm"), "mean per step"),
    _EXCLUDED,
)
_COMPLIANCE = (
    Figure("pct_in_band", "Steps in band", "%", 0, _path("compliance", "all", "pct_in_band"),
           "prosthetic steps whose peak lay in the target band"),
    Figure("over_limit", "Steps over the limit", "", 0,
           _path("compliance", "all", "over_limit")),
    Figure("over_150pct_limit", "Steps over 150 % of the limit", "", 0,
           _path("compliance", "all", "over_150pct_limit")),
    Figure("peak_of_peaks", "Peak of peaks", "% BW", 1,
           _path("compliance", "all", "peak_of_peaks_pct_bw")),
    # Feedback fading (issue 13 part 2): the steps with and without the display's verdict.
    Figure("pct_in_band_with_feedback", "Steps in band, with feedback", "%", 0,
           _path("compliance", "with_feedback", "pct_in_band"),
           "steps whose verdict the display gave"),
    Figure("pct_in_band_without_feedback", "Steps in band, without feedback", "%", 0,
           _path("compliance", "without_feedback", "pct_in_band"),
           "steps the feedback fading left without a verdict: has the patient learnt the load?"),
)

FIGURES: dict[str, tuple[Figure, ...]] = {
    "quiet_standing": (
        Figure("sway_path", "Sway path", "mm", 0, _path(*_SWAY, "path_length_mm")),
        Figure("ellipse_area", "95 % prediction ellipse area", "mm²", 0,
               _path(*_SWAY, "ellipse_area_95_mm2")),
        Figure("range_ap", "Range AP", "mm", 1, _path(*_SWAY, "range_ap_mm")),
        Figure("range_ml", "Range ML", "mm", 1, _path(*_SWAY, "range_ml_mm")),
        Figure("load_share_left", "Load share, left", "%", 1, lambda s: _share(s, "left")),
        Figure("load_share_right", "Load share, right", "%", 1, lambda s: _share(s, "right")),
        Figure("hands_on_bars", "Hands on bars", "% BW", 1,
               _path("balance", "weight_bearing", "bars_pct_bw_mean"), "mean"),
    ),
    "weight_shift": (
        Figure("shifts", "Shifts", "", 0, _path(_WS, "shifts"), "toward either side"),
        Figure("shift_amplitude_prosthetic", "Shift amplitude, prosthetic", "% BW", 1,
               _path(_WS, "prosthetic_amplitude_pct_bw"), "mean peak load on the foot"),
        Figure("shift_amplitude_sound", "Shift amplitude, sound", "% BW", 1,
               _path(_WS, "sound_amplitude_pct_bw"), "mean peak load on the foot"),
        Figure("time_in_band_prosthetic", "Time in band, prosthetic", "s", 1,
               _path(_WS, "prosthetic_time_in_band_s")),
        Figure("time_in_band_sound", "Time in band, sound", "s", 1,
               _path(_WS, "sound_time_in_band_s")),
    ),
    "walking": _WALKING,
    "partial_weight_bearing": (
        *_COMPLIANCE, *(f for f in _WALKING if f.key in (
            "steps", "cadence", "stance_symmetry", "excluded_contacts"))),
    "sit_to_stand": (
        Figure("repetitions", "Repetitions", "", 0, _path(_STS, "repetitions")),
        Figure("time_per_repetition", "Time per repetition", "s", 1,
               _path(_STS, "mean_repetition_s")),
        Figure("rise_peak_prosthetic", "Peak load during the rise, prosthetic", "% BW", 1,
               _path(_STS, "prosthetic_peak_pct_bw")),
        Figure("rise_peak_sound", "Peak load during the rise, sound", "% BW", 1,
               _path(_STS, "sound_peak_pct_bw")),
        Figure("rise_mean_prosthetic", "Mean load during the rise, prosthetic", "% BW", 1,
               _path(_STS, "prosthetic_mean_pct_bw")),
        Figure("rise_mean_sound", "Mean load during the rise, sound", "% BW", 1,
               _path(_STS, "sound_mean_pct_bw")),
        Figure("hands_on_bars", "Hands on bars during the rise", "% BW", 1,
               _path(_STS, "bars_mean_pct_bw"), "mean"),
    ),
}


def _text(value: Any, figure: Figure) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    number = f"{float(value):.{figure.digits}f}"
    return f"{number} {figure.unit}".strip()


def exercise_results(exercise: str, summary: Summary | None) -> dict[str, Any]:
    """The figures of ``exercise`` from a stored summary (None: not analysed yet): each with
    its key, label, unit, value (None if not measured), text and note; for quiet standing
    ``ellipse`` (centre, semi-axes, angle, mm and degrees) and ``trace`` (CoP x, y mm)."""
    summary = summary or {}
    figures = []
    for figure in FIGURES.get(exercise, ()):
        value = figure.value(summary)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        figures.append({"key": figure.key, "label": figure.label, "unit": figure.unit,
                        "value": value, "text": _text(value, figure), "note": figure.note})
    result: dict[str, Any] = {"exercise": exercise, "figures": figures}
    if exercise == "quiet_standing":
        result["ellipse"] = _get(summary, *_SWAY, "ellipse")
        result["trace"] = summary.get("sway_plot")
    return result
