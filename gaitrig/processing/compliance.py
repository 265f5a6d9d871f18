"""Per-step judgement and a trial's load compliance (issue 13, docs/clinical-metrics.md).

Walking and partial weight bearing are judged per step, as commercial load biofeedback does:
each stance of the prosthetic foot, when it ends, by its peak load against the band and the
safety limit. The same rules serve the live trial (``gaitrig.rig.live.steps``) and the stored
metrics (``gaitrig.rig.recording.recorder`` from the stored step rows), so the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Verdict = Literal["good", "more", "too_much"]
#: A step whose peak is over this multiple of the safety limit is an overload (the usual
#: measure of partial-weight-bearing overload, docs/clinical-metrics.md).
OVERLOAD_FACTOR = 1.5


def verdict(peak_pct_bw: float, band_pct_bw: tuple[float, float]) -> Verdict | None:
    """``good`` inside the band, ``more`` under it, ``too_much`` over it; None without data."""
    if not math.isfinite(peak_pct_bw):
        return None
    low, high = band_pct_bw
    if peak_pct_bw < low:
        return "more"
    return "too_much" if peak_pct_bw > high else "good"


def band_distance_pct_bw(peak_pct_bw: float, band_pct_bw: tuple[float, float]) -> float:
    """How far the peak is from the band (% BW): negative under it, positive over, 0 inside."""
    if not math.isfinite(peak_pct_bw):
        return float("nan")
    low, high = band_pct_bw
    return peak_pct_bw - low if peak_pct_bw < low else max(0.0, peak_pct_bw - high)


def compliance(peaks_pct_bw: Sequence[float], band_pct_bw: tuple[float, float],
               limit_pct_bw: float | None) -> dict[str, Any]:
    """A trial's compliance from its prosthetic steps' peaks (% BW).

    ``steps`` (with a peak), ``pct_in_band`` (% of them inside the band), ``over_limit``
    (peak over the safety limit), ``over_150pct_limit`` (peak over 1.5 × the limit),
    ``peak_of_peaks_pct_bw``. The limit counts are null when there is no limit.
    """
    peaks = [float(p) for p in peaks_pct_bw if p is not None and math.isfinite(float(p))]
    low, high = band_pct_bw
    in_band = sum(1 for p in peaks if low <= p <= high)
    return {
        "steps": len(peaks),
        "in_band": in_band,
        "pct_in_band": round(100.0 * in_band / len(peaks), 1) if peaks else None,
        "over_limit": None if limit_pct_bw is None else sum(1 for p in peaks if p > limit_pct_bw),
        "over_150pct_limit": None if limit_pct_bw is None else sum(
            1 for p in peaks if p > OVERLOAD_FACTOR * limit_pct_bw),
        "peak_of_peaks_pct_bw": round(max(peaks), 1) if peaks else None,
    }


def compliance_by_feedback(peaks_pct_bw: Sequence[float], shown: Sequence[bool],
                           band_pct_bw: tuple[float, float], limit_pct_bw: float | None
                           ) -> dict[str, Any]:
    """Compliance of all steps, and of the steps with and without feedback side by side."""
    return {"all": compliance(peaks_pct_bw, band_pct_bw, limit_pct_bw),
            "with_feedback": compliance([p for p, s in zip(peaks_pct_bw, shown, strict=True)
                                         if s], band_pct_bw, limit_pct_bw),
            "without_feedback": compliance([p for p, s in zip(peaks_pct_bw, shown, strict=True)
                                            if not s], band_pct_bw, limit_pct_bw)}


def shown_on_step(mode: str, fade_every_n: int, index: int) -> bool:
    """Whether feedback mode ``mode`` gives the verdict of prosthetic step ``index`` (1-based)."""
    if mode == "off":
        return False
    return mode != "faded" or index % max(1, fade_every_n) == 0


def stored_compliance(step_rows: Sequence[Mapping[str, Any]],
                      targets: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored metrics' compliance (``trial_metrics.summary["compliance"]``), from a trial's
    stored step rows (``prosthetic``, ``peak_load_pct_bw`` in step order) and its stored targets
    (band, limit, and ``feedback``: the fading mode the trial started with). The steps without
    feedback are those the mode left without a verdict (1-based prosthetic step index)."""
    targets = targets or {}
    band = (float(targets.get("band_low_pct_bw", 40.0)),
            float(targets.get("band_high_pct_bw", 60.0)))
    limit = targets.get("limit_pct_bw")
    feedback = targets.get("feedback") or {}
    mode, every = str(feedback.get("mode", "full")), int(feedback.get("fade_every_n", 2))
    peaks = [float("nan") if row.get("peak_load_pct_bw") is None else
             float(row["peak_load_pct_bw"]) for row in step_rows if row.get("prosthetic")]
    shown = [shown_on_step(mode, every, i + 1) for i in range(len(peaks))]
    return {**compliance_by_feedback(peaks, shown, band,
                                     None if limit is None else float(limit)),
            "feedback": {"mode": mode, "fade_every_n": every}}


def fading_text(summary: Mapping[str, Any] | None) -> str:
    """A trial's feedback fading and its steps in band with / without feedback, as the session
    page and its PDF show it: ``"faded, every 2.: 80 % / 60 %"``; "–" without judged steps."""
    compliance = (summary or {}).get("compliance") or {}
    if not (compliance.get("all") or {}).get("steps"):
        return "–"
    feedback = compliance.get("feedback") or {}
    mode = str(feedback.get("mode", "full"))
    if mode == "faded":
        mode = f"faded, every {feedback.get('fade_every_n')}."

    def pct(part: Mapping[str, Any] | None) -> str:
        return f"{part['pct_in_band']:.0f} %" if part and part.get("steps") else "–"

    return (f"{mode}: {pct(compliance.get('with_feedback'))} / "
            f"{pct(compliance.get('without_feedback'))}")
