"""The baseline: the same per-frame computation as gaitrig.processing.pipeline, in plain Python.

One call per frame, lists and floats, no numpy: what a straightforward implementation without
batching would do. The benchmark checks that it computes the same numbers before timing it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import (
    COP_MIN_FORCE_FRACTION_BW,
    HAND_MIN_FORCE_FRACTION_BW,
    STANDARD_GRAVITY,
)


def fsr_newtons(count: float, gain_n: float, exponent: float, adc_max: float) -> float:
    if count <= 0:
        return 0.0
    count = min(count, adc_max - 0.5)
    return float(gain_n * (count / (adc_max - count)) ** exponent)


def process_frame(left: Sequence[int], right: Sequence[int], bars: Sequence[int],
                  calibration: RigCalibration, layout: RigLayout,
                  body_mass_kg: float) -> dict[str, float]:
    body_weight_n = body_mass_kg * STANDARD_GRAVITY
    out: dict[str, float] = {}
    for side, counts, fsr, insole in (("left", left, calibration.insole_left, layout.left),
                                      ("right", right, calibration.insole_right, layout.right)):
        forces = [fsr_newtons(float(c), float(g), float(e), float(m)) for c, g, e, m in
                  zip(counts, fsr.gain_n, fsr.exponent, fsr.adc_max, strict=True)]
        total = sum(forces)
        out[f"{side}_foot_n"] = total
        if total >= COP_MIN_FORCE_FRACTION_BW * body_weight_n:
            out[f"{side}_cop_x_mm"] = sum(
                f * float(p[0]) for f, p in zip(forces, insole.positions_mm, strict=True)) / total
            out[f"{side}_cop_y_mm"] = sum(
                f * float(p[1]) for f, p in zip(forces, insole.positions_mm, strict=True)) / total
        else:
            out[f"{side}_cop_x_mm"] = out[f"{side}_cop_y_mm"] = math.nan
    posts = [(float(c) - float(o)) * float(g) for c, o, g in
             zip(bars, calibration.bars.offset_counts, calibration.bars.newtons_per_count,
                 strict=True)]
    rear, front = float(layout.bars.rear_post_mm), float(layout.bars.front_post_mm)
    for index, side in ((0, "left"), (2, "right")):
        bar = posts[index] + posts[index + 1]
        out[f"{side}_bar_n"] = bar
        out[f"{side}_hand_position_mm"] = (
            rear + (front - rear) * posts[index] / bar
            if bar >= HAND_MIN_FORCE_FRACTION_BW * body_weight_n else math.nan)
    for name in ("left_foot", "right_foot", "left_bar", "right_bar"):
        out[f"{name}_pct_bw"] = 100.0 * out[f"{name}_n"] / body_weight_n
    return out
