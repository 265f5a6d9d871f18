"""A trial's metrics from its stored raw recording: the same pipeline as live, then gait events,
walking metrics and, for standing exercises, balance.

Used at the end of every trial (by the recorder, on what it has just stored) and by
``rig replay``; both read the frames and the setup back from the database, so a replay gives
the same numbers bit for bit.

1. The stored frames of the three boards are merged on one uniform timeline: a row every
   ``1 / rate`` s (the rate of the insole board with the most frames) from that board's first
   frame to its last, by the frames' sample times (host clock, mapped from each board's own);
   every board is held at its newest frame sampled at or before each row (before its first
   frame: the counts it reads unloaded, as live). A lost frame is so bridged by its neighbour
   and the time of a row stays true; a paused span is held at the last frame before it.
2. The rows go through :class:`gaitrig.processing.pipeline.BlockProcessor` with the stored
calibration,
   layout and body mass, in blocks of :data:`BLOCK_ROWS` (the pipeline keeps no state between
   rows, so the block size does not change a number).
3. Row ``j`` is at ``j / rate`` s from the first row.
   Each foot's contacts come from :func:`gaitrig.processing.gait_events.detect_contacts`, the
   trial's metrics from :func:`gaitrig.processing.metrics.trial_metrics`, and for
   :data:`STANDING_EXERCISES` the weight bearing and CoP sway from
   :mod:`gaitrig.processing.balance`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from gaitrig.db import models as m
from gaitrig.db import recordings
from gaitrig.db.recordings import Frames
from gaitrig.processing import balance, exercises, gait_events, metrics, pipeline
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.compliance import stored_compliance
from gaitrig.processing.timeline import ROLES, choose_timeline, hold_at
from gaitrig.rig.offline.analyze import DEFAULT_BAND_PCT_BW
from gaitrig.rig.offline.trial_setup import TrialSetup

#: Changes when the analysis gives different numbers for the same recording.
ANALYSIS_VERSION = "3"
STANDING_EXERCISES = ("quiet_standing", "weight_shift")
#: Rows per pipeline call: about 0.5 ms of kernel time, after which the live loop may run.
BLOCK_ROWS = 2_000
#: Two consecutive frames of an insole further apart than this (s) leave a gap in the recording:
#: a pause (when it overlaps one of the trial's stored pauses) or lost data.
MAX_FRAME_GAP_S = 0.05
INSOLES = ("insole_left", "insole_right")
#: What the analysis keeps of each block's pipeline result (N, mm).
SIGNALS = ("left_foot_n", "right_foot_n", "left_bar_n", "right_bar_n", "left_cop_mm",
           "right_cop_mm")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrialAnalysis:
    """What is stored: ``metric`` (the columns of ``trial_metrics`` but ``trial_id`` and
    ``computed_at``) and ``steps`` (the columns of ``step_events`` but ids)."""

    metric: dict[str, Any]
    steps: list[dict[str, Any]]


@dataclass(frozen=True)
class MergedRecording:
    timeline_role: str
    sample_rate_hz: float
    counts: dict[str, npt.NDArray[np.int64]]  # role -> (n, channels)

    @property
    def rows(self) -> int:
        return int(self.counts[self.timeline_role].shape[0])


def merge_recording(frames: Mapping[str, Frames], setup: TrialSetup) -> MergedRecording:
    """Every board's counts on the timeline of the insole with the most frames (step 1)."""
    timeline = choose_timeline({role: len(own) for role, own in frames.items()})
    if not len(frames.get(timeline, ())):
        raise ValueError("the trial has no recorded frames")
    rate = float(setup.rates_hz[timeline])
    recorded = frames[timeline].host_time_s
    rows = math.floor((float(recorded.max()) - float(recorded[0])) * rate + 1e-6) + 1
    times = float(recorded[0]) + np.arange(rows) / rate
    counts = {}
    for role in ROLES:
        idle = np.asarray(setup.idle_counts[role], dtype=np.int64)
        own = frames.get(role)
        if own is None or not len(own):
            counts[role] = np.ascontiguousarray(np.broadcast_to(idle, (len(times), idle.size)))
            continue
        counts[role] = np.ascontiguousarray(
            hold_at(own.host_time_s, np.asarray(own.counts, dtype=np.int64), idle, times))
    return MergedRecording(timeline, rate, counts)


def recording_gaps(frames: Mapping[str, Frames], setup: TrialSetup, first_s: float
                   ) -> tuple[metrics.Gap, ...]:
    """Where the insoles' stored frames stop for more than :data:`MAX_FRAME_GAP_S`, on the
    analysis's clock (s after ``first_s``, the first row's host time), with the reason; the
    two insoles' overlapping gaps as one."""
    found = []
    for role in INSOLES:
        own = frames.get(role)
        if own is None or len(own) < 2:
            continue
        times = np.asarray(own.host_time_s, dtype=np.float64)
        for k in np.flatnonzero(np.diff(times) > MAX_FRAME_GAP_S):
            start, end = float(times[k]), float(times[k + 1])
            paused = any(p0 < end and p1 > start for p0, p1 in setup.pauses_s)
            found.append(metrics.Gap(start - first_s, end - first_s,
                                     "pause" if paused else "data gap"))
    merged: list[metrics.Gap] = []  # both insoles stop together: one gap
    for gap in sorted(found, key=lambda gap: gap.start_s):
        if merged and gap.start_s <= merged[-1].end_s:
            last = merged[-1]
            merged[-1] = metrics.Gap(last.start_s, max(last.end_s, gap.end_s),
                                     "pause" if "pause" in (last.reason, gap.reason)
                                     else last.reason)
        else:
            merged.append(gap)
    return tuple(merged)


def analyse(frames: Mapping[str, Frames], setup: TrialSetup,
            calibration: Mapping[str, Any], targets: Mapping[str, Any] | None,
            exercise: str) -> TrialAnalysis:
    """Steps 1-3 of the module docstring on a trial's frames (role -> :class:`Frames`)."""
    merged = merge_recording(frames, setup)
    processor = pipeline.BlockProcessor(RigCalibration.from_dicts(calibration), setup.layout,
                                        setup.body_mass_kg)
    body_weight_n = processor.body_weight_n
    standing = exercise in STANDING_EXERCISES
    placement = balance.side_by_side_placement(setup.stance_width_mm)
    parts: dict[str, list[FloatArray]] = {name: [] for name in (*SIGNALS, "standing_cop_mm")}
    for first in range(0, merged.rows, BLOCK_ROWS):
        time.sleep(0)  # hand the interpreter to the live loop if it waits (this runs beside it)
        rows = slice(first, first + BLOCK_ROWS)
        result = processor.process(*(np.ascontiguousarray(merged.counts[r][rows])
                                     for r in ROLES))
        for name in SIGNALS:
            parts[name].append(np.array(getattr(result, name)))
        if standing:
            parts["standing_cop_mm"].append(balance.standing_cop_mm(
                result.left_sensor_n, result.right_sensor_n, setup.layout, *placement,
                pipeline.COP_MIN_FORCE_FRACTION_BW * body_weight_n))
    signals = {name: np.concatenate(p) for name, p in parts.items() if p}
    rate = merged.sample_rate_hz
    low, high = (float(v) for v in (
        (targets["band_low_pct_bw"], targets["band_high_pct_bw"]) if targets
        else DEFAULT_BAND_PCT_BW))
    side: metrics.Side = "left" if setup.prosthetic_side == "left" else "right"
    feet: tuple[metrics.Side, metrics.Side] = ("left", "right")
    events = {foot: gait_events.detect_events(signals[f"{foot}_foot_n"], rate, body_weight_n)
              for foot in feet}
    contacts = {foot: gait_events.contacts_from_events(own) for foot, own in events.items()}
    gaps = recording_gaps(frames, setup, float(frames[merged.timeline_role].host_time_s[0]))
    if standing and gaps:  # held samples are not sway
        inside = metrics.gap_rows(gaps, 0.0, rate, merged.rows)
        signals["standing_cop_mm"] = signals["standing_cop_mm"].copy()
        signals["standing_cop_mm"][inside] = np.nan
    walking = metrics.trial_metrics(
        contacts["left"], contacts["right"], left_foot_n=signals["left_foot_n"],
        right_foot_n=signals["right_foot_n"], left_cop_mm=signals["left_cop_mm"],
        right_cop_mm=signals["right_cop_mm"], sample_rate_hz=rate, body_weight_n=body_weight_n,
        prosthetic_side=side, target_band_pct_bw=(low, high),
        left_bar_n=signals["left_bar_n"], right_bar_n=signals["right_bar_n"], gaps=gaps,
        exclude_edges=True)
    walking_summary = walking.to_dict()
    del walking_summary["steps"]
    excluded = list(walking_summary.pop("excluded_contacts"))
    for foot, own in events.items():
        if own and own[-1].kind == gait_events.HEEL_STRIKE:  # no toe off before the end
            excluded.append(metrics.ExcludedContact(foot, foot == side, own[-1].time_s,
                                                    math.nan, "trial edge").to_dict())
    walking_summary["excluded_contacts"] = excluded
    walking_summary["excluded_count"] = {
        reason: sum(1 for e in excluded if e["reason"] == reason)
        for reason in ("pause", "data gap", "trial edge")}
    walking_summary["gaps"] = [{"start_s": g.start_s, "end_s": g.end_s, "reason": g.reason}
                               for g in gaps]
    balance_summary = None
    share, bars = walking.peak_load_prosthetic_share_pct, walking.bar_reliance_mean_pct_bw
    sway_area = math.nan
    if standing:
        bearing = balance.standing_weight_bearing(
            signals["left_foot_n"], signals["right_foot_n"], body_weight_n, side,
            signals["left_bar_n"], signals["right_bar_n"])
        balance_summary = {"weight_bearing": bearing.to_dict(), "sway": None}
        share, bars = bearing.prosthetic_share_pct_mean, bearing.bars_pct_bw_mean
        cop = signals["standing_cop_mm"]
        if np.isfinite(cop).all(axis=1).sum() >= 3:
            sway = balance.cop_sway(cop, rate)
            balance_summary["sway"] = sway.to_dict()
            sway_area = sway.ellipse_area_95_mm2
    metric = {
        "analysis_version": ANALYSIS_VERSION, "duration_s": merged.rows / rate,
        "step_count": walking.step_count,
        "prosthetic_load_share_pct": _number(share),
        "stance_time_symmetry_index_pct": _number(walking.stance_time_symmetry_index_pct),
        "bar_reliance_mean_pct_bw": _number(bars),
        "cadence_steps_per_min": _number(walking.cadence_steps_per_min),
        "sway_area_95_mm2": _number(sway_area),
        "summary": {"analysis_version": ANALYSIS_VERSION, "exercise": exercise,
                    "timeline_role": merged.timeline_role, "rows": merged.rows,
                    "sample_rate_hz": rate, "walking": walking_summary,
                    "balance": balance_summary},
    }
    steps = [{"step_index": s.index, "foot": s.foot, "prosthetic": s.prosthetic,
              "heel_strike_s": s.heel_strike_s, "toe_off_s": s.toe_off_s,
              "stance_s": s.stance_s, "peak_load_pct_bw": _number(s.peak_load_pct_bw),
              "metrics": s.to_dict()} for s in walking.steps]
    summary = metric["summary"]
    assert isinstance(summary, dict)
    summary["compliance"] = stored_compliance(steps, targets)  # issue 13
    summary.update(_exercise_parts(exercise, signals, gaps, rate, body_weight_n, side,
                                   (low, high)))
    return TrialAnalysis(metric, steps)


#: Most points of the CoP trace stored for the sway plot (quiet standing).
SWAY_PLOT_POINTS = 600


def _exercise_parts(exercise: str, signals: dict[str, FloatArray], gaps: tuple[metrics.Gap, ...],
                    rate: float, body_weight_n: float, side: metrics.Side,
                    band_pct_bw: tuple[float, float]) -> dict[str, Any]:
    """The figures of one exercise that the walking and balance parts do not give
    (:mod:`gaitrig.processing.exercises`), and for quiet standing the CoP trace for the sway
    plot."""
    rows = signals["left_foot_n"].shape[0]
    inside = metrics.gap_rows(gaps, 0.0, rate, rows)
    pct = 100.0 / body_weight_n
    sound = "right" if side == "left" else "left"

    def load(name: str) -> FloatArray:
        values = signals[name] * pct
        values[inside] = np.nan  # held samples are not the patient's
        return values

    prosthetic, other = load(f"{side}_foot_n"), load(f"{sound}_foot_n")
    if exercise == "weight_shift":
        return {"weight_shift": exercises.weight_shift(prosthetic, other, rate,
                                                       band_pct_bw).to_dict()}
    if exercise == "sit_to_stand":
        bars = load("left_bar_n") + load("right_bar_n")
        return {"sit_to_stand": exercises.sit_to_stand(prosthetic, other, bars, rate).to_dict()}
    if exercise == "quiet_standing" and "standing_cop_mm" in signals:
        cop = signals["standing_cop_mm"]
        defined = cop[np.isfinite(cop).all(axis=1)]
        every = max(1, math.ceil(len(defined) / SWAY_PLOT_POINTS))
        trace = np.round(defined[::every], 1)
        return {"sway_plot": {"x_mm": trace[:, 0].tolist(), "y_mm": trace[:, 1].tolist()}}
    return {}


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def analyse_stored(session: Session, trial_id: int) -> TrialAnalysis:
    """:func:`analyse` on what the database holds for the trial (frames, setup, calibration)."""
    trial = session.get(m.Trial, trial_id)
    if trial is None:
        raise LookupError(f"no trial {trial_id}")
    if trial.setup is None or trial.calibration is None:
        raise ValueError(f"trial {trial_id} was recorded without its setup: it cannot be "
                         "reprocessed")
    frames = recordings.load_frames(session, trial_id)
    return analyse(frames, TrialSetup.from_dict(trial.setup), trial.calibration, trial.targets,
                   trial.exercise)


#: Columns of a stored step compared by :func:`differences`.
STEP_COLUMNS = ("step_index", "foot", "prosthetic", "heel_strike_s", "toe_off_s", "stance_s",
                "peak_load_pct_bw", "metrics")


def differences(session: Session, trial_id: int, fresh: TrialAnalysis) -> list[str]:
    """Where the stored metrics and steps of a trial differ from ``fresh`` (empty: equal).

    Compared for exact equality: every metric column but ``computed_at``, the summary without
    its ``live`` part (what the live path counted), and every column of every step."""
    stored = session.get(m.TrialMetric, trial_id)
    if stored is None:
        return [f"trial {trial_id} has no stored metrics"]
    found = []
    for column, value in fresh.metric.items():
        kept = getattr(stored, column)
        if column == "summary":
            kept = {k: v for k, v in kept.items() if k != "live"}
        if kept != value:
            found.append(f"{column}: stored {kept!r}, replay {value!r}")
    rows = session.scalars(select(m.StepEvent).where(m.StepEvent.trial_id == trial_id)
                           .order_by(m.StepEvent.step_index)).all()
    if len(rows) != len(fresh.steps):
        found.append(f"steps: stored {len(rows)}, replay {len(fresh.steps)}")
    for row, step in zip(rows, fresh.steps, strict=False):
        for column in STEP_COLUMNS:
            if getattr(row, column) != step[column]:
                found.append(f"step {step['step_index']} {column}: stored "
                             f"{getattr(row, column)!r}, replay {step[column]!r}")
    return found
