"""Targets, alarms, live step counting and the trial state machine (no hardware, no clocks)."""

from __future__ import annotations

import numpy as np
import pytest

from gaitrig.rig.live.alarms import TargetMonitor
from gaitrig.rig.live.steps import StepCounter
from gaitrig.rig.live.trial import LiveTrial, TrialState, TrialStateError
from gaitrig.rig.model import Exercise, Targets


def test_targets_in_kg_are_held_in_percent_body_weight() -> None:
    targets = Targets.from_kg(80.0, band_low_kg=32.0, band_high_kg=48.0, limit_kg=56.0)
    assert (targets.band_low_pct_bw, targets.band_high_pct_bw, targets.limit_pct_bw) == (
        40.0, 60.0, 70.0)
    shown = targets.to_dict(80.0)
    assert shown["unit"] == "kg" and shown["limit_kg"] == 56.0 and shown["band_high_kg"] == 48.0


@pytest.mark.parametrize("bad", [dict(band_low_pct_bw=70, band_high_pct_bw=60),
                                 dict(band_high_pct_bw=60, limit_pct_bw=50),
                                 dict(max_hand_support_pct_bw=0), dict(shift_period_s=0)])
def test_inconsistent_targets_are_refused_with_a_reason(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"band|limit|hand|period"):
        Targets(**bad)


def test_alarm_episodes_start_and_end_on_the_crossing_samples() -> None:
    monitor = TargetMonitor("left", targets=Targets(40, 60, limit_pct_bw=70,
                                                    max_hand_support_pct_bw=20))
    t = np.arange(10) * 0.01
    load = np.array([50, 65, 71, 80, 75, 70, 60, 72, 50, 50], dtype=float)
    bars = np.full(10, 5.0)
    started = monitor.update(t, load, bars)
    assert [(a.kind, a.start_s) for a in started] == [("over_limit", 0.02), ("over_limit", 0.07)]
    first, second = monitor.alarms
    assert first.end_s == pytest.approx(0.05) and first.peak_pct_bw == 80
    assert second.end_s == pytest.approx(0.08) and not monitor.active()
    # an episode that spans blocks stays one episode
    monitor.update(np.array([0.1, 0.11]), np.array([10.0, 10.0]), np.array([25.0, 30.0]))
    monitor.update(np.array([0.12, 0.13]), np.array([10.0, 10.0]), np.array([26.0, 10.0]))
    hands = [a for a in monitor.alarms if a.kind == "hand_support"]
    assert len(hands) == 1 and hands[0].peak_pct_bw == 30 and hands[0].end_s == pytest.approx(0.13)


def test_weight_shift_moves_the_band_between_legs() -> None:
    monitor = TargetMonitor("right", Exercise.WEIGHT_SHIFT, Targets(shift_period_s=4.0))
    monitor.update(np.array([100.0]), np.array([0.0]), np.array([0.0]))
    assert [monitor.band_side(100.0 + s) for s in (0, 3.9, 4.0, 7.9, 8.0)] == [
        "right", "right", "left", "left", "right"]
    walking = TargetMonitor("right", Exercise.WALKING)
    walking.update(np.array([0.0]), np.array([0.0]), np.array([0.0]))
    assert walking.band_side(50.0) == "right"


def test_steps_on_target_are_counted_from_the_peak_of_each_contact() -> None:
    counter = StepCounter("left")
    t = np.arange(0, 3, 0.001)
    left = np.where((t > 0.2) & (t < 0.9), 55.0, 0.0)  # in the 40-60 band
    left[(t > 1.2) & (t < 1.9)] = 75.0  # over it
    counter.add_samples(t, left, np.zeros_like(t))
    band = (40.0, 60.0)
    assert counter.event("left", "heel_strike", 0.2, band) is None
    step = counter.event("left", "toe_off", 0.9, band)
    assert step is not None and step.on_target and step.peak_pct_bw == 55.0
    assert step.stance_s == pytest.approx(0.7)
    counter.event("left", "heel_strike", 1.2, band)
    assert counter.event("left", "toe_off", 1.9, band).on_target is False  # type: ignore[union-attr]
    counter.event("right", "heel_strike", 1.0, band)  # the sound side is not counted
    counter.event("right", "toe_off", 1.5, band)
    assert (counter.total, counter.on_target, counter.best_streak) == (2, 1, 1)
    assert counter.event("left", "toe_off", 2.5, band) is None  # no heel strike before it


def test_trial_state_machine_and_summary() -> None:
    trial = LiveTrial(7, Exercise.WALKING, Targets(), "left", started_s=10.0)
    trial.pause(12.0)
    with pytest.raises(TrialStateError, match="cannot pause a paused trial"):
        trial.pause(12.5)
    trial.add_samples(np.array([12.5]), np.array([1.0]), np.array([1.0]),
                      np.array([99.0]))  # paused: not counted
    trial.resume(15.0)
    trial.add_samples(np.array([15.0, 15.1]), np.array([50.0, 50.0]), np.array([0.0, 0.0]),
                      np.array([10.0, 20.0]))
    trial.mark(16.0, "  patient reports socket discomfort ")
    summary = trial.stop(20.0)
    assert trial.state == TrialState.STOPPED
    assert summary["duration_s"] == pytest.approx(7.0)  # 10-12 and 15-20
    assert summary["bar_reliance_mean_pct_bw"] == 15.0
    assert summary["bar_reliance_peak_pct_bw"] == 20.0
    assert summary["marks"] == [{"elapsed_s": 3.0, "note": "patient reports socket discomfort"}]
    assert summary["steps"] == 0 and summary["stance_symmetry_index_pct"] is None
    with pytest.raises(TrialStateError):
        trial.stop(21.0)


def test_milestones_first_step_on_target_then_a_personal_best() -> None:
    from gaitrig.rig.live.milestones import MilestoneTracker

    counter = StepCounter("left")
    t = np.arange(0, 20, 0.01)
    counter.add_samples(t, np.full_like(t, 50.0), np.zeros_like(t))
    tracker = MilestoneTracker(previous_best_streak=3)
    assert tracker.update(counter, 0.0) is None
    band = (40.0, 60.0)
    kinds = []
    for i in range(5):
        counter.event("left", "heel_strike", 1.0 + i, band)
        counter.event("left", "toe_off", 1.6 + i, band)
        milestone = tracker.update(counter, 2.0 + i)
        kinds.append(None if milestone is None else (milestone["id"], milestone["kind"]))
    # step 1: the first on target; steps 2-3: streak 3 is not above the previous best (3);
    # step 4: streak 4 beats it; step 5: streak 5 beats it again (a new milestone id).
    assert kinds == [(1, "first_on_target"), (1, "first_on_target"), (1, "first_on_target"),
                     (2, "personal_best"), (3, "personal_best")]
    assert "5 good steps in a row" in tracker.current["text"]  # type: ignore[index]


def test_a_live_message_with_a_trial_steps_and_a_milestone_follows_the_schema() -> None:
    import json
    from pathlib import Path

    import jsonschema

    from gaitrig.rig.live.live_message import (
        Feedback,
        LoadSnapshot,
        PatientOnRig,
        RigView,
        live_message,
    )
    from gaitrig.rig.live.milestones import MilestoneTracker

    schema = json.loads((Path(__file__).parents[2] / "docs" /
                         "live-message.schema.json").read_text())
    targets = Targets(40, 60, limit_pct_bw=70)
    trial = LiveTrial(3, Exercise.WALKING, targets, "left", started_s=0.0)
    t = np.arange(0, 2, 0.01)
    trial.add_samples(t, np.full_like(t, 50.0), np.full_like(t, 20.0), np.full_like(t, 5.0))
    trial.steps.event("left", "heel_strike", 0.1, (40, 60))
    trial.steps.event("left", "toe_off", 0.7, (40, 60))
    milestone = MilestoneTracker().update(trial.steps, 1.0)
    view = RigView("rig-1", PatientOnRig("Ana", 80.0, "left"), Exercise.WALKING, targets, "left",
                   [], Feedback(), trial, milestone)
    load = LoadSnapshot(2.0, (400.0, 150.0, 20.0, 20.0), (51.0, 19.0, 2.5, 2.5),
                        (67.0, 25.0, 4.0, 4.0), (0.0, 120.0), (1.0, 100.0), 900.0, 950.0)
    message = live_message(9, 2.001, view, load, [], {}, {})
    jsonschema.validate(message, schema)
    assert message["steps"]["on_target"] == 1 and message["milestone"]["kind"] == "first_on_target"
    assert message["left_band_pct_bw"] == [40, 60] and message["right_band_pct_bw"] is None
    assert message["left_in_band"] is True and message["right_in_band"] is None
