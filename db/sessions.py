"""Queries on training sessions, and the history views built on them (patient page, progress)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import clinic
from db import models as m
from db import views as v


def start_session(session: Session, patient_id: int, rig_id: str,
                  clinician_id: int | None = None, notes: str = "",
                  started_at: datetime | None = None) -> v.SessionOut:
    clinic._require(session, m.Patient, patient_id)
    if clinician_id is not None:
        clinic._require(session, m.Clinician, clinician_id)
    row = m.TrainingSession(patient_id=patient_id, clinician_id=clinician_id, rig_id=rig_id,
                            started_at=started_at or clinic.now(), notes=notes)
    session.add(row)
    session.commit()
    return v.SessionOut.of(row)


def update_session(session: Session, session_id: int, *, notes: str | None = None,
                   end: bool = False) -> v.SessionOut | None:
    row = session.get(m.TrainingSession, session_id)
    if row is None:
        return None
    if notes is not None:
        row.notes = notes
    if end and row.ended_at is None:
        row.ended_at = clinic.now()
    session.commit()
    return v.SessionOut.of(row)


def trial_summaries(session: Session, where: Any) -> list[v.TrialSummary]:
    rows = session.execute(
        select(m.Trial, m.TrialMetric).outerjoin(m.TrialMetric,
                                                 m.TrialMetric.trial_id == m.Trial.id)
        .where(where).order_by(m.Trial.started_at, m.Trial.id))
    return [v.TrialSummary(t.id, t.session_id, t.exercise, t.started_at, t.ended_at,
                           t.footwear, t.recording_status,
                           None if metric is None else v.MetricsOut.of(metric))
            for t, metric in rows]


def get_session(session: Session, session_id: int) -> v.SessionDetail | None:
    """A session with its patient, therapist, trials (and their metrics) and notes."""
    row = session.get(m.TrainingSession, session_id)
    if row is None:
        return None
    patient = session.get(m.Patient, row.patient_id)
    assert patient is not None
    clinician = None if row.clinician_id is None else session.get(m.Clinician, row.clinician_id)
    notes = session.scalars(select(m.Note).where(m.Note.session_id == session_id)
                            .order_by(m.Note.created_at, m.Note.id))
    return v.SessionDetail(
        v.SessionOut.of(row), v.PatientOut.of(patient),
        None if clinician is None else v.ClinicianOut.of(clinician),
        trial_summaries(session, m.Trial.session_id == session_id),
        [v.NoteOut.of(n) for n in notes])


def list_sessions(session: Session, patient_id: int) -> list[v.SessionListItem]:
    """A patient's sessions, newest first, with how many trials each holds."""
    counts = (select(m.Trial.session_id, func.count(m.Trial.id).label("trials"))
              .join(m.TrainingSession, m.TrainingSession.id == m.Trial.session_id)
              .where(m.TrainingSession.patient_id == patient_id)
              .group_by(m.Trial.session_id).subquery())
    rows = session.execute(
        select(m.TrainingSession, counts.c.trials)
        .outerjoin(counts, counts.c.session_id == m.TrainingSession.id)
        .where(m.TrainingSession.patient_id == patient_id)
        .order_by(m.TrainingSession.started_at.desc(), m.TrainingSession.id.desc()))
    return [v.SessionListItem(s.id, s.started_at, s.ended_at, s.clinician_id, s.rig_id,
                              trials or 0) for s, trials in rows]


def progress(session: Session, patient_id: int) -> list[v.ProgressPoint]:
    """Per session, oldest first: the means of each trial metric over the session's trials that
    have it (SQL AVG leaves NULLs out), and the pain reported in the session's notes."""
    metric = m.TrialMetric
    rows = session.execute(
        select(m.TrainingSession.id, m.TrainingSession.started_at,
               func.count(metric.trial_id),
               func.avg(metric.prosthetic_load_share_pct),
               func.avg(metric.stance_time_symmetry_index_pct),
               func.avg(metric.bar_reliance_mean_pct_bw),
               func.avg(metric.cadence_steps_per_min),
               func.avg(metric.sway_area_95_mm2))
        .select_from(m.TrainingSession)
        .outerjoin(m.Trial, m.Trial.session_id == m.TrainingSession.id)
        .outerjoin(metric, metric.trial_id == m.Trial.id)
        .where(m.TrainingSession.patient_id == patient_id)
        .group_by(m.TrainingSession.id, m.TrainingSession.started_at)
        .order_by(m.TrainingSession.started_at, m.TrainingSession.id)).all()
    pain: dict[int, list[int]] = defaultdict(list)
    for session_id, score in session.execute(
            select(m.Note.session_id, m.Note.pain_score)
            .where(m.Note.patient_id == patient_id, m.Note.session_id.is_not(None),
                   m.Note.pain_score.is_not(None))):
        if session_id is not None and score is not None:  # filtered in SQL; this is for mypy
            pain[session_id].append(score)

    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    points = []
    for session_id, started_at, trials, share, symmetry, bars, cadence, sway in rows:
        scores = pain.get(session_id, [])
        points.append(v.ProgressPoint(
            session_id, started_at, int(trials), number(share), number(symmetry),
            number(bars), number(cadence), number(sway),
            sum(scores) / len(scores) if scores else None, max(scores) if scores else None))
    return points


def patient_detail(session: Session, patient_id: int, note_limit: int = 50
                   ) -> v.PatientDetail | None:
    row = session.get(m.Patient, patient_id)
    if row is None:
        return None
    return v.PatientDetail(
        patient=v.PatientOut.of(row),
        body_masses=[v.BodyMassOut.of(b) for b in row.body_masses],
        components=[v.ComponentOut.of(c) for c in row.components],
        sessions=list_sessions(session, patient_id),
        progress=progress(session, patient_id),
        notes=clinic.list_notes(session, patient_id, note_limit),
        current_body_mass_kg=clinic.current_body_mass_kg(session, patient_id))
