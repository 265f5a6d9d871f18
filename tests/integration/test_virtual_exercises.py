"""Issue 13, part 6: the virtual patient does what the therapist asks.

First the patient model alone (its ground truth against plain numpy and ``processing``), then the
whole rig: the virtual boards on their pseudo-terminals, the real controller and server, the
exercise and targets set through the REST API, trials recorded and analysed, and the recorded
figures checked against the patient's ground truth.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from gaitrig.processing import balance
from gaitrig.processing.layouts import RigLayout, load_bar_layout, load_insole_layout
from gaitrig.sim.patient import PatientModel, SitToStandParameters, TargetResponse
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, start_server

RATE_HZ = 1000.0
#: Apparent sway (mm², 95 % ellipse) the virtual insoles' noise adds to a quiet stance.
NOISE_FLOOR_MM2 = 6.0


def times(t0: float, t1: float, rate_hz: float = RATE_HZ) -> np.ndarray:
    return t0 + np.arange(round((t1 - t0) * rate_hz)) / rate_hz


def count_rises(time_s: np.ndarray, feet_pct_bw: np.ndarray, low: float = 40.0,
                high: float = 80.0) -> list[float]:
    """A plain sit-to-stand detector: the instants the feet's load (% BW) climbs above ``high``
    after having been below ``low`` (hysteresis: seated -> standing once per repetition)."""
    rises, armed = [], False
    for t, load in zip(time_s, feet_pct_bw, strict=True):
        if load < low:
            armed = True
        elif load > high and armed:
            rises.append(float(t))
            armed = False
    return rises


# -- the patient model ---------------------------------------------------------------------------


def test_sit_to_stand_rises_with_the_bars_and_less_on_the_prosthesis() -> None:
    pace = SitToStandParameters(cycle_s=5.0)
    model = PatientModel(80.0, "left", "standing", seed=2, sit_to_stand=pace)
    begins = model.set_activity("sit_to_stand", at_s=3.0)
    assert model.activity_at(begins + 0.1) == "sit_to_stand"
    truth = model.sample(times(0.0, 40.0))
    bw = truth.body_weight_n
    feet = 100 * (truth.left_foot_n + truth.right_foot_n) / bw
    bars = 100 * (truth.left_bar_n + truth.right_bar_n) / bw
    reps = model.repetitions_between(0.0, 40.0)
    # 40 s - 3 s standing - 1 s blend - seated; one repetition every 5 s.
    assert len(reps) == math.floor((40.0 - begins - 1.0 - pace.seated_s - pace.rise_s)
                                   / pace.cycle_s) + 1 == 7
    assert np.diff([r.rise_start_s for r in reps]) == pytest.approx(pace.cycle_s)
    for rep in reps:
        assert rep.rise_start_s < rep.seat_off_s < rep.standing_s < rep.sit_start_s < rep.seated_s
        assert 1.0 <= rep.rise_time_s <= 1.5
        seated = (truth.t_s > rep.rise_start_s - 0.3) & (truth.t_s < rep.rise_start_s)
        assert feet[seated].min() >= 15.0 and feet[seated].max() <= 25.0  # the chair: the rest
        rise = (truth.t_s >= rep.rise_start_s) & (truth.t_s <= rep.standing_s)
        assert bars[rise].max() > 20.0  # the hands push on the bars to rise
        np.testing.assert_allclose((feet + bars)[(truth.t_s >= rep.seat_off_s)
                                                 & (truth.t_s <= rep.sit_start_s)], 100.0)
        assert rep.prosthetic_peak_pct_bw < rep.sound_peak_pct_bw
        assert rep.prosthetic_mean_pct_bw < rep.sound_mean_pct_bw
        left = 100 * truth.left_foot_n[rise] / bw  # the prosthesis is on the left
        assert rep.prosthetic_peak_pct_bw == pytest.approx(left.max(), abs=0.05)
        assert rep.prosthetic_mean_pct_bw == pytest.approx(left.mean(), abs=0.1)
    assert np.abs(np.diff(feet)).max() < 1.0  # smooth: < 1 % BW per ms
    # A simple detector on the loads finds each repetition once, between seat-off and standing.
    rises = count_rises(truth.t_s, feet)
    assert len(rises) == len(reps)
    for t, rep in zip(rises, reps, strict=True):
        assert rep.seat_off_s < t <= rep.standing_s
    assert model.events_between(0.0, 40.0) == []


def test_steps_are_drawn_around_the_band_once_it_is_set() -> None:
    plain = PatientModel(75.0, "left", "walking", seed=6)
    model = PatientModel(75.0, "left", "walking", seed=6)
    model.set_targets(TargetResponse(20.0, 40.0, 50.0), at_s=20.0)
    assert model.targets == TargetResponse(20.0, 40.0, 50.0)
    # The gait's timing is the patient's own: the targets change only the prosthetic peaks.
    assert model.events_between(0.0, 200.0) == plain.events_between(0.0, 200.0)
    before = model.step_peaks_between(0.0, 20.0)
    assert before == plain.step_peaks_between(0.0, 20.0)
    assert all(55.0 < s.peak_pct_bw < 70.0 for s in before)  # its own 62 % BW
    peaks = np.array([s.peak_pct_bw for s in model.step_peaks_between(20.0, 200.0)])
    assert peaks.size > 100
    in_band = (peaks >= 20.0) & (peaks <= 40.0)
    assert 0.6 <= in_band.mean() <= 0.8
    assert (peaks < 20.0).mean() == pytest.approx(0.1, abs=0.05)
    assert (peaks > 50.0).mean() == pytest.approx(0.1, abs=0.05)  # too much: over the limit
    assert ((peaks > 40.0) & (peaks <= 50.0)).any()  # a bit over the band, under the limit
    # Blocks of ten steps hold 7 in the band each: any twenty consecutive steps 12 to 16.
    for first in range(0, 90, 13):
        window = in_band[first:first + 20]
        assert 12 <= window.sum() <= 16
    # The truth's peaks are the loads' maxima.
    steps = model.step_peaks_between(20.0, 40.0)
    truth = model.sample(times(20.0, 40.0))
    for step in steps:
        stance = (truth.t_s >= step.heel_strike_s) & (truth.t_s < step.toe_off_s)
        assert 100 * truth.left_foot_n[stance].max() / truth.body_weight_n == pytest.approx(
            step.peak_pct_bw, abs=0.05)
    model.set_targets(None, at_s=200.0)  # not following any more: its own peaks again
    after = model.step_peaks_between(200.0, 240.0)
    assert all(55.0 < s.peak_pct_bw < 70.0 for s in after)


def test_weight_shift_follows_the_band_period_and_centre() -> None:
    model = PatientModel(75.0, "right", "standing", seed=3)
    targets = TargetResponse(55.0, 75.0, None, shift_period_s=2.0)
    model.set_targets(targets, at_s=0.0)
    begins = model.set_activity("weight_shift", at_s=2.0)
    truth = model.sample(times(begins + 1.0, begins + 41.0, 100.0))
    prosthetic = 100 * truth.right_foot_n / truth.body_weight_n
    sound = 100 * truth.left_foot_n / truth.body_weight_n
    centred = prosthetic - sound
    crossings = truth.t_s[np.flatnonzero(np.diff(centred > 0))]
    assert 2 * np.diff(crossings).mean() == pytest.approx(2 * targets.shift_period_s, rel=0.05)
    # The band is on the prosthetic leg first: its load is highest a quarter period in.
    phase = np.mod(truth.t_s - begins, 2 * targets.shift_period_s)
    assert prosthetic[np.abs(phase - 1.0) < 0.05].mean() > sound[np.abs(phase - 1.0) < 0.05].mean()
    # The loaded leg peaks near the band's centre (the bars' wobble moves it a little).
    assert prosthetic.max() == pytest.approx(targets.centre_pct_bw, abs=3.0)
    assert sound.max() == pytest.approx(targets.centre_pct_bw, abs=3.0)
    amplitude = model.shift_amplitude_share(targets)
    assert amplitude == pytest.approx(65.0 / 90.0 - 0.5)


def test_the_true_sway_ellipse_is_what_processing_computes_from_the_true_forces() -> None:
    layout = RigLayout(left=load_insole_layout(8, 42, "left"),
                       right=load_insole_layout(8, 42, "right"), bars=load_bar_layout())
    positions = {"left": layout.left.positions_mm, "right": layout.right.positions_mm}
    model = PatientModel(75.0, "left", "standing", positions, seed=8)
    t = times(5.0, 25.0)
    truth = model.sample(t)
    placement = balance.side_by_side_placement(200.0)
    cop = balance.standing_cop_mm(truth.left_sensor_n, truth.right_sensor_n, layout,
                                  *placement, 1.0)
    np.testing.assert_allclose(model.standing_cop_mm(t, 200.0), cop, atol=1e-9)
    area = model.sway_ellipse_area_mm2(5.0, 25.0, 200.0)
    assert balance.cop_sway(cop, RATE_HZ).ellipse_area_95_mm2 == pytest.approx(area, rel=1e-3)
    assert 20.0 < area < 1000.0  # a few millimetres of sway
    assert model.sway_ellipse_area_mm2(5.0, 25.0, 300.0) > area  # wider feet: more ML sway


# -- the whole rig -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("exercises"), simulate_activity="standing",
                        body_mass_kg=75.0, prosthetic_side="left",
                        simulate_follows_targets=True)
    yield live
    live.stop()


def virtual(rig: LiveServer) -> Any:
    virtual_rig = rig.controller.virtual_rig
    assert virtual_rig is not None
    return virtual_rig


def stored(rig: LiveServer, trial_id: int) -> tuple[Any, Any]:
    """The trial's stored result rows (host times, values) and its metrics row; every board's
    frames stored for at least 90 % of the trial (a virtual board starved of CPU on a loaded
    machine loses frames, and then no figure can match the truth)."""
    from gaitrig.db import models as m
    from gaitrig.db import recordings
    from gaitrig.rig.records import Records

    assert rig.controller.wait_for_recording(60), "the recording was not analysed"
    records = Records.open(rig.settings.resolved_database_url())
    try:
        with records.sessions() as session:
            results = recordings.load_results(session, trial_id)
            metric = session.get(m.TrialMetric, trial_id)
            frames = {role: len(f) for role, f in recordings.load_frames(session,
                                                                         trial_id).items()}
            session.expunge_all()
    finally:
        records.close()
    assert metric is not None and results.host_time_s.size > 1000
    seconds = float(results.host_time_s[-1] - results.host_time_s[0])
    for role in ("insole_left", "insole_right"):
        assert frames.get(role, 0) >= 0.9 * rig.settings.insole_rate_hz * seconds, (
            f"frames lost (starved boards): {frames}")
    return results, metric


def choose(rig: LiveServer, exercise: str, activity: str) -> None:
    answer = rig_api.put(rig.url + "/api/rig/exercise", json={"exercise": exercise})
    assert answer.status_code == 200, answer.text
    assert virtual(rig).patient.activity == activity  # the exercise drives the patient


def run_trial(rig: LiveServer, seconds: float) -> Any:
    answer = rig_api.post(rig.url + "/api/rig/trial", json={})
    assert answer.status_code == 201, answer.text
    trial = rig.controller.trial
    assert trial is not None
    time.sleep(seconds)
    assert rig_api.post(rig.url + "/api/rig/trial/stop").status_code == 200
    return trial


def test_sit_to_stand_repetitions_in_a_recorded_trial_are_counted_exactly(
        rig: LiveServer) -> None:
    patient = virtual(rig).patient
    patient.sit_to_stand = SitToStandParameters(cycle_s=4.0, rise_s=1.2, stand_s=1.0, sit_s=1.2)
    choose(rig, "sit_to_stand", "sit_to_stand")
    answer = rig_api.post(rig.url + "/api/rig/trial", json={})
    assert answer.status_code == 201, answer.text
    trial = rig.controller.trial
    assert trial is not None
    # Stop while seated after the third repetition (the patient's schedule is its truth).
    third = virtual(rig).truth_repetitions(trial.started_s, trial.started_s + 30.0)[2]
    time.sleep(max(0.0, third.seated_s + 0.3 - time.monotonic()))
    assert rig_api.post(rig.url + "/api/rig/trial/stop").status_code == 200
    results, metric = stored(rig, trial.trial_id)
    assert metric is not None and results.host_time_s.size > 5000
    t = results.host_time_s
    feet = results.values["left_foot_pct_bw"] + results.values["right_foot_pct_bw"]
    truth = virtual(rig).truth_repetitions(float(t[0]), float(t[-1]))
    rises = count_rises(t, feet)
    assert len(truth) == 3 and len(rises) == len(truth)
    for found, rep in zip(rises, truth, strict=True):
        # Host times of the stored rows come through the boards' clock mapping: a few ms.
        assert rep.seat_off_s - 0.05 < found <= rep.standing_s + 0.05
        rise = (t >= rep.rise_start_s) & (t <= rep.standing_s)
        prosthetic = results.values["left_foot_pct_bw"][rise]
        sound = results.values["right_foot_pct_bw"][rise]
        assert prosthetic.max() == pytest.approx(rep.prosthetic_peak_pct_bw, abs=3.0)
        assert sound.max() == pytest.approx(rep.sound_peak_pct_bw, abs=3.0)
        assert prosthetic.mean() == pytest.approx(rep.prosthetic_mean_pct_bw, abs=3.0)


def test_walking_steps_follow_the_band_some_over(rig: LiveServer) -> None:
    choose(rig, "partial_weight_bearing", "walking")
    answer = rig_api.put(rig.url + "/api/rig/targets",
                         json={"band_low": 20, "band_high": 40, "limit": 50})
    assert answer.status_code == 200, answer.text
    assert virtual(rig).patient.targets == TargetResponse(20.0, 40.0, 50.0, 5.0)
    time.sleep(2.5)  # the blend into walking, then steps drawn around the band
    trial = run_trial(rig, 33.0)
    steps = [s for s in trial.steps.steps if s.prosthetic]
    truth = virtual(rig).truth_step_peaks(trial.started_s - 2.0, trial.ended_s + 2.0)
    assert len(steps) >= 18
    true_strikes = np.array([s.heel_strike_s for s in truth])
    for step in steps:  # each live step is one of the patient's, with its peak
        nearest = int(np.argmin(np.abs(true_strikes - step.heel_strike_s)))
        assert abs(true_strikes[nearest] - step.heel_strike_s) < 0.25
        assert step.peak_pct_bw == pytest.approx(truth[nearest].peak_pct_bw, abs=3.0)
    peaks = np.array([s.peak_pct_bw for s in steps])
    in_band = (peaks >= 20.0) & (peaks <= 40.0)
    assert 0.5 <= in_band.mean() <= 0.9
    assert (peaks > 40.0).any()  # some steps over the band
    assert (peaks > 50.0).any()  # and some over the limit
    assert any(alarm.kind == "over_limit" for alarm in trial.alarms)


def held_truth_sway_area_mm2(rig: LiveServer, frames: dict[str, Any],
                             stance_width_mm: float) -> float:
    """The patient's true 95 % sway ellipse (mm², plain numpy) on the rows the analysis uses: a
    row every 1/rate s from the first frame of the insole with the most frames, each insole's
    truth taken at its newest stored frame at or before the row (the zero-order hold of
    ``gaitrig.processing.timeline``), rows whose held frame is older than 50 ms left out (a
    gap). A board starved of CPU sends late or loses frames, and the hold then moves the CoP;
    the truth held the same way holds the same, so only the sensors' noise is left over."""
    patient = virtual(rig).patient
    rate = float(rig.settings.insole_rate_hz)
    role = max(("insole_left", "insole_right"), key=lambda r: len(frames[r].host_time_s))
    first, last = (float(frames[role].host_time_s[i]) for i in (0, -1))
    rows = first + np.arange(int(np.floor((last - first) * rate + 1e-6)) + 1) / rate
    keep = np.ones(rows.size, dtype=bool)
    held = {}
    for side in ("left", "right"):
        times = np.asarray(frames[f"insole_{side}"].host_time_s, dtype=np.float64)
        index = np.searchsorted(times, rows, side="right") - 1
        keep &= index >= 0
        held[side] = times[np.clip(index, 0, None)]
        keep &= rows - held[side] <= 0.05
    half = 0.5 * stance_width_mm
    left = patient.sample_sensors("left", held["left"][keep])
    right = patient.sample_sensors("right", held["right"][keep])
    moment = (left @ (patient.feet["left"].positions_mm - np.array([half, 0.0]))
              + right @ (patient.feet["right"].positions_mm + np.array([half, 0.0])))
    total = left.sum(axis=1) + right.sum(axis=1)
    cop = moment[total > 0] / total[total > 0, None]
    return float(math.pi * 5.991 * math.sqrt(np.linalg.det(np.cov(cop, rowvar=False))))


def test_quiet_standing_sway_area_from_the_stored_cop_within_5_pct(rig: LiveServer) -> None:
    from gaitrig.db import recordings
    from gaitrig.rig.offline.trial_setup import STANCE_WIDTH_MM
    from gaitrig.rig.records import Records

    choose(rig, "quiet_standing", "standing")
    time.sleep(2.5)  # the blend into standing
    assert virtual(rig).patient.activity_at(time.monotonic() - 1.0) == "standing"
    trial = run_trial(rig, 12.0)
    results, metric = stored(rig, trial.trial_id)
    assert metric is not None and metric.sway_area_95_mm2 is not None
    records = Records.open(rig.settings.resolved_database_url())
    try:
        with records.sessions() as session:
            frames = recordings.load_frames(session, trial.trial_id)
    finally:
        records.close()
    expected = held_truth_sway_area_mm2(rig, frames, STANCE_WIDTH_MM)
    t = results.host_time_s
    unheld = virtual(rig).truth_sway_ellipse_area_mm2(float(t[0]), float(t[-1]),
                                                      STANCE_WIDTH_MM)
    # The insoles' quantisation and ADC noise (0.7 counts rms) only add apparent sway: over
    # seven 12 s trials the stored area exceeded the truth by 0.3 to 4.5 mm² whatever the
    # truth (44 to 284 mm²), so the allowance above the truth is 5 % plus that floor.
    assert 0.95 * expected <= metric.sway_area_95_mm2 <= 1.05 * expected + NOISE_FLOOR_MM2, (
        metric.sway_area_95_mm2, expected, unheld)


def test_the_patient_follows_each_exercise_the_console_chooses(rig: LiveServer) -> None:
    for exercise, activity in (("weight_shift", "weight_shift"), ("walking", "walking"),
                               ("sit_to_stand", "sit_to_stand"),
                               ("quiet_standing", "standing")):
        choose(rig, exercise, activity)
        time.sleep(1.2)  # one change at a time: each waits for the previous blend
        assert virtual(rig).patient.activity_at(time.monotonic()) == activity
