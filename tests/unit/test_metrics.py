"""Gait metrics on synthetic walks whose answers are known in closed form."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from gaitrig.processing.metrics import (
    FootContacts,
    TrialMetrics,
    prosthetic_share_pct,
    symmetry_index_pct,
    trial_metrics,
)

RATE_HZ = 1000.0
BODY_WEIGHT_N = 800.0
RISE_S = 0.1  # load rises linearly from 0 to its peak in this time after heel strike


def walk(left_strikes: list[float], right_strikes: list[float], left_stance_s: float,
         right_stance_s: float, left_peak_n: float = 800.0, right_peak_n: float = 800.0,
         duration_s: float | None = None, band: tuple[float, float] = (80.0, 110.0),
         prosthetic_side: str = "left", bars: tuple[Any, Any] | None = None) -> TrialMetrics:
    """A walk where each contact's load rises linearly to its peak in RISE_S, then falls
    linearly to 0 at toe off, and the CoP rolls linearly from y = 20 mm to y = 220 mm."""
    contacts = {"left": FootContacts.of(left_strikes, [t + left_stance_s for t in left_strikes]),
                "right": FootContacts.of(right_strikes,
                                         [t + right_stance_s for t in right_strikes])}
    last = max(left_strikes[-1] + left_stance_s, right_strikes[-1] + right_stance_s)
    n = round((duration_s or last + 0.5) * RATE_HZ) + 1
    t = np.arange(n) / RATE_HZ
    forces, cops = {}, {}
    for foot, peak in (("left", left_peak_n), ("right", right_peak_n)):
        force = np.zeros(n)
        cop = np.full((n, 2), np.nan)
        c = contacts[foot]
        for strike, off in zip(c.heel_strike_s, c.toe_off_s, strict=True):
            inside = (t >= strike - 1e-12) & (t <= off + 1e-12)
            s = t[inside] - strike
            force[inside] = np.where(s <= RISE_S, peak * s / RISE_S,
                                     peak * (off - strike - s) / (off - strike - RISE_S))
            cop[inside, 0] = 5.0
            cop[inside, 1] = 20.0 + 200.0 * s / (off - strike)
        forces[foot], cops[foot] = force, cop
    bar_args: dict[str, Any] = {}
    if bars is not None:
        bar_args = {"left_bar_n": bars[0], "right_bar_n": bars[1]}
    return trial_metrics(contacts["left"], contacts["right"], left_foot_n=forces["left"],
                         right_foot_n=forces["right"], left_cop_mm=cops["left"],
                         right_cop_mm=cops["right"], sample_rate_hz=RATE_HZ,
                         body_weight_n=BODY_WEIGHT_N,
                         prosthetic_side=prosthetic_side,  # type: ignore[arg-type]
                         target_band_pct_bw=band, **bar_args)


def symmetric_walk(**kwargs: Any) -> TrialMetrics:
    # Stride 1.2 s, stance 0.72 s (60 %), feet half a stride apart: 6 strides each.
    return walk([1.2 * i for i in range(6)], [0.6 + 1.2 * i for i in range(6)], 0.72, 0.72,
                **kwargs)


def test_symmetric_walk_timing_is_exact() -> None:
    trial = symmetric_walk()
    assert trial.step_count == 12
    assert [s.foot for s in trial.steps] == ["left", "right"] * 6
    assert [s.index for s in trial.steps] == list(range(12))
    for step in trial.steps:
        assert step.stance_s == pytest.approx(0.72, abs=1e-12)
        assert step.prosthetic == (step.foot == "left")
    middle = trial.steps[2:-2]
    for step in middle:
        assert step.swing_s == pytest.approx(0.48, abs=1e-12)
        assert step.stride_time_s == pytest.approx(1.2, abs=1e-12)
        assert step.step_time_s == pytest.approx(0.6, abs=1e-12)
        assert step.initial_double_support_s == pytest.approx(0.12, abs=1e-12)
        assert step.terminal_double_support_s == pytest.approx(0.12, abs=1e-12)
        assert step.double_support_s == pytest.approx(0.24, abs=1e-12)
    assert trial.cadence_steps_per_min == pytest.approx(100.0, rel=1e-12)


def test_edges_of_the_walk_are_unknown_not_zero() -> None:
    trial = symmetric_walk()
    first, second, last = trial.steps[0], trial.steps[1], trial.steps[-1]
    # The first step: no earlier contact of the right foot.
    assert math.isnan(first.step_time_s) and math.isnan(first.initial_double_support_s)
    assert first.terminal_double_support_s == pytest.approx(0.12, abs=1e-12)
    assert second.step_time_s == pytest.approx(0.6, abs=1e-12)
    # The last step: no next contact of its foot, nor of the other foot.
    assert math.isnan(last.swing_s) and math.isnan(last.stride_time_s)
    assert math.isnan(last.terminal_double_support_s)
    assert last.initial_double_support_s == pytest.approx(0.12, abs=1e-12)
    assert trial.steps[-2].terminal_double_support_s == pytest.approx(0.12, abs=1e-12)


def test_symmetric_walk_is_symmetric() -> None:
    trial = symmetric_walk()
    assert trial.stance_time_symmetry_index_pct == pytest.approx(0.0, abs=1e-9)
    assert trial.stance_time_prosthetic_share_pct == pytest.approx(50.0, rel=1e-12)
    assert trial.peak_load_symmetry_index_pct == pytest.approx(0.0, abs=1e-9)
    assert trial.peak_load_prosthetic_share_pct == pytest.approx(50.0, rel=1e-12)
    assert trial.prosthetic.steps == trial.sound.steps == 6


def test_loads_and_roll_over_per_step() -> None:
    trial = symmetric_walk()
    for step in trial.steps:
        assert step.peak_load_n == pytest.approx(800.0, rel=1e-12)
        assert step.peak_load_pct_bw == pytest.approx(100.0, rel=1e-12)
        # Linear rise 800 N in 0.1 s: 8000 N/s = 10 BW/s, whatever the levels.
        assert step.loading_rate_n_per_s == pytest.approx(8000.0, rel=1e-9)
        assert step.loading_rate_bw_per_s == pytest.approx(10.0, rel=1e-9)
        assert step.cop_start_y_mm == pytest.approx(20.0, abs=1e-9)
        assert step.cop_end_y_mm == pytest.approx(220.0, abs=1e-9)
        assert step.cop_progression_mm == pytest.approx(200.0, abs=1e-9)
        assert step.cop_path_length_mm == pytest.approx(200.0, rel=1e-9)
        assert step.samples == 721


def test_asymmetric_walk_indices() -> None:
    # Prosthetic (right) stance 0.6 s and peak 600 N; sound (left) 0.8 s and 900 N.
    trial = walk([1.4 * i for i in range(5)], [0.7 + 1.4 * i for i in range(5)], 0.8, 0.6,
                 left_peak_n=900.0, right_peak_n=600.0, prosthetic_side="right")
    assert trial.prosthetic.foot == "right" and trial.prosthetic.prosthetic
    assert trial.prosthetic.mean_stance_s == pytest.approx(0.6, abs=1e-12)
    assert trial.sound.mean_stance_s == pytest.approx(0.8, abs=1e-12)
    assert trial.stance_time_symmetry_index_pct == pytest.approx(-0.2 / 0.7 * 100, rel=1e-9)
    assert trial.stance_time_prosthetic_share_pct == pytest.approx(0.6 / 1.4 * 100, rel=1e-9)
    assert trial.peak_load_symmetry_index_pct == pytest.approx(-300 / 750 * 100, rel=1e-9)
    assert trial.peak_load_prosthetic_share_pct == pytest.approx(40.0, rel=1e-9)
    # Left contact i: 1.4 i .. 1.4 i + 0.8; right: 0.7 + 1.4 i .. 1.3 + 1.4 i.
    left_step = trial.steps[2]  # left strike at 1.4
    assert left_step.initial_double_support_s == 0.0  # the right foot left at 1.3 s
    assert left_step.terminal_double_support_s == pytest.approx(0.1, abs=1e-12)  # 2.1 .. 2.2
    right_step = trial.steps[3]  # right strike at 2.1, left off at 2.2
    assert right_step.initial_double_support_s == pytest.approx(0.1, abs=1e-12)
    assert right_step.terminal_double_support_s == 0.0  # the left foot lands after 2.7
    assert right_step.swing_s == pytest.approx(0.8, abs=1e-12)
    assert trial.cadence_steps_per_min == pytest.approx(60 / 0.7, rel=1e-12)


def test_symmetry_formulas() -> None:
    assert symmetry_index_pct(60.0, 40.0) == pytest.approx(40.0)
    assert symmetry_index_pct(40.0, 60.0) == pytest.approx(-40.0)
    assert prosthetic_share_pct(40.0, 60.0) == pytest.approx(40.0)
    assert math.isnan(symmetry_index_pct(0.0, 0.0)) and math.isnan(prosthetic_share_pct(0, 0))
    assert math.isnan(symmetry_index_pct(math.nan, 1.0))


def test_time_in_band_and_steps_in_band() -> None:
    # One contact per foot of exactly 1 s; the load rises by 1 N per sample (to 1000 N) then
    # falls back in one sample (RISE_S is not used here: build the arrays by hand).
    n = 3001
    left_n = np.zeros(n)
    left_n[0:1001] = np.arange(1001.0)  # 0 .. 1000 N over 0 .. 1 s
    right_n = np.zeros(n)
    right_n[1500:2501] = 400.0  # 50 % BW throughout
    cop = np.zeros((n, 2))
    trial = trial_metrics(FootContacts.of([0.0], [1.0]), FootContacts.of([1.5], [2.5]),
                          left_foot_n=left_n, right_foot_n=right_n, left_cop_mm=cop,
                          right_cop_mm=cop, sample_rate_hz=RATE_HZ, body_weight_n=1000.0,
                          prosthetic_side="left", target_band_pct_bw=(20.0, 50.0))
    left, right = trial.steps
    assert left.samples == right.samples == 1001
    assert left.time_in_band_s == pytest.approx(0.301, abs=1e-12)  # 200 .. 500 N inclusive
    assert left.time_in_band_pct == pytest.approx(100 * 301 / 1001, rel=1e-12)
    assert not left.peak_in_band  # its peak is 100 % BW
    assert right.time_in_band_s == pytest.approx(1.001, abs=1e-12)
    assert right.time_in_band_pct == 100.0 and right.peak_in_band
    assert (trial.prosthetic_steps_in_band, trial.sound_steps_in_band) == (0, 1)
    # A ramp that starts at 0 in its first sample: 20 % and 80 % of 1000 N are at 0.2 and 0.8 s.
    assert left.loading_rate_n_per_s == pytest.approx(1000.0, rel=1e-9)
    # A load already at its peak at heel strike has no rising edge to measure.
    assert math.isnan(right.loading_rate_n_per_s)


def test_steps_in_band_count_peaks() -> None:
    trial = walk([1.2 * i for i in range(4)], [0.6 + 1.2 * i for i in range(4)], 0.72, 0.72,
                 left_peak_n=500.0, right_peak_n=800.0, band=(55.0, 70.0))
    assert trial.prosthetic_steps_in_band == 4 and trial.sound_steps_in_band == 0
    assert trial.prosthetic.steps_in_band == 4
    # A 62.5 % BW triangle is above 55 % BW (and below 70 %) for (62.5 - 55) / 62.5 of its
    # 0.72 s: 0.0864 s, to within a sample at each of the two crossings.
    for step in trial.steps[::2]:
        assert step.time_in_band_s == pytest.approx(0.72 * 7.5 / 62.5, abs=2.5e-3)
    for step in trial.steps[1::2]:
        assert step.time_in_band_s == pytest.approx(0.72 * (70 - 55) / 100, abs=2.5e-3)


def test_bar_reliance() -> None:
    n = round(7.7 * RATE_HZ) + 1
    left_bar = np.full(n, 80.0)  # 10 % BW
    right_bar = np.full(n, 40.0)  # 5 % BW
    right_bar[1234] = 200.0  # one push: 35 % BW on the bars together
    right_bar[2000] = np.nan  # a dropped sample is left out
    trial = symmetric_walk(duration_s=7.7, bars=(left_bar, right_bar))
    assert trial.bar_reliance_peak_pct_bw == pytest.approx(35.0, rel=1e-12)
    assert trial.bar_reliance_mean_pct_bw == pytest.approx(15.0 + 20.0 / (n - 1), rel=1e-9)
    assert trial.left_bar_mean_pct_bw == pytest.approx(10.0, rel=1e-12)
    assert math.isnan(symmetric_walk().bar_reliance_mean_pct_bw)


def test_shuffling_and_pauses() -> None:
    # The left foot steps twice in a row (2.4 after 1.2): no step time for it; the 5.2 s wait
    # before the right foot's last step is a pause, left out of the cadence.
    trial = walk([0.0, 1.2, 2.4], [0.6, 7.6], 0.7, 0.7)
    by_strike = {s.heel_strike_s: s for s in trial.steps}
    assert math.isnan(by_strike[2.4].step_time_s)
    assert by_strike[7.6].step_time_s == pytest.approx(5.2, abs=1e-12)
    # Walking steps: the right foot's at 0.6 and the left foot's at 1.2, 0.6 s each.
    assert trial.cadence_steps_per_min == pytest.approx(100.0, rel=1e-12)


def test_to_dict_is_strict_json() -> None:
    trial = symmetric_walk()
    data = json.loads(json.dumps(trial.to_dict(), allow_nan=False))
    assert data["steps"][0]["step_time_s"] is None
    assert data["prosthetic"]["foot"] == "left"
    assert data["cadence_steps_per_min"] == pytest.approx(100.0)
    assert json.loads(json.dumps(trial.steps[3].to_dict(), allow_nan=False))["foot"] == "right"


@pytest.mark.parametrize(("strikes", "offs", "message"), [
    ([0.0, 1.0], [0.5], "every contact needs both"),
    ([0.0], [0.0], "after its heel strike"),
    ([0.0, 0.5], [0.7, 1.0], "must not overlap"),
    ([1.0, 0.0], [1.5, 0.5], "time order"),
    ([0.0], [math.nan], "finite"),
])
def test_contacts_are_checked(strikes: list[float], offs: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FootContacts.of(strikes, offs)


def test_bad_inputs_raise() -> None:
    contacts = FootContacts.of([0.0], [0.5])
    good: dict[str, Any] = {
        "left_foot_n": np.zeros(10), "right_foot_n": np.zeros(10),
        "left_cop_mm": np.zeros((10, 2)), "right_cop_mm": np.zeros((10, 2)),
        "sample_rate_hz": 100.0, "body_weight_n": 700.0, "prosthetic_side": "left",
        "target_band_pct_bw": (40.0, 60.0)}
    both_at_once = trial_metrics(contacts, contacts, **good)  # simultaneous heel strikes
    assert both_at_once.steps[1].step_time_s == 0.0
    assert math.isnan(both_at_once.cadence_steps_per_min)
    for change, message in (({"prosthetic_side": "both"}, "prosthetic_side"),
                            ({"body_weight_n": 0.0}, "body_weight_n"),
                            ({"target_band_pct_bw": (60.0, 40.0)}, "low <= high"),
                            ({"right_foot_n": np.zeros(9)}, "same number"),
                            ({"left_cop_mm": np.zeros(10)}, r"\(10, 2\)"),
                            ({"left_bar_n": np.zeros(10)}, "both bars")):
        with pytest.raises(ValueError, match=message):
            trial_metrics(contacts, contacts, **{**good, **change})


def test_loading_rate_interpolates_between_samples() -> None:
    # Heel strike between samples; a rise of 6543.2 N/s to a 700 N peak: the 20 % and 80 %
    # crossings fall between samples, and linear interpolation finds them exactly.
    slope, peak, strike, off = 6543.2, 700.0, 0.01234, 0.61234
    t = np.arange(1000) / RATE_HZ
    force = np.clip(slope * (t - strike), 0.0, None)
    force = np.where(t <= strike + peak / slope, force, peak * (off - t) / (off - strike
                                                                             - peak / slope))
    force = np.clip(force, 0.0, None)
    cop = np.full((1000, 2), np.nan)
    trial = trial_metrics(FootContacts.of([strike], [off]), FootContacts.of([0.7], [0.8]),
                          left_foot_n=force, right_foot_n=np.zeros(1000), left_cop_mm=cop,
                          right_cop_mm=cop, sample_rate_hz=RATE_HZ, body_weight_n=700.0,
                          prosthetic_side="left", target_band_pct_bw=(0.0, 100.0))
    step = trial.steps[0]
    assert step.samples == 600  # 13 ms .. 612 ms
    assert step.peak_load_n <= peak and step.peak_load_n > 0.99 * peak
    assert step.loading_rate_n_per_s == pytest.approx(slope, rel=1e-9)
    assert step.loading_rate_bw_per_s == pytest.approx(slope / 700.0, rel=1e-9)
    assert math.isnan(step.cop_path_length_mm) and math.isnan(step.cop_progression_mm)
