"""The fused live-path kernel against its numpy twin (the separate twins chained)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitrig.processing import kernels, reference
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import BlockProcessor, process_block


def random_case(sensors: int, n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    left = rng.integers(-5, 1030, size=(n, sensors))  # below 0 and saturated counts included
    right = rng.integers(-5, 1030, size=(n, sensors))
    right[: max(1, n // 3)] = 0  # a foot in the air: CoP must be NaN
    bars = rng.integers(-2_000_000, 2_000_000, size=(n, 4))
    return left, right, bars


def calibration(sensors: int, seed: int) -> RigCalibration:
    rng = np.random.default_rng(seed + 100)
    fsr = [{"kind": "fsr_power_law", "gain_n": float(rng.uniform(10, 60)),
            "exponent": float(rng.uniform(0.8, 1.5)), "adc_max": 1023} for _ in range(sensors)]
    bars = [{"kind": "linear", "offset_counts": float(rng.uniform(-1e5, 1e5)),
             "newtons_per_count": float(rng.uniform(1e-4, 1e-3))} for _ in range(4)]
    return RigCalibration.from_dicts({"insole_left": fsr, "insole_right": fsr[::-1],
                                      "bars": bars})


@pytest.mark.parametrize("sensors", [8, 16])
@pytest.mark.parametrize("n", [0, 1, 7, 500])
def test_fused_kernel_matches_its_numpy_twin(sensors: int, n: int) -> None:
    left, right, bars = random_case(sensors, n, seed=sensors * 1000 + n)
    cal, layout = calibration(sensors, n), RigLayout.load(sensors, 40)
    fast = BlockProcessor(cal, layout, 68.0).process(left, right, bars)
    twin = BlockProcessor(cal, layout, 68.0, reference).process(left, right, bars)
    assert fast.values.shape == (len(kernels.FRAME_ROWS) + 2 * sensors + 4, n)
    np.testing.assert_allclose(fast.values, twin.values, rtol=1e-9, atol=0, equal_nan=True)
    if n:
        assert np.isnan(fast.right_cop_mm[0]).all()  # the lifted foot has no CoP, not a fake 0


def test_block_result_views_are_consistent() -> None:
    left, right, bars = random_case(8, 50, seed=3)
    result = process_block(left, right, bars, calibration(8, 3), RigLayout.load(8, 42), 80.0)
    np.testing.assert_allclose(result.left_foot_n, result.left_sensor_n.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(result.left_bar_n, result.bar_post_n[:, :2].sum(axis=1),
                               rtol=1e-12)
    np.testing.assert_allclose(result.pct_bw[:, 1], 100 * result.right_foot_n / (80 * 9.80665),
                               rtol=1e-12)
    assert result.rows == 50 and result.share_pct.shape == (50, 4)


def test_processor_refuses_mismatched_blocks() -> None:
    left, right, bars = random_case(8, 10, seed=4)
    processor = BlockProcessor(calibration(8, 4), RigLayout.load(8, 42), 70.0)
    with pytest.raises(ValueError, match="same number of rows"):
        processor.process(left, right[:5], bars)
    with pytest.raises(ValueError, match="body_mass_kg"):
        BlockProcessor(calibration(8, 4), RigLayout.load(8, 42), float("nan"))
