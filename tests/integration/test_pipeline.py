"""process_block against an independent chain of the numpy twins, and a hand-worked case."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gaitrig.processing import kernels, reference
from gaitrig.processing.pipeline import (
    STANDARD_GRAVITY,
    BlockResult,
    RigCalibration,
    RigLayout,
    process_block,
    warm_up,
)

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("left_foot_n", "right_foot_n", "left_bar_n", "right_bar_n", "total_n", "pct_bw",
          "share_pct", "left_cop_mm", "right_cop_mm", "hand_position_mm", "left_sensor_n",
          "right_sensor_n", "bar_post_n")


def compiled_signatures() -> list[int]:
    """How many type signatures numba has compiled (or loaded from cache) for each kernel."""
    dispatchers: list[Any] = list(kernels.KERNELS)
    return [len(d.signatures) for d in dispatchers]


def calibration_dicts(sensors: int, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    r = np.random.default_rng(seed)

    def insole() -> list[dict[str, Any]]:
        return [{"kind": "fsr_power_law", "gain_n": float(r.uniform(20, 120)),
                 "exponent": float(r.uniform(0.8, 1.6)), "adc_max": 1023}
                for _ in range(sensors)]

    return {"insole_left": insole(), "insole_right": insole(),
            "bars": [{"kind": "linear", "offset_counts": float(r.integers(-50_000, 50_000)),
                      "newtons_per_count": float(r.uniform(0.005, 0.02))} for _ in range(4)]}


def by_hand(left: np.ndarray, right: np.ndarray, bars: np.ndarray, cal: RigCalibration,
            layout: RigLayout, body_mass_kg: float) -> dict[str, np.ndarray]:
    """The pipeline's arithmetic written out again with the numpy twins."""
    weight = body_mass_kg * 9.80665
    threshold = 0.02 * weight
    out: dict[str, np.ndarray] = {}
    for side, counts, fsr, insole in (("left", left, cal.insole_left, layout.left),
                                      ("right", right, cal.insole_right, layout.right)):
        sensor_n = reference.fsr_counts_to_newtons(counts, fsr.gain_n, fsr.exponent, fsr.adc_max)
        out[f"{side}_sensor_n"] = sensor_n
        out[f"{side}_foot_n"] = reference.foot_force(sensor_n)
        out[f"{side}_cop_mm"] = reference.centre_of_pressure(sensor_n, insole.positions_mm,
                                                             threshold)
    post_n = reference.linear_counts_to_newtons(bars, cal.bars.offset_counts,
                                                cal.bars.newtons_per_count)
    out["bar_post_n"] = post_n
    bar_n, out["hand_position_mm"] = reference.bar_forces(
        post_n, layout.bars.rear_post_mm, layout.bars.front_post_mm, threshold)
    out["left_bar_n"], out["right_bar_n"] = bar_n[:, 0], bar_n[:, 1]
    out["total_n"] = (out["left_foot_n"] + out["right_foot_n"] + out["left_bar_n"]
                      + out["right_bar_n"])
    out["pct_bw"], out["share_pct"] = reference.weight_distribution(
        out["left_foot_n"], out["right_foot_n"], out["left_bar_n"], out["right_bar_n"], weight)
    return out


def random_block(n: int, sensors: int, cal: RigCalibration, seed: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.random.default_rng(seed)
    left = r.integers(0, 1024, size=(n, sensors))
    right = r.integers(0, 1024, size=(n, sensors))
    right[::3] = r.integers(0, 3, size=(len(right[::3]), sensors))  # right foot lifted
    post_n = r.uniform(-5.0, 150.0, size=(n, 4))
    post_n[::4, :2] = r.uniform(0.0, 1.0, size=(len(post_n[::4]), 2))  # left hand off
    bars = np.rint(post_n / cal.bars.newtons_per_count + cal.bars.offset_counts).astype(np.int64)
    return left, right, bars


@pytest.mark.parametrize(("sensors", "n", "size"), [(8, 200, 42), (16, 37, 38), (8, 1, 46),
                                                    (16, 0, 42)])
def test_matches_the_reference_chain(sensors: int, n: int, size: int) -> None:
    cal = RigCalibration.from_dicts(calibration_dicts(sensors, seed=n))
    layout = RigLayout.load(sensors, size)
    left, right, bars = random_block(n, sensors, cal, seed=n + 1)
    result = process_block(left, right, bars, cal, layout, 72.5)
    expected = by_hand(left, right, bars, cal, layout, 72.5)
    assert result.rows == n
    for field in FIELDS:
        got = getattr(result, field)
        assert got.dtype == np.float64, field
        assert got.shape == expected[field].shape, field
        np.testing.assert_allclose(got, expected[field], rtol=1e-9, err_msg=field)
    if n >= 10:  # the block exercises both the defined and the undefined cases
        assert np.isnan(result.right_cop_mm).any() and np.isfinite(result.right_cop_mm).any()
        assert np.isnan(result.hand_position_mm[:, 0]).any()
        assert np.isfinite(result.hand_position_mm[:, 0]).any()


def test_hand_worked_case() -> None:
    body_mass_kg = 50.0
    weight_n = body_mass_kg * STANDARD_GRAVITY
    layout = RigLayout.load(8, 42)
    fsr = {"kind": "fsr_power_law", "gain_n": 100.0, "exponent": 1.0, "adc_max": 1023}
    cal = RigCalibration.from_dicts({
        "insole_left": [fsr] * 8, "insole_right": [fsr] * 8,
        "bars": [{"kind": "linear", "offset_counts": 1000, "newtons_per_count": 0.01}] * 4})
    # F = 100 N * c / (1023 - c): 682 counts -> 200 N, 341 counts -> 50 N.
    left = np.zeros((2, 8), dtype=np.int64)
    right = np.zeros((2, 8), dtype=np.int64)
    bars = np.full((2, 4), 1000, dtype=np.int64)
    left[0, layout.left.channel("heel_lateral")] = 682
    right[0, layout.right.channel("metatarsal_1")] = 341
    right[0, layout.right.channel("metatarsal_5")] = 341
    bars[0] = [6000, 6000, 1000, 1000]  # 50 N on each left post, nothing on the right bar

    result = process_block(left, right, bars, cal, layout, body_mass_kg)

    assert isinstance(result, BlockResult)
    np.testing.assert_allclose(
        [result.left_foot_n[0], result.right_foot_n[0], result.left_bar_n[0],
         result.right_bar_n[0], result.total_n[0]], [200.0, 100.0, 100.0, 0.0, 400.0],
        rtol=1e-12)
    np.testing.assert_allclose(result.pct_bw[0], np.array([200, 100, 100, 0]) * 100 / weight_n,
                               rtol=1e-12)
    np.testing.assert_allclose(result.share_pct[0], [50.0, 25.0, 25.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(result.left_cop_mm[0],
                               layout.left.positions_mm[layout.left.channel("heel_lateral")])
    midpoint = layout.right.positions_mm[[3, 5]].mean(axis=0)  # metatarsals 1 and 5
    np.testing.assert_allclose(result.right_cop_mm[0], midpoint, rtol=1e-12)
    assert result.left_cop_mm[0, 0] < 0.0  # left heel_lateral is toward the patient's left
    middle = (layout.bars.rear_post_mm + layout.bars.front_post_mm) / 2
    assert result.hand_position_mm[0, 0] == pytest.approx(middle, rel=1e-12)
    assert np.isnan(result.hand_position_mm[0, 1])
    # Row 1: nobody on the rig. Zero loads, and no CoP, hand position or share (not fake zeros).
    np.testing.assert_array_equal(result.pct_bw[1], 0.0)
    for undefined in (result.left_cop_mm[1], result.right_cop_mm[1],
                      result.hand_position_mm[1], result.share_pct[1]):
        assert np.isnan(undefined).all()


def test_cop_threshold_is_two_percent_of_body_weight() -> None:
    layout = RigLayout.load(8, 42)
    fsr = {"kind": "fsr_power_law", "gain_n": 100.0, "exponent": 1.0, "adc_max": 1023}
    cal = RigCalibration.from_dicts({
        "insole_left": [fsr] * 8, "insole_right": [fsr] * 8,
        "bars": [{"kind": "linear", "offset_counts": 0, "newtons_per_count": 0.01}] * 4})
    left = np.zeros((2, 8))
    left[:, 0] = 341  # 50 N on the heel
    body_just_light_enough = 50.0 / (0.02 * STANDARD_GRAVITY)  # 50 N is exactly 2 % of BW
    result = process_block(left, left, np.zeros((2, 4)), cal, layout,
                           body_just_light_enough * 0.999)
    assert np.isfinite(result.left_cop_mm).all()
    result = process_block(left, left, np.zeros((2, 4)), cal, layout,
                           body_just_light_enough * 1.001)
    assert np.isnan(result.left_cop_mm).all()


def test_input_errors() -> None:
    layout = RigLayout.load(8, 42)
    cal = RigCalibration.from_dicts(calibration_dicts(8))
    left = np.zeros((5, 8))
    bars = np.zeros((5, 4))
    with pytest.raises(ValueError, match="same number of rows"):
        process_block(left, left[:4], bars, cal, layout, 70.0)
    with pytest.raises(ValueError, match=r"right insole counts must be \(n, 8\)"):
        process_block(left, np.zeros((5, 16)), bars, cal, layout, 70.0)
    with pytest.raises(ValueError, match=r"bars counts must be \(n, 4\)"):
        process_block(left, left, np.zeros(5), cal, layout, 70.0)
    for mass in (0.0, -70.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="body_mass_kg"):
            process_block(left, left, bars, cal, layout, mass)
    with pytest.raises(ValueError, match="16 sensors but its calibration has 8"):
        process_block(left, left, bars, cal, RigLayout.load(16, 42), 70.0)


def test_warm_up_covers_what_process_block_uses() -> None:
    warm_up()
    compiled = compiled_signatures()
    assert all(compiled)
    layout = RigLayout.load(16, 44)
    cal = RigCalibration.from_dicts(calibration_dicts(16))
    wide = np.random.default_rng(3).integers(0, 1024, size=(9, 32)).astype(np.int32)
    readonly_bars = np.zeros((9, 4), dtype=np.int64)
    readonly_bars.flags.writeable = False
    # Non-contiguous int32, read-only int64 and nested lists: no new compilation in the loop.
    process_block(wide[:, ::2], wide[:, 1::2].tolist(), readonly_bars, cal, layout, 80.0)
    assert compiled_signatures() == compiled


def test_importing_processing_compiles_nothing() -> None:
    code = ("import gaitrig.processing.pipeline, gaitrig.processing.reference\n"
            "import gaitrig.processing.kernels as k\n"
            "print(sum(len(f.signatures) for f in k.KERNELS))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "0"
