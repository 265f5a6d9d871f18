"""Queries on training sessions, and the history views built on them (patient page, progress)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gaitrig.db import clinic
from gaitrig.db import models as m
from gaitrig.db import views as v
from gaitrig.db.progress import pain_series, progress_series


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


def last_activity(session: Session, row: m.TrainingSession) -> datetime:
    """When the session last saw something: its newest trial's end (or start, while running),
    else its own start (UTC)."""
    newest = session.scalar(
        select(func.max(func.coalesce(m.Trial.ended_at, m.Trial.started_at)))
        .where(m.Trial.session_id == row.id))
    if newest is None:
        return row.started_at
    return newest if newest.tzinfo is not None else newest.replace(tzinfo=row.started_at.tzinfo)


def _close(session: Session, row: m.TrainingSession, at: datetime | None = None) -> None:
    """End ``row`` at its last trial's end; at ``at`` (now) when it holds no trial, or when a
    trial's end is not stored yet (its recording is still being written: it stopped just
    before ``at``)."""
    if row.ended_at is None:
        counts = session.execute(
            select(func.count(m.Trial.id), func.count(m.Trial.ended_at))
            .where(m.Trial.session_id == row.id)).one()
        trials_held, trials_ended = int(counts[0]), int(counts[1])
        if at is not None and (trials_held == 0 or trials_ended < trials_held):
            row.ended_at = at
        else:
            row.ended_at = last_activity(session, row)


def open_sessions(session: Session, rig_id: str) -> list[m.TrainingSession]:
    return list(session.scalars(select(m.TrainingSession).where(
        m.TrainingSession.rig_id == rig_id, m.TrainingSession.ended_at.is_(None))
        .order_by(m.TrainingSession.started_at)))


def open_visit(session: Session, patient_id: int, rig_id: str, clinician_id: int | None,
               now: datetime, day_start: datetime) -> tuple[v.SessionOut, bool]:
    """The session of this patient's visit to ``rig_id`` on the day that began at ``day_start``
    (UTC): the same patient confirmed again that day resumes it (reopening it if it was
    ended), another patient's open session on the rig is ended first at its last trial's end.
    Answers the session and whether it is new. The confirming clinician is stored on a new
    session (and on a resumed one that had none)."""
    clinic._require(session, m.Patient, patient_id)
    for row in open_sessions(session, rig_id):
        if row.patient_id != patient_id or row.started_at < day_start:
            _close(session, row, now)
    today = session.scalars(select(m.TrainingSession).where(
        m.TrainingSession.rig_id == rig_id, m.TrainingSession.patient_id == patient_id,
        m.TrainingSession.started_at >= day_start)
        .order_by(m.TrainingSession.started_at.desc())).first()
    if today is not None:
        today.ended_at = None
        if today.clinician_id is None:
            today.clinician_id = clinician_id
        session.commit()
        return v.SessionOut.of(today), False
    row = m.TrainingSession(patient_id=patient_id, clinician_id=clinician_id, rig_id=rig_id,
                            started_at=now, notes="")
    session.add(row)
    session.commit()
    return v.SessionOut.of(row), True


def open_visit_of(session: Session, patient_id: int, rig_id: str, day_start: datetime
                  ) -> v.SessionOut | None:
    """The patient's open session on ``rig_id`` started since ``day_start`` (UTC), or None."""
    row = session.scalars(select(m.TrainingSession).where(
        m.TrainingSession.rig_id == rig_id, m.TrainingSession.patient_id == patient_id,
        m.TrainingSession.started_at >= day_start, m.TrainingSession.ended_at.is_(None))
        .order_by(m.TrainingSession.started_at.desc())).first()
    return None if row is None else v.SessionOut.of(row)


def end_open_sessions(session: Session, rig_id: str, now: datetime,
                      idle_before: datetime | None = None) -> list[int]:
    """End the rig's open sessions (only those idle since before ``idle_before``, when given),
    each at its last trial's end; answers their ids."""
    ended = []
    for row in open_sessions(session, rig_id):
        if idle_before is None or last_activity(session, row) < idle_before:
            _close(session, row, now)
            ended.append(row.id)
    session.commit()
    return ended


def end_session(session: Session, session_id: int, now: datetime) -> v.SessionOut | None:
    """End one session at its last trial's end (now, if it holds none); ending twice keeps the
    first end."""
    row = session.get(m.TrainingSession, session_id)
    if row is None:
        return None
    _close(session, row, now)
    session.commit()
    return v.SessionOut.of(row)


def assign_trial(session: Session, trial_id: int, session_id: int) -> m.Trial:
    """Put an unassigned trial into a patient's session. A trial that already belongs to a
    session is refused (ValueError), so a trial never moves between patients silently."""
    trial: m.Trial = clinic._require(session, m.Trial, trial_id)
    clinic._require(session, m.TrainingSession, session_id)
    if trial.session_id is not None:
        raise ValueError(f"trial {trial_id} already belongs to session {trial.session_id}")
    trial.session_id = session_id
    session.commit()
    return trial


def unassigned_trials(session: Session, limit: int = 200) -> list[v.TrialSummary]:
    """Trials recorded with no patient confirmed (demo, quick checks), newest first."""
    rows = trial_summaries(session, m.Trial.session_id.is_(None))
    return rows[::-1][:limit]


def last_footwear(session: Session, patient_id: int) -> str | None:
    """The shoes this patient wore in their newest trial that recorded any."""
    return session.scalar(
        select(m.Trial.footwear).join(m.TrainingSession,
                                      m.TrainingSession.id == m.Trial.session_id)
        .where(m.TrainingSession.patient_id == patient_id, m.Trial.footwear.is_not(None))
        .order_by(m.Trial.started_at.desc(), m.Trial.id.desc()).limit(1))


def trial_summaries(session: Session, where: Any) -> list[v.TrialSummary]:
    rows = session.execute(
        select(m.Trial, m.TrialMetric).outerjoin(m.TrialMetric,
                                                 m.TrialMetric.trial_id == m.Trial.id)
        .where(where).order_by(m.Trial.started_at, m.Trial.id))
    return [v.TrialSummary(t.id, t.session_id, t.exercise, t.started_at, t.ended_at,
                           t.footwear, t.recording_status,
                           None if metric is None else v.MetricsOut.of(metric), t.clinician_id)
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
    """Per session, oldest first: how many of its trials were analysed, and the pain reported
    in its notes. The metrics per exercise are :func:`gaitrig.db.progress.progress_series`."""
    metric = m.TrialMetric
    rows = session.execute(
        select(m.TrainingSession.id, m.TrainingSession.started_at,
               func.count(metric.trial_id))
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

    points = []
    for session_id, started_at, trials in rows:
        scores = pain.get(session_id, [])
        points.append(v.ProgressPoint(
            session_id, started_at, int(trials),
            sum(scores) / len(scores) if scores else None, max(scores) if scores else None))
    return points


def patient_detail(session: Session, patient_id: int, note_limit: int = 50,
                   belongs: Mapping[str, Sequence[str]] | None = None
                   ) -> v.PatientDetail | None:
    """The patient's page; with ``belongs`` (metric -> its exercises), the progress series of
    :func:`gaitrig.db.progress.progress_series` and the pain series."""
    row = session.get(m.Patient, patient_id)
    if row is None:
        return None
    points = progress(session, patient_id)
    series = ([] if belongs is None else
              [*progress_series(session, patient_id, belongs), pain_series(points)])
    return v.PatientDetail(
        patient=v.PatientOut.of(row),
        body_masses=[v.BodyMassOut.of(b) for b in row.body_masses],
        components=[v.ComponentOut.of(c) for c in row.components],
        sessions=list_sessions(session, patient_id),
        progress=points,
        notes=clinic.list_notes(session, patient_id, note_limit),
        current_body_mass_kg=clinic.current_body_mass_kg(session, patient_id),
        progress_series=series)
