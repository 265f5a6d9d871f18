"""A patient's progress per exercise: each metric as one series per exercise it belongs to, a
point per session, taken only from that session's trials of that exercise.

Which metric belongs to which exercise is the caller's (``gaitrig.rig.clinic.metric_guide.BELONGS``,
handed in: ``db`` does not import ``rig``). A metric is a column of ``trial_metrics``, or one
derived here from a trial's stored summary (:data:`DERIVED`). The reasons for the mapping are in
``docs/clinical-metrics.md``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gaitrig.db import models as m
from gaitrig.db import views as v

#: The metrics stored as columns of ``trial_metrics``.
COLUMNS = ("prosthetic_load_share_pct", "stance_time_symmetry_index_pct",
           "bar_reliance_mean_pct_bw", "cadence_steps_per_min", "sway_area_95_mm2")
#: Steps on target in % of the prosthetic steps: the prosthetic steps whose peak load lay in the
#: trial's target band (``summary.walking.prosthetic_steps_in_band``, the "steps on target" the
#: patient was shown, counted again from the stored recording) over the prosthetic steps
#: (``summary.walking.prosthetic.steps``).
STEPS_ON_TARGET = "pwb_steps_on_target_pct"
DERIVED = (STEPS_ON_TARGET,)
#: The session's own value: the highest pain score in its notes.
PAIN = "pain_score_max"


def steps_on_target_pct(in_band: float | None, steps: float | None) -> float | None:
    """100 x steps in band / prosthetic steps; None without prosthetic steps."""
    if in_band is None or not steps:
        return None
    return 100.0 * float(in_band) / float(steps)


def trial_values(session: Session, patient_id: int, exercises: Sequence[str]
                 ) -> list[tuple[int, datetime, str, dict[str, float | None]]]:
    """Per analysed trial of the patient's sessions of ``exercises``, oldest session first:
    (session id, session start, exercise, metric -> value)."""
    metric = m.TrialMetric
    in_band = metric.summary[("walking", "prosthetic_steps_in_band")].as_float()
    steps = metric.summary[("walking", "prosthetic", "steps")].as_float()
    rows = session.execute(
        select(m.TrainingSession.id, m.TrainingSession.started_at, m.Trial.exercise,
               *(getattr(metric, c) for c in COLUMNS), in_band, steps)
        .join(m.Trial, m.Trial.session_id == m.TrainingSession.id)
        .join(metric, metric.trial_id == m.Trial.id)
        .where(m.TrainingSession.patient_id == patient_id, m.Trial.exercise.in_(exercises))
        .order_by(m.TrainingSession.started_at, m.TrainingSession.id, m.Trial.started_at,
                  m.Trial.id)).all()
    out = []
    for session_id, started_at, exercise, *values in rows:
        found: dict[str, float | None] = {
            c: None if x is None else float(x) for c, x in zip(COLUMNS, values, strict=False)}
        found[STEPS_ON_TARGET] = steps_on_target_pct(values[-2], values[-1])
        out.append((session_id, started_at, exercise, found))
    return out


def progress_series(session: Session, patient_id: int,
                    belongs: Mapping[str, Sequence[str]]) -> list[v.ProgressSeries]:
    """For each metric of ``belongs`` (metric -> its exercises, in the order given), one series
    per exercise that has at least one value: per session the mean over that session's trials
    of that exercise that have the metric. No other exercise's trial reaches a series."""
    unknown = set(belongs) - set(COLUMNS) - set(DERIVED)
    if unknown:
        raise ValueError(f"no such trial metric: {', '.join(sorted(unknown))}")
    wanted = sorted({e for exercises in belongs.values() for e in exercises})
    # (metric, exercise) -> session id -> [start, values]
    sums: dict[tuple[str, str], dict[int, list[Any]]] = defaultdict(dict)
    for session_id, started_at, exercise, values in trial_values(session, patient_id, wanted):
        for key, exercises in belongs.items():
            value = values[key]
            if exercise in exercises and value is not None:
                sums[key, exercise].setdefault(session_id, [started_at, []])[1].append(value)
    series = []
    for key, exercises in belongs.items():
        for exercise in exercises:
            per_session = sums.get((key, exercise))
            if not per_session:
                continue
            series.append(v.ProgressSeries(key, exercise, [
                v.SeriesPoint(session_id, started_at, sum(values) / len(values), len(values))
                for session_id, (started_at, values) in per_session.items()]))
    return series


def pain_series(points: Sequence[v.ProgressPoint]) -> v.ProgressSeries:
    """The highest pain score reported in each session's notes (sessions without one left
    out)."""
    return v.ProgressSeries(PAIN, None, [
        v.SeriesPoint(p.session_id, p.started_at, float(p.pain_score_max), 0)
        for p in points if p.pain_score_max is not None])
