"""Each exercise's own results (issue 13, part 5): the weight-shift and sit-to-stand figures on
loads whose answer is known in closed form; each exercise of the virtual rig through the real
controller, recorder and analysis, with its own figures and not the others', in the stored
summary, the records API and the session PDF (pypdf); replay identical."""

from __future__ import annotations

import io
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pypdf import PdfReader

from gaitrig.cli import main as cli
from gaitrig.db import models as m
from gaitrig.db import recordings
from gaitrig.processing import exercises
from gaitrig.rig.clinic.exercise_results import FIGURES, exercise_results
from gaitrig.rig.clinic.history import ClinicHistory
from gaitrig.rig.clinic.reports import session_report
from gaitrig.rig.model import Exercise, Targets
from tests.integration.test_recorder import rig_with_records


def test_weight_shift_closed_form() -> None:
    """p = 50 + 30 sin(2 pi t / 4 s), s = 100 - p for 12 s: 3 shifts to each side, each with
    its peak of 80 % BW; time in the band 60..90 % BW per cycle (pi - 2 asin(1/3)) / (2 pi) x 4 s
    on each side."""
    rate = 1000.0
    t = np.arange(int(12 * rate)) / rate
    p = 50.0 + 30.0 * np.sin(2 * np.pi * t / 4.0)
    shift = exercises.weight_shift(p, 100.0 - p, rate, (60.0, 90.0))
    assert (shift.shifts, shift.prosthetic_shifts, shift.sound_shifts) == (6, 3, 3)
    assert shift.prosthetic_amplitude_pct_bw == pytest.approx(80.0, abs=1e-6)
    assert shift.sound_amplitude_pct_bw == pytest.approx(80.0, abs=1e-6)
    in_band = 3 * 4.0 * (math.pi - 2 * math.asin(1 / 3)) / (2 * math.pi)
    assert shift.prosthetic_time_in_band_s == pytest.approx(in_band, abs=0.01)
    assert shift.sound_time_in_band_s == pytest.approx(in_band, abs=0.01)
    # sway around an even stance (under the hysteresis) is no shift
    still = exercises.weight_shift(50.0 + 4.0 * np.sin(t), 50.0 - 4.0 * np.sin(t), rate,
                                   (60.0, 90.0))
    assert still.shifts == 0 and math.isnan(still.prosthetic_amplitude_pct_bw)


def _sit_to_stand_loads(rate: float, cycles: int) -> np.ndarray:
    """Both feet together: seated 20 % BW for 2 s, up to 100 % in 1 s, standing 2 s, down in
    1 s, seated 2 s: a cycle of 8 s."""
    t = np.arange(int(8 * cycles * rate)) / rate
    u = t % 8.0
    return np.interp(u, [0.0, 2.0, 3.0, 5.0, 6.0, 8.0], [20.0, 20.0, 100.0, 100.0, 20.0, 20.0])


def test_sit_to_stand_closed_form() -> None:
    """The rises cross 40 % BW 0.25 s and 80 % BW 0.75 s after they begin (at 2 s in each
    cycle); the last sitting down crosses 40 % BW at 5.75 s; the prosthetic foot carries 40 %
    of the feet's load."""
    rate = 1000.0
    total = _sit_to_stand_loads(rate, 3)
    result = exercises.sit_to_stand(0.4 * total, 0.6 * total, np.full(total.size, 5.0), rate)
    assert result.repetitions == 3
    starts = [r.rise_start_s for r in result.rises]
    np.testing.assert_allclose(starts, [2.25, 10.25, 18.25], atol=1e-9)
    np.testing.assert_allclose([r.standing_s for r in result.rises], [2.75, 10.75, 18.75],
                               atol=1e-9)
    assert result.rises[-1].end_s == pytest.approx(16.0 + 5.75)
    assert result.mean_repetition_s == pytest.approx((8.0 + 8.0 + 3.5) / 3)
    assert result.mean_rise_s == pytest.approx(0.5)
    # during the rise (the last seated sample to the first standing one): 40 .. 80 % BW
    assert result.prosthetic_peak_pct_bw == pytest.approx(0.4 * 80.0)
    assert result.sound_peak_pct_bw == pytest.approx(0.6 * 80.0)
    assert result.prosthetic_mean_pct_bw == pytest.approx(0.4 * 60.0, abs=0.05)
    assert result.sound_mean_pct_bw == pytest.approx(0.6 * 60.0, abs=0.05)
    assert result.bars_mean_pct_bw == pytest.approx(5.0)
    # standing the whole time: no repetition; a gap (NaN) inside a rise does not split it
    assert exercises.sit_to_stand(np.full(100, 50.0), np.full(100, 50.0), np.zeros(100),
                                  rate).repetitions == 0
    gapped = total.copy()
    gapped[2400:2600] = np.nan
    assert exercises.sit_to_stand(0.4 * gapped, 0.6 * gapped, np.zeros(total.size),
                                  rate).repetitions == 3


def test_every_exercise_has_its_own_figures_only() -> None:
    keys = {exercise: {f.key for f in figures} for exercise, figures in FIGURES.items()}
    assert set(keys) == {e.value for e in Exercise}
    assert "ellipse_area" in keys["quiet_standing"] and "cadence" not in keys["quiet_standing"]
    assert "repetitions" in keys["sit_to_stand"] and "steps" not in keys["sit_to_stand"]
    assert "pct_in_band" in keys["partial_weight_bearing"] and "pct_in_band" not in keys[
        "walking"]
    assert not keys["weight_shift"] & (keys["walking"] | keys["quiet_standing"])
    empty = exercise_results("walking", None)
    assert all(f["value"] is None and f["text"] == "–" for f in empty["figures"])


#: (exercise, figures that must have a value) on the virtual rig.
MEASURED = {
    Exercise.QUIET_STANDING: ("sway_path", "ellipse_area", "range_ap", "range_ml",
                              "load_share_left", "load_share_right", "hands_on_bars"),
    Exercise.WEIGHT_SHIFT: ("shifts", "shift_amplitude_prosthetic", "shift_amplitude_sound",
                            "time_in_band_prosthetic", "time_in_band_sound"),
    Exercise.WALKING: ("steps", "cadence", "stance_symmetry", "swing_symmetry",
                       "step_time_symmetry", "loading_rate_prosthetic",
                       "cop_progression_prosthetic"),
    Exercise.PARTIAL_WEIGHT_BEARING: ("pct_in_band", "over_limit", "peak_of_peaks", "steps"),
    Exercise.SIT_TO_STAND: ("repetitions", "time_per_repetition", "rise_peak_prosthetic",
                            "rise_peak_sound", "rise_mean_prosthetic", "hands_on_bars"),
}
SECONDS = {Exercise.QUIET_STANDING: 6.0, Exercise.WEIGHT_SHIFT: 14.0, Exercise.WALKING: 8.0,
           Exercise.PARTIAL_WEIGHT_BEARING: 8.0, Exercise.SIT_TO_STAND: 14.0}


def _wait_seated(rig: Any, timeout_s: float = 10.0) -> None:
    """Until the virtual patient has sat back down and its next rise is 0.3 s away or more."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = time.monotonic()
        reps = rig.patient.repetitions_between(now - 20.0, now + 20.0)
        sat = [r for r in reps if r.seated_s + 0.2 < now]
        coming = [r for r in reps if r.rise_start_s > now]
        if sat and (not coming or coming[0].rise_start_s > now + 0.3) and not [
                r for r in reps if r.rise_start_s <= now <= r.seated_s + 0.2]:
            return
        time.sleep(0.02)
    raise AssertionError("the virtual patient did not sit down")


def test_each_exercise_of_the_virtual_rig_stores_and_reports_its_own_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'rig.sqlite3'}"
    recorded: dict[Exercise, int] = {}
    for controller in rig_with_records(tmp_path, url):
        controller.set_targets(Targets(20.0, 40.0, limit_pct_bw=50.0))
        rig = controller.virtual_rig
        assert rig is not None
        for exercise in MEASURED:
            controller.set_exercise(exercise)
            time.sleep(2.5)  # the patient turns to the exercise
            trial = controller.start_trial(exercise)
            first = time.monotonic()
            time.sleep(SECONDS[exercise])
            if exercise == Exercise.SIT_TO_STAND:
                _wait_seated(rig)  # the end of the trial is not in the middle of a rise
            controller.stop_trial()
            last = time.monotonic()
            assert controller.wait_for_recording(120)
            recorded[exercise] = trial.trial_id
            if exercise == Exercise.SIT_TO_STAND:  # the whole ones in the recorded frames
                with controller.records.sessions() as db:  # type: ignore[union-attr]
                    times = recordings.load_frames(db, trial.trial_id)["insole_left"].host_time_s
                seen = [r for r in rig.patient.repetitions_between(first - 10.0, last)
                        if r.rise_start_s >= times[0] - 1.0 and r.standing_s <= times[-1]]
                truth = [r for r in seen
                         if r.rise_start_s - exercises.MIN_SEATED_S >= times[0]]
        records = controller.records
        assert records is not None
        history = ClinicHistory(records)
        patient = history.add_patient("EX-1", "Ex Ercise", body_mass_kg=75.0)
        session = history.start_session(patient.id, "rig-1")
        for trial_id in recorded.values():
            history.assign_trial(trial_id, session_id=session.id)
        with records.sessions() as db:
            summaries = {e: db.get(m.TrialMetric, t).summary  # type: ignore[union-attr]
                         for e, t in recorded.items()}
        pdf = session_report(history, session.id)
    for exercise, must in MEASURED.items():
        results = exercise_results(exercise.value, summaries[exercise])
        values = {f["key"]: f["value"] for f in results["figures"]}
        assert set(values) == {f.key for f in FIGURES[exercise.value]}
        missing = [k for k in must if values.get(k) is None]
        assert not missing, (exercise, missing, values)
    # figures of one exercise are stored only for it
    assert "sit_to_stand" in summaries[Exercise.SIT_TO_STAND]
    assert "sit_to_stand" not in summaries[Exercise.WALKING]
    assert "weight_shift" not in summaries[Exercise.QUIET_STANDING]
    assert "sway_plot" in summaries[Exercise.QUIET_STANDING]
    # sit-to-stand: every whole repetition the virtual patient made, counted exactly
    sts = summaries[Exercise.SIT_TO_STAND]["sit_to_stand"]
    # Every whole repetition is found, and every rise found is one the patient made (a rise
    # the recording caught at its very start may be counted or not: seen, not whole).
    detected = [r["rise_start_s"] for r in sts["rises"]]
    assert sts["repetitions"] == len(detected) and len(truth) >= 1
    relative = [(r.rise_start_s - times[0]) for r in seen]
    whole = [(r.rise_start_s - times[0]) for r in truth]
    assert all(any(abs(d - t) < 0.5 for d in detected) for t in whole), (detected, whole)
    assert all(any(abs(d - t) < 0.5 for t in relative) for d in detected), (detected, relative)
    assert len(truth) <= len(detected) <= len(seen)
    # weight shift: both sides shifted, the amplitude above an even stance
    ws = summaries[Exercise.WEIGHT_SHIFT]["weight_shift"]
    assert ws["prosthetic_shifts"] >= 1 and ws["sound_shifts"] >= 1
    assert ws["prosthetic_amplitude_pct_bw"] > 55.0 and ws["sound_amplitude_pct_bw"] > 55.0
    # quiet standing: the plot's ellipse holds most of its trace
    quiet = exercise_results("quiet_standing", summaries[Exercise.QUIET_STANDING])
    assert quiet["ellipse"]["area_mm2"] == pytest.approx(
        summaries[Exercise.QUIET_STANDING]["balance"]["sway"]["ellipse_area_95_mm2"])
    trace = np.column_stack([quiet["trace"]["x_mm"], quiet["trace"]["y_mm"]])
    e = quiet["ellipse"]
    angle = math.radians(e["angle_deg"])
    d = trace - e["centre_mm"]
    along = d @ [math.cos(angle), math.sin(angle)]
    across = d @ [-math.sin(angle), math.cos(angle)]
    inside = (along / e["semi_axes_mm"][0]) ** 2 + (across / e["semi_axes_mm"][1]) ** 2 <= 1
    assert 0.85 < inside.mean() <= 1.0
    # the PDF: each trial's own figures under its heading, and the sway plot
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    parts = text.split("Results per exercise", 1)[1]
    blocks = {}
    for exercise, trial_id in recorded.items():
        start = parts.index(f"Trial {trial_id}:")
        ends = [parts.index(f"Trial {other}:") for other in recorded.values()
                if parts.index(f"Trial {other}:") > start]
        blocks[exercise] = parts[start:min(ends) if ends else parts.index("Notes and comfort")]
    assert "Repetitions" in blocks[Exercise.SIT_TO_STAND]
    assert "Cadence" not in blocks[Exercise.SIT_TO_STAND]
    assert "95 % prediction ellipse area" in blocks[Exercise.QUIET_STANDING]
    assert "Cadence" not in blocks[Exercise.QUIET_STANDING]
    assert "Shift amplitude, prosthetic" in blocks[Exercise.WEIGHT_SHIFT]
    assert "Stance-time symmetry" in blocks[Exercise.WALKING]
    assert "SI = (P − S) / (0.5 (P + S))" in blocks[Exercise.WALKING] or "SI = (P" in blocks[
        Exercise.WALKING]
    assert "Sway path" not in blocks[Exercise.WALKING]
    assert "Steps over 150 % of the limit" in blocks[Exercise.PARTIAL_WEIGHT_BEARING]
    assert "Repetitions" not in blocks[Exercise.PARTIAL_WEIGHT_BEARING]
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 1 + min(4, len(recorded))  # the sway plot and the load curves
    # rig replay: the same numbers for every exercise
    monkeypatch.setenv("GAITRIG_DATABASE_URL", url)
    for trial_id in recorded.values():
        assert cli.main(["replay", str(trial_id)]) == 0
        assert "identical to the stored metrics" in capsys.readouterr().out
