"""Per-step judgement, alarm debounce and hold, compliance and feedback fading (issue 13), on
the real classes: the virtual patient's ground truth (its step peaks) is the reference."""

from __future__ import annotations

import numpy as np
import pytest

from gaitrig.processing.compliance import compliance, stored_compliance
from gaitrig.rig.live.alarms import TargetMonitor
from gaitrig.rig.live.live_message import Feedback
from gaitrig.rig.live.rig_state import StateValueError, feedback_from_state
from gaitrig.rig.live.steps import StepCounter
from gaitrig.rig.live.trial import LiveTrial
from gaitrig.rig.model import Exercise, Targets
from gaitrig.sim.patient import PatientModel

RATE_HZ = 1000.0


def spike_run(monitor: TargetMonitor, over_s: float, then_s: float = 2.0) -> np.ndarray:
    """Feed 0.5 s at 30 % BW, ``over_s`` at 80 % BW, then ``then_s`` at 30 % BW, in 16 ms
    blocks; return the sample times."""
    n0, n1, n2 = int(0.5 * RATE_HZ), round(over_s * RATE_HZ), int(then_s * RATE_HZ)
    load = np.concatenate([np.full(n0, 30.0), np.full(n1, 80.0), np.full(n2, 30.0)])
    t = 10.0 + np.arange(load.size) / RATE_HZ
    for i in range(0, t.size, 16):
        monitor.update(t[i:i + 16], load[i:i + 16], np.zeros(len(t[i:i + 16])))
    return t


def pwb_monitor() -> TargetMonitor:
    return TargetMonitor("left", Exercise.PARTIAL_WEIGHT_BEARING,
                         Targets(20, 40, limit_pct_bw=50), debounce_s=0.1, hold_s=1.0)


def test_a_spike_shorter_than_the_debounce_raises_no_alarm() -> None:
    monitor = pwb_monitor()
    spike_run(monitor, 0.06)
    assert monitor.alarms == [] and monitor.active() == []


def test_a_load_over_the_limit_longer_than_the_debounce_alarms_and_holds_one_second() -> None:
    monitor = pwb_monitor()
    spike_run(monitor, 0.15)
    [alarm] = monitor.alarms
    assert alarm.start_s == pytest.approx(10.5)  # the onset: the first sample over the limit
    assert alarm.raised_s == pytest.approx(10.6, abs=0.002)  # after 100 ms over
    assert alarm.end_s is not None
    # the load was back under after 0.15 s, but the alarm stayed up for 1 s after raising
    assert alarm.end_s - alarm.raised_s == pytest.approx(1.0, abs=0.002)
    assert alarm.peak_pct_bw == 80


def test_an_alarm_held_past_its_minimum_ends_with_the_load() -> None:
    monitor = pwb_monitor()
    spike_run(monitor, 1.6)
    [alarm] = monitor.alarms
    assert alarm.end_s == pytest.approx(10.5 + 1.6, abs=0.002)


def test_the_controller_defaults_are_100_ms_and_1_s() -> None:
    from gaitrig.rig.settings import Settings

    settings = Settings()
    assert (settings.alarm_debounce_s, settings.alarm_hold_s) == (0.1, 1.0)


def stance(counter: StepCounter, start_s: float, peak: float, band: tuple[float, float]) -> None:
    """One prosthetic stance of 0.6 s: a half-sine up to ``peak`` % BW."""
    t = start_s + np.arange(0, 0.6, 1 / RATE_HZ)
    load = peak * np.sin(np.pi * (t - start_s) / 0.6)
    counter.add_samples(t, load, np.zeros_like(t))
    counter.event("left", "heel_strike", float(t[0]), band)
    counter.event("left", "toe_off", float(t[-1]), band)


def test_each_step_is_judged_by_its_peak_with_its_time_over_the_limit() -> None:
    counter = StepCounter("left", limit_pct_bw=50.0)
    band = (20.0, 40.0)
    for i, peak in enumerate((10.0, 30.0, 45.0, 60.0)):
        stance(counter, 1.0 + i, peak, band)
    steps = counter.steps
    assert [s.verdict for s in steps] == ["more", "good", "too_much", "too_much"]
    assert [s.index for s in steps] == [1, 2, 3, 4]
    assert [s.band_distance_pct_bw for s in steps] == pytest.approx([-10, 0, 5, 20], abs=0.1)
    # time over 50 % BW of a half-sine peaking at 60: 0.6 s * (1 - 2 asin(5/6) / pi)
    expected = 0.6 * (1 - 2 * np.arcsin(50 / 60) / np.pi)
    assert steps[3].over_limit_s == pytest.approx(expected, abs=0.003)
    assert steps[2].over_limit_s == 0.0
    assert counter.last_judged() is steps[-1]
    assert steps[-1].judged()["verdict"] == "too_much"


def test_faded_feedback_shows_every_nth_step_and_off_none() -> None:
    counter = StepCounter("left", feedback_mode="faded", fade_every_n=3)
    for i in range(7):
        stance(counter, 1.0 + i, 30.0, (20.0, 40.0))
    assert [s.feedback_shown for s in counter.steps] == [False, False, True] * 2 + [False]
    assert Feedback(mode="off").shown_on_step(4) is False
    assert Feedback().shown_on_step(5) is True
    with pytest.raises(StateValueError):
        feedback_from_state({"mode": "sometimes"})
    assert feedback_from_state({"mode": "faded", "fade_every_n": 4}).fade_every_n == 4


def test_compliance_against_a_plain_count() -> None:
    rng = np.random.default_rng(3)
    peaks = rng.uniform(0, 90, 200)
    figures = compliance(list(peaks), (20.0, 40.0), 50.0)
    assert figures["steps"] == 200
    assert figures["in_band"] == int(np.count_nonzero((peaks >= 20) & (peaks <= 40)))
    assert figures["over_limit"] == int(np.count_nonzero(peaks > 50))
    assert figures["over_150pct_limit"] == int(np.count_nonzero(peaks > 75))
    assert figures["peak_of_peaks_pct_bw"] == pytest.approx(peaks.max(), abs=0.05)
    rows = [{"prosthetic": i % 2 == 0, "peak_load_pct_bw": float(p)} for i, p in enumerate(peaks)]
    stored = stored_compliance(rows, {"band_low_pct_bw": 20, "band_high_pct_bw": 40,
                                      "limit_pct_bw": 50,
                                      "feedback": {"mode": "faded", "fade_every_n": 2}})
    prosthetic = peaks[::2]
    with_fb, without = prosthetic[1::2], prosthetic[0::2]  # steps 2, 4, ... had feedback
    assert stored["all"]["steps"] == 100
    assert stored["with_feedback"]["in_band"] == int(
        np.count_nonzero((with_fb >= 20) & (with_fb <= 40)))
    assert stored["without_feedback"]["over_limit"] == int(np.count_nonzero(without > 50))
    assert compliance([], (20, 40), None)["pct_in_band"] is None


def true_step_peaks(model: PatientModel, t: np.ndarray, truth: object, foot: str
                    ) -> list[tuple[float, float]]:
    """(heel strike, true peak % BW) of each whole contact of ``foot``: the largest true load
    between its true heel strike and toe off."""
    load = 100 * getattr(truth, f"{foot}_foot_n") / truth.body_weight_n  # type: ignore[attr-defined]
    found, strike = [], None
    for event in model.events_between(t[0], t[-1]):
        if event.side != foot:
            continue
        if event.kind == "heel_strike":
            strike = event.t_s
        elif strike is not None:
            inside = (t >= strike) & (t <= event.t_s)
            found.append((strike, float(load[inside].max())))
            strike = None
    return found


def test_a_pwb_walk_of_the_virtual_patient_is_judged_as_its_true_step_peaks() -> None:
    # The virtual patient (80 kg) puts 60-64 % BW on its prosthesis: a band up to 62 % BW
    # and a limit at 63 % BW make good steps, too-much steps and steps over the limit.
    band, limit = (40.0, 62.0), 63.0
    model = PatientModel(80.0, "left", "walking", seed=11, start_s=0.0)
    t = np.arange(int(40 * RATE_HZ)) / RATE_HZ + 1.0
    truth = model.sample(t)
    bw = truth.body_weight_n
    trial = LiveTrial(1, Exercise.PARTIAL_WEIGHT_BEARING, Targets(*band, limit_pct_bw=limit),
                      "left", started_s=t[0])
    trial.set_feedback("faded", 2)
    for i in range(0, t.size, 16):
        rows = slice(i, i + 16)
        trial.add_samples(t[rows], 100 * truth.left_foot_n[rows] / bw,
                          100 * truth.right_foot_n[rows] / bw,
                          100 * (truth.left_bar_n[rows] + truth.right_bar_n[rows]) / bw)
    true_steps = true_step_peaks(model, t, truth, "left")
    strikes = np.array([s[0] for s in true_steps])
    judged = [s for s in trial.steps.steps if s.prosthetic]
    assert len(judged) >= 20
    checked = 0
    for step in judged:
        strike, peak = true_steps[int(np.argmin(np.abs(strikes - step.heel_strike_s)))]
        assert abs(strike - step.heel_strike_s) < 0.01
        assert step.peak_pct_bw == pytest.approx(peak, abs=0.3)
        if abs(peak - band[1]) > 0.3:  # clear of the band's top edge
            assert step.verdict == ("too_much" if peak > band[1] else "good"), (step, peak)
            checked += 1
        assert (step.over_limit_s > 0) == (peak > limit) or abs(peak - limit) < 0.3
    assert checked >= 15
    assert {"good", "too_much"} <= {s.verdict for s in judged}
    summary = trial.stop(t[-1])
    figures = summary["compliance"]
    peaks = np.array([s.peak_pct_bw for s in judged])
    assert figures["all"]["over_limit"] == int(np.count_nonzero(peaks > limit)) > 0
    assert figures["all"]["in_band"] == int(np.count_nonzero((peaks >= 40) & (peaks <= 62)))
    assert figures["with_feedback"]["steps"] == len(judged) // 2
    assert figures["with_feedback"]["steps"] + figures["without_feedback"]["steps"] == len(judged)
    assert summary["feedback"] == {"mode": "faded", "fade_every_n": 2}
