"""The virtual patient's ground truth: identities that must hold exactly, and a plausible gait."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gaitrig.sim.patient import (
    STANDARD_GRAVITY,
    GaitParameters,
    GroundTruth,
    PatientModel,
    generic_insole_positions_mm,
)

RATE_HZ = 1000.0


def walking(seed: int = 3, gait: GaitParameters | None = None) -> PatientModel:
    return PatientModel(80.0, "left", "walking", seed=seed, gait=gait)


def times(t0: float, t1: float, rate_hz: float = RATE_HZ) -> np.ndarray:
    return t0 + np.arange(round((t1 - t0) * rate_hz)) / rate_hz


@pytest.fixture(scope="module")
def mixed_session() -> tuple[PatientModel, GroundTruth]:
    """40 s: walking, then standing, weight shifting, walking again (with the transitions)."""
    model = walking()
    model.set_activity("standing", at_s=10.0)
    model.set_activity("weight_shift", at_s=18.0)
    model.set_activity("walking", at_s=30.0)
    return model, model.sample(times(0.0, 40.0))


def test_feet_and_bars_carry_exactly_the_body_weight(
        mixed_session: tuple[PatientModel, GroundTruth]) -> None:
    _, truth = mixed_session
    assert truth.body_weight_n == pytest.approx(80.0 * STANDARD_GRAVITY)
    total = truth.left_foot_n + truth.right_foot_n + truth.left_bar_n + truth.right_bar_n
    np.testing.assert_allclose(total, truth.body_weight_n, rtol=1e-9, atol=0)
    assert (truth.left_bar_n > 0).all() and (truth.right_bar_n > 0).all()


def test_parts_add_up_to_their_wholes(mixed_session: tuple[PatientModel, GroundTruth]) -> None:
    _, truth = mixed_session
    np.testing.assert_allclose(truth.left_sensor_n.sum(axis=1), truth.left_foot_n, rtol=1e-12)
    np.testing.assert_allclose(truth.right_sensor_n.sum(axis=1), truth.right_foot_n, rtol=1e-12)
    np.testing.assert_allclose(truth.bar_post_n[:, 0] + truth.bar_post_n[:, 1], truth.left_bar_n)
    np.testing.assert_allclose(truth.bar_post_n[:, 2] + truth.bar_post_n[:, 3], truth.right_bar_n)
    assert (truth.left_sensor_n >= 0).all() and (truth.right_sensor_n >= 0).all()
    assert (truth.bar_post_n >= 0).all()


def test_cop_is_the_force_weighted_centroid_of_the_sensors(
        mixed_session: tuple[PatientModel, GroundTruth]) -> None:
    model, truth = mixed_session
    for side, sensors, cop in (("left", truth.left_sensor_n, truth.left_cop_mm),
                               ("right", truth.right_sensor_n, truth.right_cop_mm)):
        positions = model.feet[side].positions_mm
        loaded = sensors.sum(axis=1) > 0
        expected = (sensors[loaded, :, None] * positions[None]).sum(axis=1) / sensors[
            loaded].sum(axis=1)[:, None]
        np.testing.assert_allclose(cop[loaded], expected, rtol=1e-9, atol=1e-9)
        assert np.isnan(cop[~loaded]).all()
        assert (~loaded).any(), "walking must have swing phases"


def test_hand_position_follows_the_lever_rule(
        mixed_session: tuple[PatientModel, GroundTruth]) -> None:
    model, truth = mixed_session
    rear, front = model.bar_posts_mm
    left = rear + (front - rear) * truth.bar_post_n[:, 0] / truth.left_bar_n
    np.testing.assert_allclose(truth.left_hand_mm, left)
    assert ((truth.right_hand_mm > rear) & (truth.right_hand_mm < front)).all()


def test_a_foot_carries_load_exactly_between_its_heel_strike_and_toe_off() -> None:
    model = walking()
    truth = model.sample(times(0.0, 30.0))
    events = model.events_between(0.0, 30.0)
    assert len(events) > 70
    for side in ("left", "right"):
        own = [e for e in events if e.side == side]
        kinds = [e.kind for e in own]
        # Alternating, starting with a toe off or a heel strike depending on who leads.
        assert all(a != b for a, b in itertools.pairwise(kinds))
        expected_loaded = np.zeros(truth.t_s.size, dtype=bool)
        if own[0].kind == "toe_off":
            expected_loaded[truth.t_s < own[0].t_s] = True  # in stance since before the start
        for strike, off in itertools.pairwise(own):
            if strike.kind == "heel_strike":
                expected_loaded |= (truth.t_s > strike.t_s) & (truth.t_s < off.t_s)
        if own[-1].kind == "heel_strike":
            expected_loaded |= truth.t_s > own[-1].t_s
        foot = truth.foot_n(side)
        np.testing.assert_array_equal(foot > 0, expected_loaded)
        assert (foot[~expected_loaded] == 0.0).all()  # swing: exactly 0 N
        assert (truth.sensor_n(side)[~expected_loaded] == 0.0).all()
        at_events = model.sample(np.array([e.t_s for e in own]))
        assert (at_events.foot_n(side) == 0.0).all()


def test_events_are_split_cleanly_between_windows() -> None:
    model = walking()
    whole = model.events_between(0.0, 20.0)
    parts = model.events_between(0.0, 7.3) + model.events_between(7.3, 20.0)
    assert whole == parts


def test_cadence_and_stride_variability_match_the_settings() -> None:
    model = walking(seed=5, gait=GaitParameters(cadence_steps_per_min=72.0))
    events = model.events_between(0.0, 300.0)
    strikes = np.array([e.t_s for e in events if e.kind == "heel_strike"])
    cadence = (strikes.size - 1) / (strikes[-1] - strikes[0]) * 60.0
    assert cadence == pytest.approx(72.0, rel=0.02)
    left = np.array([e.t_s for e in events if e.kind == "heel_strike" and e.side == "left"])
    strides = np.diff(left)
    assert strides.mean() == pytest.approx(120.0 / 72.0, rel=0.02)
    assert 0.02 < strides.std() / strides.mean() < 0.04


def stance_times(model: PatientModel, side: str, t1: float) -> np.ndarray:
    events = [e for e in model.events_between(0.0, t1) if e.side == side]
    durations = []
    for strike, off in itertools.pairwise(events):
        if strike.kind == "heel_strike" and off.kind == "toe_off":
            durations.append(off.t_s - strike.t_s)
    return np.array(durations)


@pytest.mark.parametrize("prosthetic_side", ["left", "right"])
def test_prosthetic_stance_is_shorter_and_lighter(prosthetic_side: str) -> None:
    model = PatientModel(70.0, prosthetic_side, "walking", seed=11)
    sound_side = "right" if prosthetic_side == "left" else "left"
    truth = model.sample(times(0.0, 30.0))
    prosthetic_stance = stance_times(model, prosthetic_side, 30.0)
    sound_stance = stance_times(model, sound_side, 30.0)
    assert prosthetic_stance.mean() < 0.95 * sound_stance.mean()
    assert truth.foot_n(prosthetic_side).max() < 0.8 * truth.foot_n(sound_side).max()
    # The bars take more while the prosthetic foot is alone on the ground.
    bars = truth.left_bar_n + truth.right_bar_n
    prosthetic_alone = (truth.foot_n(prosthetic_side) > 0) & (truth.foot_n(sound_side) == 0)
    sound_alone = (truth.foot_n(sound_side) > 0) & (truth.foot_n(prosthetic_side) == 0)
    assert bars[prosthetic_alone].mean() > 1.5 * bars[sound_alone].mean()


def test_stance_rolls_from_heel_to_toe() -> None:
    model = walking()
    truth = model.sample(times(0.0, 12.0))
    positions = model.feet["right"].positions_mm
    heel = positions[:, 1] < 30
    forefoot = positions[:, 1] > 140
    events = [e for e in model.events_between(0.0, 12.0) if e.side == "right"]
    stances = [(a.t_s, b.t_s) for a, b in itertools.pairwise(events)
               if a.kind == "heel_strike"]
    assert len(stances) >= 5
    for strike, off in stances:
        inside = (truth.t_s > strike) & (truth.t_s < off)
        cop_y = truth.right_cop_mm[inside, 1]
        assert (np.diff(cop_y) >= -1e-9).all(), "CoP must move forward through the stance"
        assert cop_y[-1] - cop_y[0] > 150.0
        sensors = truth.right_sensor_n[inside]
        heel_peak = truth.t_s[inside][sensors[:, heel].sum(axis=1).argmax()]
        forefoot_peak = truth.t_s[inside][sensors[:, forefoot].sum(axis=1).argmax()]
        assert heel_peak < forefoot_peak
        # Heel sensors carry most of the load just after heel strike, the forefoot at toe off.
        assert sensors[0, heel].sum() > sensors[0, forefoot].sum()
        assert sensors[-1, forefoot].sum() > sensors[-1, heel].sum()


def test_loads_change_smoothly_through_double_support_and_activity_changes(
        mixed_session: tuple[PatientModel, GroundTruth]) -> None:
    _, truth = mixed_session
    bw = truth.body_weight_n
    for series in (truth.left_foot_n, truth.right_foot_n, truth.left_bar_n, truth.right_bar_n):
        assert np.abs(np.diff(series)).max() < 0.01 * bw  # < 1 % BW per ms
    for cop in (truth.left_cop_mm, truth.right_cop_mm):
        both = ~np.isnan(cop[1:, 1]) & ~np.isnan(cop[:-1, 1])
        assert np.abs(np.diff(cop[:, 1]))[both].max() < 2.0  # mm per ms


def test_switching_from_walking_waits_for_double_support() -> None:
    model = walking()
    begins = model.set_activity("standing", at_s=10.0)
    assert 10.0 <= begins < 11.0
    at_switch = model.sample(np.array([begins]))
    assert at_switch.left_foot_n[0] > 0 and at_switch.right_foot_n[0] > 0
    assert model.events_between(begins, 60.0) == []
    assert model.events_between(8.0, begins)
    later = model.sample(times(begins, begins + 20.0))
    assert (later.left_foot_n > 0).all() and (later.right_foot_n > 0).all()
    assert model.activity_at(begins + 5.0) == "standing"
    assert model.set_activity("standing", at_s=40.0) == begins  # already standing: no change


def test_starting_to_walk_after_standing_produces_events_again() -> None:
    model = PatientModel(75.0, "right", "standing", seed=2)
    begins = model.set_activity("walking", at_s=5.0)
    assert begins == 5.0
    assert model.events_between(0.0, 6.0) == []  # the blend into the first step takes a second
    events = model.events_between(6.0, 20.0)
    assert {(e.side, e.kind) for e in events} == {
        (side, kind) for side in ("left", "right") for kind in ("heel_strike", "toe_off")}


def test_quiet_standing_sways_a_few_millimetres() -> None:
    model = PatientModel(75.0, "left", "standing", seed=4)
    truth = model.sample(times(0.0, 60.0, 100.0))
    for cop in (truth.left_cop_mm, truth.right_cop_mm):
        assert not np.isnan(cop).any()
        span = np.ptp(cop, axis=0)
        assert 1.0 < span[1] < 25.0 and span[0] < 25.0
    bars = (truth.left_bar_n + truth.right_bar_n) / truth.body_weight_n
    assert bars.min() > 0.03 and bars.max() < 0.15
    left_share = truth.left_foot_n / (truth.left_foot_n + truth.right_foot_n)
    assert 0.01 < np.ptp(left_share) < 0.2  # a slow weight oscillation, not a shift
    assert model.events_between(0.0, 60.0) == []


def test_weight_shifting_swings_side_to_side_every_few_seconds() -> None:
    model = PatientModel(75.0, "left", "weight_shift", seed=4)
    truth = model.sample(times(0.0, 40.0, 100.0))
    difference = truth.left_foot_n - truth.right_foot_n
    centred = difference - difference.mean()
    crossings = np.flatnonzero(np.diff(np.sign(centred)) != 0)
    period_s = 2 * np.diff(truth.t_s[crossings]).mean()
    assert 4.0 <= period_s <= 6.0
    assert np.ptp(difference) > 0.4 * truth.body_weight_n


def test_same_seed_same_patient_other_seed_other_steps() -> None:
    t = times(0.0, 10.0)
    a, b, c = walking(seed=1), walking(seed=1), walking(seed=2)
    np.testing.assert_array_equal(a.sample(t).left_sensor_n, b.sample(t).left_sensor_n)
    assert a.events_between(0, 10) == b.events_between(0, 10)
    assert a.events_between(0, 10) != c.events_between(0, 10)
    # Asking in a different order (far future first) gives the same answers.
    late_first = walking(seed=1)
    late_first.sample(np.array([500.0]))
    np.testing.assert_array_equal(late_first.sample(t).bar_post_n, a.sample(t).bar_post_n)


def test_one_foot_and_the_posts_alone_equal_the_full_sample(
        mixed_session: tuple[PatientModel, GroundTruth]) -> None:
    model, truth = mixed_session
    np.testing.assert_array_equal(model.sample_sensors("left", truth.t_s), truth.left_sensor_n)
    np.testing.assert_array_equal(model.sample_sensors("right", truth.t_s), truth.right_sensor_n)
    np.testing.assert_array_equal(model.sample_bar_posts(truth.t_s), truth.bar_post_n)


def test_sixteen_sensor_insoles_and_mirrored_left_layout() -> None:
    positions = generic_insole_positions_mm(16)
    np.testing.assert_array_equal(positions["left"][:, 0], -positions["right"][:, 0])
    model = PatientModel(60.0, "right", "walking", positions, (300.0, 2700.0), seed=9)
    truth = model.sample(times(0.0, 5.0))
    assert truth.left_sensor_n.shape == (5000, 16)
    total = truth.left_foot_n + truth.right_foot_n + truth.left_bar_n + truth.right_bar_n
    np.testing.assert_allclose(total, 60.0 * STANDARD_GRAVITY, rtol=1e-9)
    # Toe off on the medial forefoot: toward -x on the right foot, +x on the left (mirrored).
    for side, medial_sign in (("right", -1.0), ("left", 1.0)):
        cop = truth.foot_n(side) > 0
        xs = (truth.left_cop_mm if side == "left" else truth.right_cop_mm)[cop, 0]
        ys = (truth.left_cop_mm if side == "left" else truth.right_cop_mm)[cop, 1]
        forefoot = ys > np.percentile(ys, 95)
        assert medial_sign * xs[forefoot].mean() > 0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="activity"):
        PatientModel(70.0, "left", "running")
    with pytest.raises(ValueError, match="prosthetic side"):
        PatientModel(70.0, "middle", "walking")
    with pytest.raises(ValueError, match="front post"):
        PatientModel(70.0, "left", "walking", bar_posts_mm=(2000.0, 100.0))
    with pytest.raises(ValueError):
        GaitParameters(sound_stance_fraction=0.4)
    with pytest.raises(ValueError, match="activity"):
        walking().set_activity("dancing")
