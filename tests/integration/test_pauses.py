"""Pauses and gaps are not steps (issue 13, part 3): the virtual rig through the real controller
and recorder, a pause while the prosthetic foot is on the ground; frames cut out of a stored
recording; the rule on contacts with a closed-form answer."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gaitrig.cli import main as cli
from gaitrig.db import models as m
from gaitrig.db import recordings
from gaitrig.processing import metrics
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.live.steps import StepCounter
from gaitrig.rig.model import Exercise
from gaitrig.rig.offline import trial_analysis
from gaitrig.rig.offline.trial_analysis import analyse, merge_recording
from gaitrig.rig.offline.trial_setup import TrialSetup
from tests.integration.test_recorder import rig_with_records


def _pause_in_left_stance(controller: RigController, timeout_s: float = 10.0) -> float:
    """Pause the trial a little after the virtual patient's left (prosthetic) heel strike (the
    frames of the last few ms before a pause are not recorded yet when it begins)."""
    rig = controller.virtual_rig
    assert rig is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = time.monotonic()
        events = [e for e in rig.events_between(now - 2.0, now) if e.side == "left"]
        if events and events[-1].kind == "heel_strike" and 0.35 < now - events[-1].t_s < 0.45:
            controller.pause_trial()
            return now
        time.sleep(0.005)
    raise AssertionError("no left heel strike to pause in")


def _true_symmetry(controller: RigController, first_s: float, last_s: float,
                   gaps: list[tuple[float, float]]) -> float:
    """Stance-time symmetry index (%) of the virtual patient's own contacts (ground truth, left
    prosthetic) that lie whole within the recorded spans (host s), in plain numpy."""
    rig = controller.virtual_rig
    assert rig is not None
    events = rig.events_between(first_s - 5.0, last_s + 5.0)
    stance: dict[str, list[float]] = {"left": [], "right": []}
    for side in stance:
        own = [e for e in events if e.side == side]
        for a, b in itertools.pairwise(own):
            whole = a.kind == "heel_strike" and b.kind == "toe_off" and (
                a.t_s > first_s and b.t_s < last_s
                and not any(a.t_s < g1 and b.t_s > g0 for g0, g1 in gaps))
            if whole:
                stance[side].append(b.t_s - a.t_s)
    p, q = np.mean(stance["left"]), np.mean(stance["right"])
    return float(100.0 * (p - q) / (0.5 * (p + q)))


def _cut(frames: dict[str, recordings.Frames], after_s: float, before_s: float
         ) -> dict[str, recordings.Frames]:
    """The frames with ``after_s < host time < before_s``."""
    out = {}
    for role, own in frames.items():
        keep = (own.host_time_s > after_s) & (own.host_time_s < before_s)
        out[role] = recordings.Frames(own.host_time_s[keep], own.seq[keep],
                                      own.device_time_us[keep], own.counts[keep])
    return out


def _on_timeline(frames: dict[str, recordings.Frames], role: str
                 ) -> dict[str, recordings.Frames]:
    """``frames`` merged on the timeline of the same insole as the whole trial (the one with
    the most frames): the other's last frames (at the pause, in a contact left out anyway)
    dropped if it has as many. The insoles' clocks are mapped onto the host's separately, so a
    different timeline moves every event a little."""
    other = "insole_right" if role == "insole_left" else "insole_left"
    extra = len(frames[other]) - len(frames[role]) + 1
    if extra <= 0:
        return frames
    own = frames[other]
    keep = slice(0, len(own) - extra)
    return {**frames, other: recordings.Frames(own.host_time_s[keep], own.seq[keep],
                                               own.device_time_us[keep], own.counts[keep])}


def _absolute(step: dict[str, Any], first_s: float) -> tuple[bool, float, float]:
    """A step as (prosthetic?, heel strike on the host clock in s, stance in s)."""
    return (bool(step["prosthetic"]), first_s + float(step["heel_strike_s"]),
            float(step["stance_s"]))


def _symmetry(steps: list[tuple[bool, float, float]]) -> float:
    """Stance-time symmetry index (%) of steps from :func:`_absolute`, in plain numpy."""
    means = {side: float(np.mean([s[2] for s in steps if s[0] == side])) for side in (True, False)}
    return 100.0 * (means[True] - means[False]) / (0.5 * (means[True] + means[False]))


def _steps(controller: RigController, trial_id: int) -> list[m.StepEvent]:
    with controller.records.sessions() as session:  # type: ignore[union-attr]
        rows = list(recordings.step_rows(session, trial_id))
        session.expunge_all()
    return rows


def _stored(controller: RigController, trial_id: int) -> tuple[m.TrialMetric, TrialSetup,
                                                               dict[str, recordings.Frames],
                                                               m.Trial]:
    records = controller.records
    assert records is not None
    with records.sessions() as session:
        metric = session.get(m.TrialMetric, trial_id)
        trial = session.get(m.Trial, trial_id)
        assert metric is not None and trial is not None and trial.setup is not None
        assert trial.calibration is not None
        frames = recordings.load_frames(session, trial_id)
        session.expunge_all()
    return metric, TrialSetup.from_dict(trial.setup), frames, trial


def test_a_pause_in_stance_leaves_symmetry_as_without_it(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for controller in rig_with_records(tmp_path, database_url):
        paused = controller.start_trial(Exercise.WALKING)
        time.sleep(4.0)
        paused_at = _pause_in_left_stance(controller)
        time.sleep(3.0)  # the patient walks on; nothing is recorded
        controller.resume_trial()
        time.sleep(5.0)
        live = controller.stop_trial()
        assert controller.wait_for_recording(120)

        metric, setup, frames, trial = _stored(controller, paused.trial_id)
        # the pause is stored with the trial, on the frames' clock
        assert len(setup.pauses_s) == 1 and abs(setup.pauses_s[0][0] - paused_at) < 0.05
        walking = metric.summary["walking"]
        pauses = [e for e in walking["excluded_contacts"] if e["reason"] == "pause"]
        assert any(e["foot"] == "left" and e["prosthetic"] for e in pauses), (
            walking["excluded_contacts"], walking["gaps"])
        assert walking["excluded_count"]["pause"] == len(pauses) >= 1
        assert [g["reason"] for g in walking["gaps"]].count("pause") == 1, (
            walking["gaps"], setup.pauses_s, float(frames["insole_left"].host_time_s[0]))
        # every step is a whole step: none longer than a walking stance
        stance = [walking["prosthetic"]["mean_stance_s"], walking["sound"]["mean_stance_s"]]
        assert all(0.3 < s < 1.5 for s in stance)
        # The same trial without the pause: its two recorded parts, before and after it, each
        # analysed as a trial of its own (no gap in either), their steps pooled. Like for like:
        # every step of the paused trial is one of the pooled steps, same foot, same stance;
        # the pooled parts may keep a contact at the pause that the paused trial leaves out (at
        # most one per foot, touching the pause), so the symmetry is compared on the same steps.
        first = float(frames["insole_left"].host_time_s[0])
        gap = walking["gaps"][0]
        pause_s = (first + gap["start_s"], first + gap["end_s"])
        role = merge_recording(frames, setup).timeline_role
        parts = [_on_timeline(_cut(frames, -math.inf, pause_s[0] + 1e-6), role),
                 _on_timeline(_cut(frames, pause_s[1] - 1e-6, math.inf), role)]
        pooled = [_absolute(step, float(part[role].host_time_s[0]))
                  for part in parts for step in analyse(
                      part, replace(setup, pauses_s=()), trial.calibration or {}, trial.targets,
                      "walking").steps]
        with_pause = analyse(frames, setup, trial.calibration or {}, trial.targets, "walking")
        assert with_pause.metric["stance_time_symmetry_index_pct"] == (
            metric.stance_time_symmetry_index_pct)  # what was stored, reproduced
        kept = [_absolute(step, float(frames[role].host_time_s[0])) for step in with_pause.steps]
        twins = [min(pooled, key=lambda p, s=s: (p[0] != s[0], abs(p[1] - s[1]))) for s in kept]
        for step, twin in zip(kept, twins, strict=True):
            assert twin[0] == step[0] and abs(twin[1] - step[1]) < 0.03, (step, twin, pause_s)
            assert abs(twin[2] - step[2]) < 0.03, (step, twin)
        extra = [p for p in pooled if p not in twins]
        assert len(extra) <= 2 and all(
            pause_s[0] - 2.0 < p[1] < pause_s[1] + 2.0 for p in extra), (extra, pause_s)
        assert len(pooled) >= metric.step_count >= len(pooled) - 2
        reference = _symmetry(twins)
        assert metric.stance_time_symmetry_index_pct is not None
        assert abs(metric.stance_time_symmetry_index_pct - reference) <= 2.0
        # and the symmetry the patient walked (ground truth), to the detector's accuracy
        last = float(frames["insole_left"].host_time_s[-1])
        truth = _true_symmetry(controller, first, last, [
            (first + g["start_s"], first + g["end_s"]) for g in walking["gaps"]])
        assert abs(metric.stance_time_symmetry_index_pct - truth) <= 8.0
        # the pause is found from the frames alone, as a data gap, when it was not stored
        unstored = analyse(frames, replace(setup, pauses_s=()), trial.calibration or {},
                           trial.targets, "walking")
        assert [g["reason"] for g in unstored.metric["summary"]["walking"]["gaps"]] == [
            "data gap"]
        assert unstored.metric["stance_time_symmetry_index_pct"] == (
            metric.stance_time_symmetry_index_pct)
        # what the old rule gave: the paused contact as one long step
        with monkeypatch.context() as patch:
            patch.setattr(trial_analysis, "recording_gaps", lambda *args: ())
            old = analyse(frames, setup, trial.calibration or {}, trial.targets, "walking")
        assert abs(old.metric["stance_time_symmetry_index_pct"] - reference) > 10.0
        # live: the contact under way at the pause is not a step either
        assert live["excluded_steps"] >= 1
        assert live["stance_symmetry_index_pct"] is not None
        # The live detector runs on the live merge, which holds a late board's samples: with
        # three busy processes on the two cores its figure moved up to 4.2 points from the
        # reference (0.5 on an idle machine); the paused contact as a step moves it over 10.
        assert abs(live["stance_symmetry_index_pct"] - reference) <= 6.0
        # rig replay: the same numbers
        monkeypatch.setenv("GAITRIG_DATABASE_URL", database_url)
        assert cli.main(["replay", str(paused.trial_id)]) == 0
        assert "identical to the stored metrics" in capsys.readouterr().out


def test_frames_missing_mid_stance_are_a_data_gap(database_url: str, tmp_path: Path) -> None:
    for controller in rig_with_records(tmp_path, database_url):
        trial = controller.start_trial(Exercise.WALKING)
        time.sleep(8.0)
        controller.stop_trial()
        assert controller.wait_for_recording(120)
        metric, setup, frames, row = _stored(controller, trial.trial_id)
        records = controller.records
        assert records is not None
        with records.sessions() as session:
            steps = recordings.step_rows(session, trial.trial_id)
        left = [s for s in steps if s.foot == "left"]
        middle = left[len(left) // 2]
        first = float(frames["insole_left"].host_time_s[0])
        cut_from = first + middle.heel_strike_s + 0.2  # 300 ms lost inside that stance
        cut_to = cut_from + 0.3
        cut = {}
        for role, own in frames.items():
            keep = (own.host_time_s < cut_from) | (own.host_time_s > cut_to)
            cut[role] = recordings.Frames(own.host_time_s[keep], own.seq[keep],
                                          own.device_time_us[keep], own.counts[keep])
        gapped = analyse(cut, setup, row.calibration or {}, row.targets, "walking")
        walking = gapped.metric["summary"]["walking"]
        gaps = walking["gaps"]
        assert [g["reason"] for g in gaps] == ["data gap"]  # both insoles' gaps as one
        assert gaps[0]["end_s"] - gaps[0]["start_s"] == pytest.approx(0.3, abs=0.01)
        lost = [e for e in walking["excluded_contacts"] if e["reason"] == "data gap"]
        assert any(e["foot"] == "left"
                   and abs(e["heel_strike_s"] - middle.heel_strike_s) < 0.02 for e in lost)
        assert all(abs(s["heel_strike_s"] - middle.heel_strike_s) > 0.02
                   for s in gapped.steps if s["foot"] == "left")
        assert metric.stance_time_symmetry_index_pct is not None
        assert abs(gapped.metric["stance_time_symmetry_index_pct"]
                   - metric.stance_time_symmetry_index_pct) <= 2.0


def _contacts(strikes: list[float], stance: float) -> metrics.FootContacts:
    return metrics.FootContacts.of(strikes, [s + stance for s in strikes])


def test_the_rule_on_contacts_closed_form() -> None:
    """Left stance 0.6 s, right 0.7 s, every 1 s from 1 s; a pause from 4.3 to 7.0 s: the left
    contact from 4.0 s and the right one from 4.5 s span it, the left one at 7.0 s starts at
    its end, and the last right one (9.5 to 10.2 s) ends at the last sample (10.2 s)."""
    rate, n = 100.0, 1021
    left = _contacts([1.0, 2.0, 3.0, 4.0, 7.0, 8.0, 9.0], 0.6)
    right = _contacts([1.5, 2.5, 3.5, 4.5, 7.5, 8.5, 9.5], 0.7)
    load = np.full(n, 500.0)
    cop = np.zeros((n, 2))
    trial = metrics.trial_metrics(
        left, right, left_foot_n=load, right_foot_n=load, left_cop_mm=cop, right_cop_mm=cop,
        sample_rate_hz=rate, body_weight_n=700.0, prosthetic_side="left",
        target_band_pct_bw=(0.0, 100.0), left_bar_n=np.where(np.arange(n) < 500, 70.0, 0.0),
        right_bar_n=np.zeros(n), gaps=(metrics.Gap(4.3, 7.0, "pause"),), exclude_edges=True)
    why = {(e.foot, e.heel_strike_s): e.reason for e in trial.excluded_contacts}
    assert why == {("left", 4.0): "pause", ("right", 4.5): "pause", ("left", 7.0): "pause",
                   ("right", 9.5): "trial edge"}
    assert trial.step_count == 14 - 4
    assert trial.prosthetic.mean_stance_s == pytest.approx(0.6)
    assert trial.sound.mean_stance_s == pytest.approx(0.7)
    assert trial.stance_time_symmetry_index_pct == pytest.approx(100 * (0.6 - 0.7) / 0.65)
    by_strike = {s.heel_strike_s: s for s in trial.steps}
    assert math.isnan(by_strike[3.5].swing_s)  # its next heel strike is after the pause
    assert by_strike[3.0].swing_s == pytest.approx(0.4)
    assert math.isnan(by_strike[7.5].step_time_s)  # after the left strike at the resume
    assert by_strike[8.0].step_time_s == pytest.approx(0.5)
    # bars: the held samples inside the pause (4.31 .. 6.99 s) are left out
    inside = (np.arange(n) / rate > 4.3) & (np.arange(n) / rate < 7.0)
    bars = np.where(np.arange(n) < 500, 10.0, 0.0)[~inside]
    assert trial.bar_reliance_mean_pct_bw == pytest.approx(bars.mean())
    # without the rule (the default for contacts given whole) every contact is a step
    whole = metrics.trial_metrics(
        left, right, left_foot_n=load, right_foot_n=load, left_cop_mm=cop, right_cop_mm=cop,
        sample_rate_hz=rate, body_weight_n=700.0, prosthetic_side="left",
        target_band_pct_bw=(0.0, 100.0))
    assert whole.step_count == 14 and whole.excluded_contacts == ()


def test_live_steps_drop_a_contact_across_a_pause() -> None:
    """Live: a heel strike before the pause and its toe off after it is no step; nor is a
    heel strike found at the resume; the steps after are counted again."""
    counter = StepCounter("left")
    t = np.arange(0.0, 10.0, 0.01)
    load = np.full(t.size, 60.0)
    counter.add_samples(t, load, load)
    band = (0.0, 100.0)
    counter.event("left", "heel_strike", 1.0, band)
    assert counter.event("left", "toe_off", 1.7, band) is not None
    counter.event("left", "heel_strike", 2.0, band)
    counter.interrupt(2.3)  # pause
    counter.interrupt(5.0 + metrics.EDGE_MARGIN_S)  # resume at 5 s
    assert counter.event("left", "toe_off", 5.2, band) is None
    counter.event("right", "heel_strike", 5.02, band)  # found at the resume
    assert counter.event("right", "toe_off", 5.6, band) is None
    counter.event("left", "heel_strike", 6.0, band)
    step = counter.event("left", "toe_off", 6.7, band)
    assert step is not None and step.stance_s == pytest.approx(0.7)
    assert counter.excluded == 2 and counter.total == 2
    assert [s.heel_strike_s for s in counter.steps] == [1.0, 6.0]
