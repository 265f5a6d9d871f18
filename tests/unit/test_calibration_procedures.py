"""Calibration procedures: they recover known calibrations, and refuse with a readable reason."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from gaitrig.processing import reference
from gaitrig.processing.calibration import FsrCalibration, LinearCalibration, RigCalibration
from gaitrig.processing.calibration_procedures import (
    STANDARD_GRAVITY,
    BodyWeightLimits,
    CalibrationRecord,
    StandingPhase,
    SteadinessLimits,
    bar_gain_from_weight,
    check_standing_phase,
    insole_body_weight_calibration,
    post_gain_from_weight,
    tare_bars,
)

BAR_RATE_HZ = 80.0
TRUE_OFFSETS = np.array([12_000.0, -8_500.0, 3_300.0, 150_000.0])
TRUE_GAINS = np.array([0.010, -0.012, 0.011, 0.009])  # N per count; post 1 mounted reversed
SENSORS = 8
FSR_GAIN = np.linspace(40.0, 75.0, SENSORS)
FSR_EXPONENT = np.linspace(1.1, 1.4, SENSORS)
ADC_MAX = np.full(SENSORS, 1023.0)
#: How a foot's load spreads over its 8 sensors (sums to 1).
FOOT_SPREAD = np.array([0.22, 0.18, 0.08, 0.07, 0.15, 0.14, 0.1, 0.06])


def fsr(scale: float = 1.0) -> FsrCalibration:
    return FsrCalibration(FSR_GAIN * scale, FSR_EXPONENT, ADC_MAX)


def rig(offsets: Any = TRUE_OFFSETS, gains: Any = TRUE_GAINS) -> RigCalibration:
    return RigCalibration(fsr(), fsr(), LinearCalibration(np.array(offsets), np.array(gains)))


def bar_counts(post_n: Any, samples: int = 160, noise_counts: float = 20.0,
               seed: int = 0) -> np.ndarray:
    """Counts (n, 4) the posts read under forces ``post_n`` (4,) or (n, 4), true calibration."""
    forces = np.broadcast_to(np.asarray(post_n, dtype=np.float64), (samples, 4))
    noise = noise_counts * np.random.default_rng(seed).standard_normal((samples, 4))
    counts: np.ndarray = TRUE_OFFSETS + forces / TRUE_GAINS + noise
    return counts


def sinusoid_n(amplitude_n: float, frequency_hz: float, samples: int,
               rate_hz: float = BAR_RATE_HZ) -> np.ndarray:
    wave: np.ndarray = amplitude_n * np.sin(2 * np.pi * frequency_hz * np.arange(samples)
                                            / rate_hz)
    return wave


# -- tare --------------------------------------------------------------------------------------


def test_tare_accepts_still_bars_and_takes_the_mean() -> None:
    counts = bar_counts(np.zeros(4))
    current = rig(offsets=np.zeros(4))
    result = tare_bars(current, counts)
    assert result.accepted, result.reason
    assert result.reason.startswith("Bars tared")
    np.testing.assert_allclose(result.calibration.bars.offset_counts, counts.mean(axis=0),
                               rtol=1e-15)
    # 160 readings with 20 counts of noise: the mean is within 3 counts of the true offset.
    np.testing.assert_allclose(result.calibration.bars.offset_counts, TRUE_OFFSETS, atol=8.0)
    np.testing.assert_array_equal(result.calibration.bars.newtons_per_count, TRUE_GAINS)
    assert result.calibration.insole_left is current.insole_left
    assert result.changed_boards == ("bars",)
    assert result.inputs["samples"] == 160
    json.dumps(result.inputs, allow_nan=False)


@pytest.mark.parametrize("post", range(4))
def test_tare_refused_when_a_bar_is_touched(post: int) -> None:
    forces = np.zeros((160, 4))
    forces[:, post] = 4.0 + sinusoid_n(3.0, 1.5, 160)  # a hand resting and moving: 6 N swing
    current = rig(offsets=np.zeros(4))
    result = tare_bars(current, bar_counts(forces))
    assert not result.accepted
    assert result.calibration is current
    assert result.changed_boards == ()
    names = ("left front", "left rear", "right front", "right rear")
    assert f"the {names[post]} post varied by 6." in result.reason
    assert "nobody touches" in result.reason
    with pytest.raises(ValueError, match="refused"):
        result.record("bars", "BARS-1", 2, "2025-03-01T10:00:00+01:00")


def test_tare_refused_on_sd_alone() -> None:
    # White noise of 1.5 N SD, but clipped to a 4.8 N spread: only the SD limit can refuse it.
    noise_n = np.clip(np.random.default_rng(1).normal(0.0, 3.0, size=(400, 4)), -2.4, 2.4)
    result = tare_bars(rig(), bar_counts(noise_n, samples=400, noise_counts=0.0))
    assert not result.accepted
    assert "standard deviation" in result.reason
    loose = SteadinessLimits(max_peak_to_peak_n=5.0, max_sd_n=3.0)
    assert tare_bars(rig(), bar_counts(noise_n, samples=400, noise_counts=0.0), loose).accepted


def test_tare_refused_when_too_short_or_invalid() -> None:
    short = tare_bars(rig(), bar_counts(np.zeros(4), samples=10))
    assert not short.accepted and "too short (10 readings, at least 40" in short.reason
    counts = bar_counts(np.zeros(4))
    counts[5, 2] = np.nan
    broken = tare_bars(rig(), counts)
    assert not broken.accepted and "invalid readings" in broken.reason


def test_tare_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        tare_bars(rig(), np.zeros((100, 3)))


# -- gains from a known weight -----------------------------------------------------------------


@pytest.mark.parametrize("post", range(4))
def test_post_gain_recovers_the_true_gain(post: int) -> None:
    mass_kg = 20.0
    forces = np.zeros(4)
    forces[post] = mass_kg * STANDARD_GRAVITY
    wrong = TRUE_GAINS.copy()
    wrong[post] *= 1.3  # a datasheet gain 30 % off
    exact = post_gain_from_weight(rig(gains=wrong), bar_counts(forces, noise_counts=0.0), post,
                                  mass_kg)
    assert exact.accepted, exact.reason
    np.testing.assert_allclose(exact.calibration.bars.newtons_per_count, TRUE_GAINS, rtol=1e-12)
    np.testing.assert_array_equal(exact.calibration.bars.offset_counts, TRUE_OFFSETS)
    assert "-23.1 %" in exact.reason  # 1 / 1.3 - 1
    noisy = post_gain_from_weight(rig(gains=wrong), bar_counts(forces, seed=post), post, mass_kg)
    assert noisy.accepted, noisy.reason
    # 196 N is ~20000 counts; 20 counts of noise over 160 readings: better than 1e-3.
    np.testing.assert_allclose(noisy.calibration.bars.newtons_per_count[post], TRUE_GAINS[post],
                               rtol=1e-3)


def test_post_gain_refused_when_the_weight_is_elsewhere() -> None:
    forces = np.array([0.0, 0.0, 196.0, 0.0])  # on the right front post, not the left front
    result = post_gain_from_weight(rig(), bar_counts(forces), 0, 20.0)
    assert not result.accepted
    assert "left front post" in result.reason and "20 kg" in result.reason


def test_post_gain_refused_when_the_reading_goes_the_wrong_way() -> None:
    forces = np.array([0.0, 0.0, 0.0, 0.0])
    counts = bar_counts(forces, noise_counts=0.0)
    counts[:, 1] += 10_000  # counts rise on a reversed cell: the force would be negative
    result = post_gain_from_weight(rig(), counts, 1, 15.0)
    assert not result.accepted and "wrong way" in result.reason


def test_post_gain_refused_when_the_weight_swings() -> None:
    forces = np.zeros((160, 4))
    forces[:, 3] = 196.0 + sinusoid_n(8.0, 1.0, 160)
    result = post_gain_from_weight(rig(), bar_counts(forces), 3, 20.0)
    assert not result.accepted
    assert "not still" in result.reason and "right rear post" in result.reason


def test_bar_gain_scales_both_posts() -> None:
    mass_kg = 25.0
    weight_n = mass_kg * STANDARD_GRAVITY
    forces = np.array([0.0, 0.0, 0.3 * weight_n, 0.7 * weight_n])  # on the right bar
    wrong = TRUE_GAINS * np.array([1.0, 1.0, 0.8, 0.8])
    result = bar_gain_from_weight(rig(gains=wrong), bar_counts(forces, noise_counts=0.0),
                                  "right", mass_kg)
    assert result.accepted, result.reason
    np.testing.assert_allclose(result.calibration.bars.newtons_per_count, TRUE_GAINS,
                               rtol=1e-12)
    assert result.inputs["factor"] == pytest.approx(1.25, rel=1e-12)
    refused = bar_gain_from_weight(rig(gains=wrong), bar_counts(forces), "left", mass_kg)
    assert not refused.accepted and "left bar" in refused.reason


# -- insoles: body weight ----------------------------------------------------------------------


BODY_MASS_KG = 72.0
WEIGHT_N = BODY_MASS_KG * STANDARD_GRAVITY


def insole_counts(foot_n: np.ndarray, true_scale: float) -> np.ndarray:
    """Counts (n, 8) of an insole whose true gains are ``true_scale`` x the nominal ones."""
    sensor_n = np.asarray(foot_n, dtype=np.float64)[:, None] * FOOT_SPREAD
    u = (sensor_n / (FSR_GAIN * true_scale)) ** (1.0 / FSR_EXPONENT)
    counts: np.ndarray = ADC_MAX * u / (1.0 + u)
    return counts


def phase(left_n: Any, right_n: Any, bars_n: Any, true_left: float, true_right: float,
          samples: int = 500) -> StandingPhase:
    def series(value: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (samples,)).copy()

    bars = series(bars_n)
    post_n = np.stack([0.25 * bars] * 4, axis=1)
    return StandingPhase(insole_counts(series(left_n), true_left),
                         insole_counts(series(right_n), true_right),
                         bar_counts(post_n, samples=samples, noise_counts=0.0))


def phases(true_left: float, true_right: float, bars_pct: tuple[float, float, float] = (
        2.0, 8.0, 10.0), both_share_left: float = 0.45, lifted_n: float = 0.0,
           extra_both_n: float = 0.0) -> tuple[StandingPhase, StandingPhase, StandingPhase]:
    bars_n = [p / 100.0 * WEIGHT_N for p in bars_pct]
    on_feet = [WEIGHT_N - b for b in bars_n]
    both = phase(both_share_left * (on_feet[0] + extra_both_n),
                 (1 - both_share_left) * (on_feet[0] + extra_both_n), bars_n[0], true_left,
                 true_right)
    left = phase(on_feet[1] - lifted_n, lifted_n, bars_n[1], true_left, true_right)
    right = phase(0.0, on_feet[2], bars_n[2], true_left, true_right)
    return both, left, right


@pytest.mark.parametrize(("true_left", "true_right"), [(1.0, 1.0), (1.3, 0.8), (0.6, 1.9)])
def test_body_weight_calibration_recovers_each_insoles_scale(true_left: float,
                                                            true_right: float) -> None:
    current = rig()
    result = insole_body_weight_calibration(current, BODY_MASS_KG, *phases(true_left,
                                                                           true_right))
    assert result.accepted, result.reason
    assert result.inputs["left_factor"] == pytest.approx(true_left, rel=1e-9)
    assert result.inputs["right_factor"] == pytest.approx(true_right, rel=1e-9)
    np.testing.assert_allclose(result.calibration.insole_left.gain_n, FSR_GAIN * true_left,
                               rtol=1e-9)
    np.testing.assert_allclose(result.calibration.insole_right.gain_n, FSR_GAIN * true_right,
                               rtol=1e-9)
    np.testing.assert_array_equal(result.calibration.insole_left.exponent, FSR_EXPONENT)
    assert result.calibration.bars is current.bars
    assert result.changed_boards == ("insole_left", "insole_right")
    # With the new calibration, the feet and the bars add up to body weight while standing.
    both = phases(true_left, true_right)[0]
    feet_n = sum(reference.foot_force(reference.fsr_counts_to_newtons(
        np.asarray(counts), cal.gain_n, cal.exponent, cal.adc_max))
        for counts, cal in ((both.left_counts, result.calibration.insole_left),
                            (both.right_counts, result.calibration.insole_right)))
    np.testing.assert_allclose(feet_n + 0.02 * WEIGHT_N, WEIGHT_N, rtol=1e-9)
    json.dumps(result.inputs, allow_nan=False)


def test_body_weight_refused_when_holding_the_bars_too_much() -> None:
    current = rig()
    result = insole_body_weight_calibration(current, BODY_MASS_KG,
                                            *phases(1.0, 1.0, bars_pct=(2.0, 35.0, 10.0)))
    assert not result.accepted
    assert "held the bars too much while standing on the left foot only" in result.reason
    assert "35.0 % of body weight" in result.reason
    assert result.calibration is current and result.changed_boards == ()


def test_body_weight_refused_when_the_foot_is_not_lifted() -> None:
    result = insole_body_weight_calibration(rig(), BODY_MASS_KG,
                                            *phases(1.0, 1.0, lifted_n=0.2 * WEIGHT_N))
    assert not result.accepted
    assert "right foot did not seem lifted while standing on the left foot only" in result.reason


def test_body_weight_refused_for_an_implausible_factor() -> None:
    result = insole_body_weight_calibration(rig(), BODY_MASS_KG, *phases(2.6, 1.0))
    assert not result.accepted
    assert "left insole would need its readings multiplied by 2.60" in result.reason


def test_body_weight_refused_when_the_phases_disagree() -> None:
    # The feet carry 25 % of body weight too much while standing on both (a bounce, a push):
    # no pair of factors fits all three phases.
    result = insole_body_weight_calibration(rig(), BODY_MASS_KG,
                                            *phases(1.0, 1.0, extra_both_n=0.25 * WEIGHT_N))
    assert not result.accepted
    assert "do not agree" in result.reason


def test_body_weight_refused_when_swaying() -> None:
    both, left, right = phases(1.0, 1.0)
    samples = 500
    sway_n = 0.1 * WEIGHT_N * np.sin(2 * np.pi * np.arange(samples) / 100.0)
    on_feet = 0.98 * WEIGHT_N
    both = StandingPhase(insole_counts(0.5 * on_feet + sway_n, 1.0),
                         insole_counts(0.5 * on_feet - sway_n, 1.0), both.bar_counts)
    result = insole_body_weight_calibration(rig(), BODY_MASS_KG, both, left, right)
    assert not result.accepted
    assert "not standing still while standing on both feet" in result.reason
    assert "the left foot varied by 7.1 %" in result.reason  # 10 % / sqrt(2)
    loose = BodyWeightLimits(max_sd_pct_bw=8.0)
    assert insole_body_weight_calibration(rig(), BODY_MASS_KG, both, left, right,
                                          loose).accepted


def test_body_weight_refused_when_an_insole_reads_nothing() -> None:
    both, left, right = phases(1.0, 1.0)
    dead = StandingPhase(np.zeros((500, SENSORS)), both.right_counts, both.bar_counts)
    result = insole_body_weight_calibration(rig(), BODY_MASS_KG, dead, left, right)
    assert not result.accepted and "left insole read no load" in result.reason


# -- records -----------------------------------------------------------------------------------


def test_record_round_trip_through_json() -> None:
    result = tare_bars(rig(offsets=np.zeros(4)), bar_counts(np.zeros(4)))
    record = result.record("bars", "BARS-0042", 3, "2025-03-01T10:15:00+01:00")
    data = json.loads(json.dumps(record.to_dict(), allow_nan=False))
    assert data["format"] == 1 and data["version"] == 3 and data["method"] == "tare"
    assert data["device_serial"] == "BARS-0042" and data["board"] == "bars"
    again = CalibrationRecord.from_dict(data)
    assert again.to_dict() == data
    calibration = again.calibration()
    assert isinstance(calibration, LinearCalibration)
    np.testing.assert_array_equal(calibration.offset_counts,
                                  result.calibration.bars.offset_counts)
    with pytest.raises(ValueError, match="did not change board 'insole_left'"):
        result.record("insole_left", "INS-1", 1, "2025-03-01T10:15:00+00:00")


def test_insole_records_hold_fsr_calibrations() -> None:
    result = insole_body_weight_calibration(rig(), BODY_MASS_KG, *phases(1.2, 0.9))
    record = result.record("insole_right", "INS-7", 1, "2025-03-01T09:00:00Z")
    calibration = CalibrationRecord.from_dict(record.to_dict()).calibration()
    assert isinstance(calibration, FsrCalibration)
    np.testing.assert_allclose(calibration.gain_n, FSR_GAIN * 0.9, rtol=1e-9)
    assert record.inputs["body_mass_kg"] == BODY_MASS_KG


@pytest.mark.parametrize(("change", "message"), [
    ({"format": 2}, "format 2"),
    ({"version": 0}, "version"),
    ({"created_at": "2025-03-01T10:00:00"}, "UTC offset"),
    ({"created_at": "yesterday"}, "ISO 8601"),
    ({"device_serial": ""}, "device_serial"),
    ({"board": "treadmill"}, "board"),
    ({"channels": [{"kind": "linear", "offset_counts": 0, "newtons_per_count": 0.01}]},
     "4 channels"),
    ({"extra": 1}, "unknown field 'extra'"),
])
def test_record_from_dict_checks_every_field(change: dict[str, Any], message: str) -> None:
    data = CalibrationRecord(1, "BARS-1", "bars", "2025-03-01T10:00:00+00:00",
                             rig().bars.to_dicts(), "nominal").to_dict()
    data.update(change)
    with pytest.raises(ValueError, match=message):
        CalibrationRecord.from_dict(data)


def test_body_weight_calibration_scales_table_insoles() -> None:
    """Insoles calibrated by tables (built from the nominal power law at 64 knots): the factors
    are found as with the power law, and each table's forces are multiplied by its factor."""
    knots = np.concatenate([np.linspace(0.0, 1000.0, 63), [1022.5]])
    tables = [{"kind": "fsr_table", "counts": knots.tolist(),
               "newtons": (g * (knots / (1023.0 - knots)) ** e).tolist()}
              for g, e in zip(FSR_GAIN, FSR_EXPONENT, strict=True)]
    table_fsr = FsrCalibration.from_dicts(tables)
    current = RigCalibration(table_fsr, table_fsr, rig().bars)
    result = insole_body_weight_calibration(current, BODY_MASS_KG, *phases(1.3, 0.8))
    assert result.accepted, result.reason
    # Interpolation overestimates the convex power law a little: factors within 0.5 %.
    assert result.inputs["left_factor"] == pytest.approx(1.3, rel=5e-3)
    assert result.inputs["right_factor"] == pytest.approx(0.8, rel=5e-3)
    for new, factor in ((result.calibration.insole_left, result.inputs["left_factor"]),
                        (result.calibration.insole_right, result.inputs["right_factor"])):
        np.testing.assert_allclose(new.table_newtons, table_fsr.table_newtons * factor,
                                   rtol=1e-12)
        np.testing.assert_array_equal(new.table_counts, table_fsr.table_counts)
        assert new.to_dicts()[0]["kind"] == "fsr_table"


# -- insoles: each phase checked as it is captured ---------------------------------------------


def test_each_good_phase_is_accepted_with_its_loads() -> None:
    both, left, right = phases(1.0, 1.0)
    for key, captured in (("both", both), ("left", left), ("right", right)):
        check = check_standing_phase(rig(), BODY_MASS_KG, key, captured,
                                     None if key == "both" else both)
        assert check.accepted, check.reason
        assert check.phase == key and check.inputs["samples"] == 500
    check = check_standing_phase(rig(), BODY_MASS_KG, "left", left, both)
    assert check.inputs["left_foot_pct_bw"] == pytest.approx(92.0, abs=0.01)  # 100 - 8 on bars
    assert check.inputs["right_foot_pct_bw"] == pytest.approx(0.0, abs=0.01)
    assert check.inputs["bars_pct_bw"] == pytest.approx(8.0, abs=0.01)
    json.dumps(check.inputs, allow_nan=False)


def test_a_foot_not_lifted_is_refused_in_that_phase_with_or_without_the_both_feet_phase() -> None:
    both, left, _ = phases(1.0, 1.0, lifted_n=0.2 * WEIGHT_N)
    for on_both in (both, None):
        check = check_standing_phase(rig(), BODY_MASS_KG, "left", left, on_both)
        assert not check.accepted and check.phase == "left"
        assert check.reason.startswith("The right foot did not seem lifted while standing on "
                                       "the left foot only")
        assert "Repeat this phase" in check.reason
    # The both-feet phase itself is fine: only the left phase is refused.
    assert check_standing_phase(rig(), BODY_MASS_KG, "both", both).accepted


def test_a_phase_is_refused_for_the_bars_and_for_swaying() -> None:
    _, left, _ = phases(1.0, 1.0, bars_pct=(2.0, 35.0, 10.0))
    check = check_standing_phase(rig(), BODY_MASS_KG, "left", left)
    assert not check.accepted and "held the bars too much" in check.reason
    sway_n = 0.1 * WEIGHT_N * np.sin(2 * np.pi * np.arange(500) / 100.0)
    both = phases(1.0, 1.0)[0]
    swaying = StandingPhase(insole_counts(0.49 * WEIGHT_N + sway_n, 1.0),
                            insole_counts(0.49 * WEIGHT_N - sway_n, 1.0), both.bar_counts)
    check = check_standing_phase(rig(), BODY_MASS_KG, "both", swaying)
    assert not check.accepted and "not standing still while standing on both feet" in check.reason
    with pytest.raises(ValueError, match="phase must be one of"):
        check_standing_phase(rig(), BODY_MASS_KG, "sitting", both)


def test_a_whole_calibration_refused_for_one_phase_names_that_phase() -> None:
    lifted = insole_body_weight_calibration(rig(), BODY_MASS_KG,
                                            *phases(1.0, 1.0, lifted_n=0.2 * WEIGHT_N))
    assert not lifted.accepted and lifted.repeat_phase == "left"
    held = insole_body_weight_calibration(rig(), BODY_MASS_KG,
                                          *phases(1.0, 1.0, bars_pct=(2.0, 8.0, 30.0)))
    assert not held.accepted and held.repeat_phase == "right"
    # Phases that do not agree, or an implausible factor: the whole calibration again.
    disagree = insole_body_weight_calibration(rig(), BODY_MASS_KG,
                                              *phases(1.0, 1.0, extra_both_n=0.25 * WEIGHT_N))
    assert not disagree.accepted and disagree.repeat_phase is None
    assert insole_body_weight_calibration(rig(), BODY_MASS_KG,
                                          *phases(1.0, 1.0)).repeat_phase is None
