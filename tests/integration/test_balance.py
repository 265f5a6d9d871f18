"""Standing balance: CoP sway and prediction ellipse on known trajectories and distributions,
weight bearing, and the standing kernels against their numpy twins."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gaitrig.processing import kernels, reference
from gaitrig.processing.balance import (
    FootPlacement,
    cop_sway,
    prediction_ellipse,
    prediction_scale,
    side_by_side_placement,
    standing_cop_mm,
    standing_weight_bearing,
)
from gaitrig.processing.layouts import RigLayout

CHI2_2DOF_95 = -2.0 * math.log(0.05)  # 5.991464547...


def assert_same(got: Any, want: Any) -> None:
    """Same shapes, dtype float64, same NaN places, values within 1e-9 relative."""
    got_tuple = got if isinstance(got, tuple) else (got,)
    want_tuple = want if isinstance(want, tuple) else (want,)
    assert len(got_tuple) == len(want_tuple)
    for g, w in zip(got_tuple, want_tuple, strict=True):
        assert g.dtype == np.float64 and g.shape == w.shape
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(g, w, rtol=1e-9)


def both(name: str) -> list[Callable[..., Any]]:
    return [getattr(kernels, name), getattr(reference, name)]


# -- kernels against their twins ------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 257])
@pytest.mark.parametrize(("k_left", "k_right"), [(8, 8), (16, 16), (8, 16)])
def test_combined_centre_of_pressure_matches_reference(n: int, k_left: int,
                                                       k_right: int) -> None:
    r = np.random.default_rng(n * 31 + k_left + k_right)
    left_n = r.uniform(0.0, 80.0, size=(n, k_left))
    right_n = r.uniform(0.0, 80.0, size=(n, k_right))
    left_n[::3] *= 1e-3  # light rows: below the threshold
    right_n[::3] *= 1e-3
    left_n[::5] = 0.0
    right_n[::5] = 0.0
    left_pos = r.uniform(-50.0, 260.0, size=(k_left, 2))
    right_pos = r.uniform(-50.0, 260.0, size=(k_right, 2))
    # Poses in a frame whose origin is a corner of the walkway: coordinates stay far from 0,
    # where a relative tolerance would be meaningless.
    left_pose = np.array([400.0, 600.0, r.uniform(-0.5, 0.5)])
    right_pose = np.array([650.0, 580.0, r.uniform(-0.5, 0.5)])
    args = (left_n, right_n, left_pos, right_pos, left_pose, right_pose, 20.0)
    got = kernels.combined_centre_of_pressure(*args)
    assert got.shape == (n, 2)
    assert_same(got, reference.combined_centre_of_pressure(*args))
    if n > 5:
        assert np.isnan(got[0]).all() and np.isfinite(got).any()


@pytest.mark.parametrize("n", [0, 1, 7, 257])
@pytest.mark.parametrize("side", ["left", "right"])
def test_weight_distribution_by_side_matches_reference(n: int, side: str) -> None:
    r = np.random.default_rng(n + 11)
    loads = [r.normal(150.0, 150.0, size=n) for _ in range(4)]
    if n > 3:
        for load in loads:
            load[::4] = r.uniform(-1.0, 1.0)
    left_foot, right_foot, left_bar, right_bar = loads
    got = kernels.weight_distribution_by_side(left_foot, right_foot, left_bar, right_bar, 700.0,
                                              side)
    assert_same(got, reference.weight_distribution_by_side(left_foot, right_foot, left_bar,
                                                           right_bar, 700.0, side))
    plain = reference.weight_distribution(left_foot, right_foot, left_bar, right_bar, 700.0)
    feet = [0, 1] if side == "left" else [1, 0]
    np.testing.assert_array_equal(got[0][:, :2], plain[0][:, feet])
    np.testing.assert_array_equal(got[0][:, 2:], plain[0][:, 2:])


@pytest.mark.parametrize("distribution", both("weight_distribution_by_side"))
def test_weight_distribution_by_side_known_values(distribution: Callable[..., Any]) -> None:
    one = np.ones(1)
    pct_bw, share = distribution(400.0 * one, 200.0 * one, 100.0 * one, 100.0 * one, 800.0,
                                 "right")
    np.testing.assert_allclose(pct_bw[0], [25.0, 50.0, 12.5, 12.5], rtol=1e-12)
    np.testing.assert_allclose(share[0], [25.0, 50.0, 12.5, 12.5], rtol=1e-12)
    with pytest.raises(ValueError, match="prosthetic_side"):
        distribution(one, one, one, one, 800.0, "both")


@pytest.mark.parametrize("cop", both("combined_centre_of_pressure"))
def test_combined_centre_of_pressure_closed_form(cop: Callable[..., Any]) -> None:
    positions = np.array([[0.0, 0.0], [0.0, 100.0]])
    left_pose = np.array([-100.0, 0.0, math.pi / 2])  # toes point to the left (-x)
    right_pose = np.array([100.0, 50.0, 0.0])
    left_n = np.array([[0.0, 300.0], [0.0, 300.0], [5.0, 0.0]])
    right_n = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 4.0]])
    got = cop(left_n, right_n, positions, positions, left_pose, right_pose, 10.0)
    # Row 0: all on the left toe sensor at (0, 100) in the insole -> (-100 - 100, 0).
    np.testing.assert_allclose(got[0], [-200.0, 0.0], rtol=1e-12, atol=1e-12)
    # Row 1: 3:1 between (-200, 0) and the right heel at (100, 50).
    np.testing.assert_allclose(got[1], [-200.0 + 0.25 * 300.0, 12.5], rtol=1e-12)
    assert np.isnan(got[2]).all()  # 9 N in total: below 10 N


def test_standing_cop_of_a_symmetric_stance_is_on_the_midline() -> None:
    layouts = RigLayout.load(16, 42)
    left, right = side_by_side_placement(220.0, toe_out_deg=8.0)
    assert left.angle_deg == 8.0 and right.angle_deg == -8.0
    sensor_n = np.random.default_rng(4).uniform(5.0, 60.0, size=(50, 16))
    # Mirrored insoles, mirrored placements, the same load on mirrored sensors.
    cop = standing_cop_mm(sensor_n, sensor_n, layouts, left, right, 20.0)
    np.testing.assert_allclose(cop[:, 0], 0.0, atol=1e-9)
    heel_only = np.zeros((1, 16))
    heel_only[0, list(layouts.left.region_channels("heel"))] = 100.0
    y = standing_cop_mm(heel_only, heel_only, layouts, left, right, 20.0)[0, 1]
    assert abs(y) < 40.0  # the heels sit near the heel-centre line y = 0
    with pytest.raises(ValueError, match="finite"):
        FootPlacement(math.nan, 0.0)


# -- sway ---------------------------------------------------------------------------------------


def circle(radius_mm: float, turns: int, samples_per_turn: int) -> np.ndarray:
    angle = 2 * np.pi * np.arange(turns * samples_per_turn) / samples_per_turn
    return np.stack([30.0 + radius_mm * np.cos(angle), -12.0 + radius_mm * np.sin(angle)],
                    axis=1)


def test_cop_on_a_circle() -> None:
    radius, rate_hz, samples_per_turn = 40.0, 100.0, 200  # one turn in 2 s
    cop = circle(radius, 3, samples_per_turn)
    sway = cop_sway(cop, rate_hz)
    chord = 2 * radius * math.sin(math.pi / samples_per_turn)
    assert sway.samples == 600
    assert sway.duration_s == pytest.approx(5.99, rel=1e-12)
    assert sway.path_length_mm == pytest.approx(599 * chord, rel=1e-12)
    assert sway.mean_velocity_mm_s == pytest.approx(chord * rate_hz, rel=1e-12)
    # The chords are a hair shorter than the arc: 2 pi r per 2 s.
    assert sway.mean_velocity_mm_s == pytest.approx(math.pi * radius, rel=1e-4)
    assert sway.rms_distance_mm == pytest.approx(radius, rel=1e-12)
    assert sway.mean_distance_mm == pytest.approx(radius, rel=1e-12)
    assert sway.rms_ml_mm == pytest.approx(radius / math.sqrt(2), rel=1e-12)
    assert sway.rms_ap_mm == pytest.approx(radius / math.sqrt(2), rel=1e-12)
    assert sway.range_ml_mm == pytest.approx(2 * radius, rel=1e-12)
    # A uniform circle has covariance r²/2 I (sample covariance: x n/(n-1)).
    variance = radius**2 / 2 * 600 / 599
    assert sway.ellipse_area_95_mm2 == pytest.approx(
        math.pi * prediction_scale(600, 0.95) * variance, rel=1e-9)
    assert sway.ellipse.semi_axes_mm[0] == pytest.approx(sway.ellipse.semi_axes_mm[1],
                                                         rel=1e-9)
    json.dumps(sway.to_dict(), allow_nan=False)


def test_gaps_in_the_cop_are_not_bridged() -> None:
    cop = circle(40.0, 1, 200)
    gapped = cop.copy()
    gapped[50:60] = np.nan
    full, with_gap = cop_sway(cop, 100.0), cop_sway(gapped, 100.0)
    chord = full.path_length_mm / 199
    assert with_gap.samples == 190
    assert with_gap.path_length_mm == pytest.approx(chord * (199 - 11), rel=1e-12)
    assert with_gap.duration_s == pytest.approx(1.88, rel=1e-12)
    assert with_gap.mean_velocity_mm_s == pytest.approx(full.mean_velocity_mm_s, rel=1e-12)


def test_straight_line_sway() -> None:
    # Back and forth along AP only: ML measures are 0, the ellipse degenerates to a line.
    y = np.tile(np.r_[np.arange(0.0, 10.0), np.arange(10.0, 0.0, -1.0)], 5)
    cop = np.stack([np.full(y.size, 3.0), y], axis=1)
    sway = cop_sway(cop, 50.0)
    assert sway.path_length_mm == pytest.approx(y.size - 1, rel=1e-12)
    assert sway.mean_velocity_mm_s == pytest.approx(50.0, rel=1e-12)
    assert sway.rms_ml_mm == 0.0 and sway.range_ap_mm == 10.0
    assert sway.ellipse_area_95_mm2 == pytest.approx(0.0, abs=1e-9)
    assert abs(sway.ellipse.angle_deg) == pytest.approx(90.0)


# -- the prediction ellipse ------------------------------------------------------------------


def test_f_quantiles_match_tables() -> None:
    # F(0.95; 2, m) from statistical tables: 19.00 (m = 2), 4.10 (10), 3.49 (20), 3.07 (120).
    for m, table in ((2, 19.00), (10, 4.103), (20, 3.493), (120, 3.072)):
        n = m + 2
        f_quantile = prediction_scale(n, 0.95) * n * m / (2 * (n + 1) * (n - 1))
        assert f_quantile == pytest.approx(table, abs=2e-3)
    assert prediction_scale(10**7, 0.95) == pytest.approx(CHI2_2DOF_95, rel=1e-5)
    with pytest.raises(ValueError, match="at least 3"):
        prediction_scale(2, 0.95)


def test_gaussian_cloud_ellipse_area() -> None:
    r = np.random.default_rng(8)
    covariance = np.array([[36.0, 10.0], [10.0, 9.0]])  # ML SD 6 mm, AP SD 3 mm, correlated
    points = r.multivariate_normal([5.0, 40.0], covariance, size=40_000)
    ellipse = prediction_ellipse(points)
    expected = math.pi * CHI2_2DOF_95 * math.sqrt(np.linalg.det(covariance))
    assert ellipse.area_mm2 == pytest.approx(expected, rel=0.02)  # sampling error ~0.7 %
    # The major axis of this covariance leans +x toward +y.
    _, eigenvectors = np.linalg.eigh(covariance)
    true_angle = math.degrees(math.atan2(eigenvectors[1, 1], eigenvectors[0, 1])) % 180
    assert ellipse.angle_deg % 180 == pytest.approx(true_angle, abs=2.0)
    # A prediction ellipse holds 95 % of further samples (a confidence ellipse would not).
    fresh = r.multivariate_normal([5.0, 40.0], covariance, size=40_000)
    assert ellipse.contains(fresh).mean() == pytest.approx(0.95, abs=0.005)


def test_contains_is_the_mahalanobis_rule() -> None:
    r = np.random.default_rng(9)
    for _ in range(50):
        points = r.multivariate_normal([0.0, 0.0], [[4.0, -1.5], [-1.5, 2.0]], size=9)
        ellipse = prediction_ellipse(points)
        queries = r.normal(0.0, 4.0, size=(200, 2))
        offsets = queries - points.mean(axis=0)
        inverse = np.linalg.inv(np.cov(points, rowvar=False))
        mahalanobis2 = np.einsum("ti,ij,tj->t", offsets, inverse, offsets)
        np.testing.assert_array_equal(ellipse.contains(queries),
                                      mahalanobis2 <= ellipse.scale)


@pytest.mark.parametrize("n", [5, 12])
def test_small_samples_still_predict_95_percent(n: int) -> None:
    # Many small samples, each with one further point: the finite-sample factor makes the
    # coverage exactly 95 %; the large-sample chi-square factor would cover far less.
    trials = 200_000
    r = np.random.default_rng(n)
    draws = r.standard_normal((trials, n + 1, 2)) @ np.array([[3.0, 0.0], [1.0, 1.5]])
    sample, fresh = draws[:, :n], draws[:, n]
    centre = sample.mean(axis=1)
    deviations = sample - centre[:, None]
    covariance = np.einsum("tni,tnj->tij", deviations, deviations) / (n - 1)
    offset = fresh - centre
    mahalanobis2 = np.einsum("ti,tij,tj->t", offset, np.linalg.inv(covariance), offset)
    coverage = (mahalanobis2 <= prediction_scale(n, 0.95)).mean()
    assert coverage == pytest.approx(0.95, abs=0.003)  # 6 standard errors
    assert (mahalanobis2 <= CHI2_2DOF_95).mean() < 0.93


# -- weight bearing ------------------------------------------------------------------------------


def test_weight_bearing_means_and_sds() -> None:
    body_weight_n = 800.0
    t = np.arange(1000) / 100.0
    shift_n = 80.0 * np.sin(2 * np.pi * 0.5 * t)  # 10 % BW side to side, whole periods
    left = 300.0 + shift_n
    right = 420.0 - shift_n
    left_bar = np.full(t.size, 50.0)
    right_bar = np.full(t.size, 30.0)
    result = standing_weight_bearing(left, right, body_weight_n, "right", left_bar, right_bar)
    assert result.prosthetic_pct_bw_mean == pytest.approx(52.5, rel=1e-12)
    assert result.sound_pct_bw_mean == pytest.approx(37.5, rel=1e-12)
    assert result.prosthetic_pct_bw_sd == pytest.approx(10.0 / math.sqrt(2), rel=1e-9)
    assert result.bars_pct_bw_mean == pytest.approx(10.0, rel=1e-12)
    assert result.bars_pct_bw_sd == pytest.approx(0.0, abs=1e-12)
    share = 100.0 * right / (left + right)
    assert result.prosthetic_share_pct_mean == pytest.approx(share.mean(), rel=1e-12)
    assert result.prosthetic_share_pct_mean == pytest.approx(420.0 / 7.2, rel=1e-12)
    assert result.prosthetic_share_pct_sd == pytest.approx(share.std(), rel=1e-12)
    json.dumps(result.to_dict(), allow_nan=False)


def test_weight_bearing_without_bars_and_unloaded() -> None:
    result = standing_weight_bearing(np.full(10, 350.0), np.full(10, 350.0), 700.0, "left")
    assert result.prosthetic_share_pct_mean == 50.0 and result.bars_pct_bw_mean == 0.0
    empty = standing_weight_bearing(np.zeros(5), np.zeros(5), 700.0, "left")
    assert math.isnan(empty.prosthetic_share_pct_mean)
    assert empty.to_dict()["prosthetic_share_pct_mean"] is None
    with pytest.raises(ValueError, match="both bars"):
        standing_weight_bearing(np.zeros(5), np.zeros(5), 700.0, "left", np.zeros(5))
    with pytest.raises(ValueError, match=r"\(5,\)"):
        standing_weight_bearing(np.zeros(5), np.zeros(4), 700.0, "left")
