"""Each numba kernel against its plain numpy twin, and against closed-form answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gaitrig.processing import kernels, reference

ROWS = (0, 1, 7, 257)
COUNT_DTYPES = (np.int32, np.int64, np.float64)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def both(name: str) -> list[Callable[..., Any]]:
    return [getattr(kernels, name), getattr(reference, name)]


def assert_same(kernel_out: Any, reference_out: Any) -> None:
    """Same shapes, dtype float64, same NaN places, values within 1e-9 relative."""
    kernel_tuple = kernel_out if isinstance(kernel_out, tuple) else (kernel_out,)
    reference_tuple = reference_out if isinstance(reference_out, tuple) else (reference_out,)
    assert len(kernel_tuple) == len(reference_tuple)
    for got, want in zip(kernel_tuple, reference_tuple, strict=True):
        assert got.dtype == np.float64
        assert got.shape == want.shape
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-9)


# -- agreement with the numpy twins on random input ----------------------------------------------


@pytest.mark.parametrize("dtype", COUNT_DTYPES)
@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("k", [4, 16])
def test_linear_counts_to_newtons_matches_reference(dtype: Any, n: int, k: int) -> None:
    r = rng(n * 100 + k)
    counts = r.integers(-(2**23), 2**23, size=(n, k)).astype(dtype)
    offset = r.normal(0.0, 5e4, size=k)
    gain = r.normal(0.0, 1e-2, size=k)
    assert_same(kernels.linear_counts_to_newtons(counts, offset, gain),
                reference.linear_counts_to_newtons(counts, offset, gain))


@pytest.mark.parametrize("dtype", COUNT_DTYPES)
@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("k", [8, 16])
def test_fsr_counts_to_newtons_matches_reference(dtype: Any, n: int, k: int) -> None:
    r = rng(n * 100 + k + 1)
    adc_max = r.choice([1023.0, 4095.0], size=k)
    # Includes unloaded (<= 0) and saturated (>= adc_max) readings.
    counts = r.integers(-5, 4100, size=(n, k))
    counts = np.minimum(counts, adc_max.astype(np.int64) + 3).astype(dtype)
    gain = r.uniform(10.0, 200.0, size=k)
    exponent = r.uniform(0.7, 1.8, size=k)
    got = kernels.fsr_counts_to_newtons(counts, gain, exponent, adc_max)
    want = reference.fsr_counts_to_newtons(counts, gain, exponent, adc_max)
    assert_same(got, want)
    assert np.isfinite(got).all()
    assert (got >= 0.0).all()


def test_fsr_nan_counts_give_nan_in_both() -> None:
    counts = np.array([[np.nan, 0.0, 500.0, 1023.0]])
    args = (np.full(4, 100.0), np.full(4, 1.3), np.full(4, 1023.0))
    got = kernels.fsr_counts_to_newtons(counts, *args)
    assert_same(got, reference.fsr_counts_to_newtons(counts, *args))
    assert np.isnan(got[0, 0]) and not np.isnan(got[0, 1:]).any()


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("k", [8, 16])
def test_foot_force_matches_reference(n: int, k: int) -> None:
    sensor_n = rng(n + k + 2).uniform(0.0, 300.0, size=(n, k))
    got = kernels.foot_force(sensor_n)
    assert got.shape == (n,)
    assert_same(got, reference.foot_force(sensor_n))


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("k", [8, 16])
def test_centre_of_pressure_matches_reference(n: int, k: int) -> None:
    r = rng(n + k + 3)
    sensor_n = r.uniform(0.0, 100.0, size=(n, k))
    sensor_n[::3] *= 1e-3  # light rows: below the threshold
    sensor_n[::5] = 0.0  # unloaded rows
    positions = r.uniform(-60.0, 240.0, size=(k, 2))
    min_force_n = 15.0
    got = kernels.centre_of_pressure(sensor_n, positions, min_force_n)
    assert_same(got, reference.centre_of_pressure(sensor_n, positions, min_force_n))
    if n > 1:
        assert np.isnan(got[0]).all()  # row 0 is light and unloaded: NaN, not 0
        assert np.isfinite(got).any()


@pytest.mark.parametrize("n", ROWS)
def test_bar_forces_matches_reference(n: int) -> None:
    r = rng(n + 4)
    post_n = r.normal(60.0, 80.0, size=(n, 4))  # includes posts pulling (negative)
    post_n[::4] *= 1e-2
    got = kernels.bar_forces(post_n, 250.0, 2750.0, 10.0)
    want = reference.bar_forces(post_n, 250.0, 2750.0, 10.0)
    assert_same(got, want)
    if n > 7:
        assert np.isnan(got[1]).any() and np.isfinite(got[1]).any()


@pytest.mark.parametrize("n", ROWS)
def test_weight_distribution_matches_reference(n: int) -> None:
    r = rng(n + 5)
    loads = [r.normal(150.0, 150.0, size=n) for _ in range(4)]
    if n > 3:
        for load in loads:
            load[::4] = r.uniform(-1.0, 1.0)  # nobody on the rig: total ~ 0
    left_foot, right_foot, left_bar, right_bar = loads
    got = kernels.weight_distribution(left_foot, right_foot, left_bar, right_bar, 700.0)
    want = reference.weight_distribution(left_foot, right_foot, left_bar, right_bar, 700.0)
    assert_same(got, want)
    assert got[0].shape == got[1].shape == (n, 4)
    if n > 3:
        assert np.isnan(got[1][0]).all() and np.isfinite(got[0][0]).all()


# -- closed-form cases ------------------------------------------------------------------------


@pytest.mark.parametrize("convert", both("linear_counts_to_newtons"))
def test_linear_counts_known_values(convert: Callable[..., Any]) -> None:
    counts = np.array([[1000, 1000, 1000, 1000], [11000, 1000, -9000, 1000]], dtype=np.int32)
    offset = np.array([1000.0, 1000.0, 1000.0, 0.0])
    gain = np.array([0.01, 0.02, 0.01, -0.5])
    np.testing.assert_allclose(convert(counts, offset, gain),
                               [[0.0, 0.0, 0.0, -500.0], [100.0, 0.0, -100.0, -500.0]],
                               rtol=1e-12)


@pytest.mark.parametrize("convert", both("fsr_counts_to_newtons"))
@pytest.mark.parametrize("exponent", [0.8, 1.0, 1.37])
def test_fsr_divider_curve_inverted_exactly(convert: Callable[..., Any], exponent: float) -> None:
    # FSR (R_fsr) above a 10 kΩ resistor, ADC across the resistor: c = m * R / (R + R_fsr).
    # An FSR whose conductance follows F = a * (R / R_fsr) ** b has R_fsr = R * (a / F) ** (1/b).
    adc_max, gain_n, divider_ohm = 1023.0, 80.0, 10_000.0
    forces_n = np.array([0.5, 10.0, 80.0, 250.0, 900.0])
    fsr_ohm = divider_ohm * (gain_n / forces_n) ** (1.0 / exponent)
    counts = (adc_max * divider_ohm / (divider_ohm + fsr_ohm))[:, None]
    got = convert(counts, np.array([gain_n]), np.array([exponent]), np.array([adc_max]))
    np.testing.assert_allclose(got[:, 0], forces_n, rtol=1e-12)


@pytest.mark.parametrize("convert", both("fsr_counts_to_newtons"))
def test_fsr_unloaded_and_saturated(convert: Callable[..., Any]) -> None:
    counts = np.array([[-3], [0], [1], [511], [1022], [1023], [1100]], dtype=np.int64)
    got = convert(counts, np.array([100.0]), np.array([1.5]), np.array([1023.0]))[:, 0]
    saturated = 100.0 * (1022.5 / 0.5) ** 1.5
    expected = [0.0, 0.0, 100.0 * (1 / 1022) ** 1.5, 100.0 * (511 / 512) ** 1.5,
                100.0 * 1022.0**1.5, saturated, saturated]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[4] < got[5]  # saturation is the largest representable force


@pytest.mark.parametrize("cop", both("centre_of_pressure"))
def test_centre_of_pressure_all_force_on_one_sensor(cop: Callable[..., Any]) -> None:
    positions = np.array([[-12.0, 0.0], [12.0, 0.0], [28.0, 82.0], [-32.0, 160.0]])
    sensor_n = np.zeros((4, 4))
    sensor_n[np.arange(4), np.arange(4)] = 300.0
    np.testing.assert_allclose(cop(sensor_n, positions, 10.0), positions, rtol=1e-12)


@pytest.mark.parametrize("cop", both("centre_of_pressure"))
def test_centre_of_pressure_weighted_and_threshold(cop: Callable[..., Any]) -> None:
    positions = np.array([[0.0, 0.0], [40.0, 200.0]])
    sensor_n = np.array([[300.0, 100.0],  # 3:1 -> a quarter of the way to sensor 1
                         [9.0, 0.0],  # 9 N total: below the 10 N threshold
                         [10.0, 0.0],  # exactly at the threshold: defined
                         [0.0, 0.0]])
    got = cop(sensor_n, positions, 10.0)
    np.testing.assert_allclose(got[0], [10.0, 50.0], rtol=1e-12)
    assert np.isnan(got[1]).all()
    np.testing.assert_allclose(got[2], [0.0, 0.0], atol=0)
    assert np.isnan(got[3]).all()
    # No threshold: an unloaded foot still has no centre of pressure (never 0/0 or a fake 0).
    assert np.isnan(cop(np.zeros((1, 2)), positions, 0.0)).all()


@pytest.mark.parametrize("bars", both("bar_forces"))
def test_bar_forces_lever_rule(bars: Callable[..., Any]) -> None:
    # [left front, left rear, right front, right rear]
    post_n = np.array([[50.0, 50.0, 30.0, 90.0],  # left: middle; right: a quarter of the span
                       [100.0, 0.0, 0.0, 100.0],  # left at the front post, right at the rear one
                       [2.0, 2.0, -10.0, 130.0],  # left too light; right hand behind the rear post
                       [0.0, 0.0, 0.0, 0.0]])
    bar_n, hand_mm = bars(post_n, 250.0, 2750.0, 10.0)
    np.testing.assert_allclose(bar_n, [[100.0, 120.0], [100.0, 100.0], [4.0, 120.0],
                                       [0.0, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(hand_mm[0], [1500.0, 250.0 + 2500.0 * 30 / 120], rtol=1e-12)
    np.testing.assert_allclose(hand_mm[1], [2750.0, 250.0], rtol=1e-12)
    assert np.isnan(hand_mm[2, 0])
    np.testing.assert_allclose(hand_mm[2, 1], 250.0 - 2500.0 * 10 / 120, rtol=1e-12)
    assert np.isnan(hand_mm[3]).all()


@pytest.mark.parametrize("distribution", both("weight_distribution"))
def test_weight_distribution_known_values(distribution: Callable[..., Any]) -> None:
    body_weight_n = 800.0
    left_foot = np.array([400.0, 0.0, 3.0])
    right_foot = np.array([200.0, 0.0, 2.0])
    left_bar = np.array([100.0, 0.0, 1.0])
    right_bar = np.array([100.0, 0.0, 1.0])  # row 2: 7 N in total, below 1 % of 800 N
    pct_bw, share_pct = distribution(left_foot, right_foot, left_bar, right_bar, body_weight_n)
    np.testing.assert_allclose(pct_bw[0], [50.0, 25.0, 12.5, 12.5], rtol=1e-12)
    np.testing.assert_allclose(share_pct[0], [50.0, 25.0, 12.5, 12.5], rtol=1e-12)
    np.testing.assert_allclose(pct_bw[1], [0.0, 0.0, 0.0, 0.0], atol=0)
    assert np.isnan(share_pct[1:]).all()
    np.testing.assert_allclose(pct_bw[2], [0.375, 0.25, 0.125, 0.125], rtol=1e-12)


def test_shares_sum_to_100_percent() -> None:
    r = rng(7)
    left_foot, right_foot, left_bar, right_bar = (r.uniform(10.0, 400.0, size=50)
                                                  for _ in range(4))
    _, share_pct = kernels.weight_distribution(left_foot, right_foot, left_bar, right_bar, 700.0)
    np.testing.assert_allclose(share_pct.sum(axis=1), 100.0, rtol=1e-12)


# -- bad shapes are refused, not read out of bounds ------------------------------------------


@pytest.mark.parametrize("module", [kernels, reference])
def test_shape_mismatches_raise(module: Any) -> None:
    counts = np.zeros((3, 8))
    with pytest.raises(ValueError, match="one value per column"):
        module.linear_counts_to_newtons(counts, np.zeros(7), np.ones(8))
    with pytest.raises(ValueError, match="one value per column"):
        module.fsr_counts_to_newtons(counts, np.ones(8), np.ones(8), np.ones(9))
    with pytest.raises(ValueError, match="positions_mm"):
        module.centre_of_pressure(counts, np.zeros((7, 2)), 1.0)
    with pytest.raises(ValueError, match="4 columns"):
        module.bar_forces(np.zeros((3, 3)), 250.0, 2750.0, 1.0)
    with pytest.raises(ValueError, match="same number of samples"):
        module.weight_distribution(np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(3), 700.0)
    with pytest.raises(ValueError, match="body_weight_n"):
        module.weight_distribution(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), 0.0)
