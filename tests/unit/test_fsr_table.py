"""FSR calibration as a per-sensor table: validation, kernels against np.interp, agreement with
the power law it was built from (within the interpolation error bound), the live pipeline and
the body-weight calibration."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest

from gaitrig.processing import kernels, reference
from gaitrig.processing.calibration import FsrCalibration, RigCalibration
from gaitrig.processing.calibration_procedures import CalibrationRecord
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import BlockProcessor

ADC_MAX = 1023.0


def power_law_n(c: np.ndarray, gain_n: float, exponent: float) -> np.ndarray:
    """The power law in closed form (N), for 0 <= c < ADC_MAX."""
    result: np.ndarray = gain_n * (c / (ADC_MAX - c)) ** exponent
    return result


def power_law_second_derivative(c: np.ndarray, gain_n: float, exponent: float) -> np.ndarray:
    """d²F/dc² of the power law (N per count²), closed form, for 0 < c < ADC_MAX.

    With u = c / (m - c): F = a u^b, F'' = a b m u^(b-1) / (m - c)^3 * ((b - 1) m / c + 2).
    """
    m = ADC_MAX
    u = c / (m - c)
    result: np.ndarray = (gain_n * exponent * m * u ** (exponent - 1.0) / (m - c) ** 3
                          * ((exponent - 1.0) * m / c + 2.0))
    return result


def table(counts: Any, newtons: Any) -> dict[str, Any]:
    return {"kind": "fsr_table", "counts": list(counts), "newtons": list(newtons)}


def power(gain: float = 30.0, exponent: float = 1.0) -> dict[str, Any]:
    return {"kind": "fsr_power_law", "gain_n": gain, "exponent": exponent, "adc_max": 1023}


def random_board(k: int, seed: int) -> list[dict[str, Any]]:
    """Mixed channels: tables of 2 to 40 random knots (some starting above 0 counts), power laws."""
    r = np.random.default_rng(seed)
    channels: list[dict[str, Any]] = []
    for j in range(k):
        if j % 3 == 2:
            channels.append(power(float(r.uniform(10, 60)), float(r.uniform(0.8, 1.5))))
            continue
        knots = int(r.integers(2, 41))
        xs = np.sort(r.choice(np.arange(0, 1024), size=knots, replace=False)).astype(float)
        xs[1:] += r.uniform(0.0, 0.9, size=knots - 1)  # fractional counts too
        ys = np.cumsum(r.uniform(0.0, 20.0, size=knots)) * (j % 2)  # all-zero table for even j
        channels.append(table(xs.tolist(), ys.tolist()))
    return channels


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "message"), [
    (table([0, 100, 100], [0, 1, 2]), "field 'counts' must increase strictly, knot 1 is 100"),
    (table([0, 200, 100], [0, 1, 2]), "field 'counts' must increase strictly, knot 1 is 200"),
    (table([0, 100, 200], [0, -1, 2]), "field 'newtons' must not be negative, knot 1 is -1"),
    (table([0, 100, 200], [0, 5, 4]), "field 'newtons' must never decrease"),
    (table([0], [0]), "a table needs at least 2 knots, got 1"),
    (table([0, 100], [0, 1, 2]), "the table has 2 counts but 3 forces"),
    (table([0, float("nan")], [0, 1]), "field 'counts\\[1\\]' must be finite"),
    (table([0, 100], [0, float("inf")]), "field 'newtons\\[1\\]' must be finite"),
    (table([0, "100"], [0, 1]), "field 'counts\\[1\\]' must be a number"),
    ({"kind": "fsr_table", "counts": "0 100", "newtons": [0, 1]},
     "field 'counts' must be a list of numbers"),
    ({"kind": "fsr_table", "counts": [0, 100]}, "missing field 'newtons'"),
    ({**table([0, 100], [0, 1]), "adc_max": 1023}, "unknown field 'adc_max' for kind 'fsr_table'"),
    ({"kind": "fsr_spline"}, "field 'kind' must be 'fsr_power_law' or 'fsr_table'"),
])
def test_invalid_tables_are_refused_naming_channel_and_field(entry: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^insole_right channel 1: {message}"):
        FsrCalibration.from_dicts([power(), entry], board="insole_right")


def test_arrays_built_directly_are_checked_too() -> None:
    nan = np.full(2, np.nan)
    with pytest.raises(ValueError, match="channel 0: field 'counts' must increase strictly"):
        FsrCalibration(nan, nan, nan, np.array([[5.0, 5.0], [np.nan] * 2]),
                       np.array([[0.0, 1.0], [np.nan] * 2]))
    with pytest.raises(ValueError, match="channel 1: field 'gain_n' must be a positive"):
        FsrCalibration(nan, nan, nan, np.array([[0.0, 5.0], [np.nan] * 2]),
                       np.array([[0.0, 1.0], [np.nan] * 2]))
    with pytest.raises(ValueError, match="a table channel must have NaN gain_n"):
        FsrCalibration(np.ones(1), np.ones(1), np.full(1, 1023.0), np.array([[0.0, 5.0]]),
                       np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="give both or neither"):
        FsrCalibration(np.ones(1), np.ones(1), np.full(1, 1023.0), np.array([[0.0, 5.0]]))


def test_round_trip_through_json_and_a_record() -> None:
    dicts = random_board(8, seed=1)
    calibration = FsrCalibration.from_dicts(dicts)
    assert calibration.knots.tolist() == [len(d.get("counts", [])) for d in dicts]
    again = json.loads(json.dumps(calibration.to_dicts(), allow_nan=False))
    assert FsrCalibration.from_dicts(again).to_dicts() == again
    np.testing.assert_array_equal(FsrCalibration.from_dicts(again).curves, calibration.curves)
    record = CalibrationRecord(version=2, device_serial="INS-3", board="insole_left",
                               created_at="2026-12-01T10:00:00+00:00", channels=again,
                               method="table_from_bench")
    stored = CalibrationRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    restored = stored.calibration()
    assert isinstance(restored, FsrCalibration)
    np.testing.assert_array_equal(restored.curves, calibration.curves)


def test_power_law_only_boards_pack_without_table_columns() -> None:
    calibration = FsrCalibration.from_dicts([power(), power(40.0, 1.2)])
    assert calibration.curves.shape == (2, 4)
    np.testing.assert_array_equal(calibration.curves[:, 3], 0.0)
    assert calibration.to_dicts() == [power(), power(40.0, 1.2)]


# -- kernels against their numpy twin (np.interp) ----------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
@pytest.mark.parametrize(("n", "k"), [(0, 8), (1, 8), (333, 8), (200, 16)])
def test_curves_kernel_matches_np_interp_twin(dtype: Any, n: int, k: int) -> None:
    curves = FsrCalibration.from_dicts(random_board(k, seed=n + k)).curves
    counts = np.random.default_rng(n).uniform(-20, 1040, size=(n, k))  # outside every table
    counts = (np.rint(counts) if dtype is np.int64 else counts).astype(dtype)
    got = kernels.fsr_curves_to_newtons(counts, curves)
    want = reference.fsr_curves_to_newtons(counts, curves)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert np.isfinite(got).all() and (got >= 0.0).all()


def test_tables_hold_their_end_forces_and_nan_stays_nan() -> None:
    curves = FsrCalibration.from_dicts([table([100, 300, 700], [2.0, 12.0, 50.0])]).curves
    counts = np.array([[np.nan], [0.0], [100.0], [200.0], [300.0], [500.0], [700.0], [1023.0]])
    got = kernels.fsr_curves_to_newtons(counts, curves)[:, 0]
    np.testing.assert_allclose(got[1:], [2.0, 2.0, 7.0, 12.0, 31.0, 50.0, 50.0], rtol=1e-12)
    assert np.isnan(got[0])
    np.testing.assert_array_equal(np.isnan(reference.fsr_curves_to_newtons(counts, curves)),
                                  np.isnan(got[:, None]))


@pytest.mark.parametrize("sensors", [8, 16])
@pytest.mark.parametrize("n", [1, 10, 400])
def test_fused_live_kernel_with_tables_matches_its_twin(sensors: int, n: int) -> None:
    r = np.random.default_rng(sensors + n)
    rig = RigCalibration.from_dicts({
        "insole_left": random_board(sensors, seed=n), "insole_right": random_board(sensors, 7),
        "bars": [{"kind": "linear", "offset_counts": float(r.uniform(-1e5, 1e5)),
                  "newtons_per_count": float(r.uniform(1e-4, 1e-3))} for _ in range(4)]})
    layout = RigLayout.load(sensors, 40)
    left = r.integers(-5, 1030, size=(n, sensors))
    right = r.integers(-5, 1030, size=(n, sensors))
    bars = r.integers(-2_000_000, 2_000_000, size=(n, 4))
    fast = BlockProcessor(rig, layout, 70.0).process(left, right, bars)
    twin = BlockProcessor(rig, layout, 70.0, reference).process(left, right, bars)
    np.testing.assert_allclose(fast.values, twin.values, rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(fast.left_sensor_n,
                               reference.fsr_curves_to_newtons(left, rig.insole_left.curves),
                               rtol=1e-9, atol=1e-12)


# -- a table built from the power law agrees with it --------------------------------------------


@pytest.mark.parametrize(("gain_n", "exponent"), [(30.0, 1.0), (45.0, 1.3), (12.0, 1.6)])
def test_table_from_power_law_agrees_at_knots_and_within_the_interpolation_bound(
        gain_n: float, exponent: float) -> None:
    knots = np.concatenate([np.linspace(0.0, 900.0, 31), [950.0, 990.0, 1010.0, 1022.5]])
    entry = table(knots.tolist(), power_law_n(knots, gain_n, exponent).tolist())
    curves = FsrCalibration.from_dicts([entry]).curves
    at_knots = kernels.fsr_curves_to_newtons(knots[:, None], curves)[:, 0]
    np.testing.assert_allclose(at_knots, power_law_n(knots, gain_n, exponent), rtol=1e-12)
    for lo, hi in itertools.pairwise(knots):
        between = np.linspace(lo, hi, 41)[1:-1]
        got = kernels.fsr_curves_to_newtons(between[:, None], curves)[:, 0]
        exact = power_law_n(between, gain_n, exponent)
        # |error| <= h²/8 max|F''| on the interval (linear interpolation of a C² function);
        # F'' is evaluated densely on the closed interval (at c = 0 only from the right).
        dense = np.linspace(max(lo, 1e-6), hi, 2001)
        bound = (hi - lo) ** 2 / 8.0 * np.abs(power_law_second_derivative(
            dense, gain_n, exponent)).max()
        error = got - exact
        assert np.abs(error).max() <= bound * (1 + 1e-6) + 1e-12, (lo, hi)
        # The power law is convex for exponent >= 1: the chord lies above it.
        assert (error >= -1e-9 * exact.max()).all(), (lo, hi)
    # The bound is not vacuous: somewhere the table really differs from the power law.
    mid = 0.5 * (knots[:-1] + knots[1:])
    assert np.abs(kernels.fsr_curves_to_newtons(mid[:, None], curves)[:, 0]
                  - power_law_n(mid, gain_n, exponent)).max() > 1e-3


def test_scaling_a_table_scales_its_forces() -> None:
    calibration = FsrCalibration.from_dicts(random_board(6, seed=5))
    scaled = calibration.scaled(1.25)
    counts = np.random.default_rng(2).uniform(0, 1023, size=(300, 6))
    np.testing.assert_allclose(kernels.fsr_curves_to_newtons(counts, scaled.curves),
                               1.25 * kernels.fsr_curves_to_newtons(counts, calibration.curves),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(scaled.table_counts, calibration.table_counts, strict=True)
    with pytest.raises(ValueError, match="scale factor must be a positive number"):
        calibration.scaled(0.0)
