"""Queries on trials: start, stop, list, details."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gaitrig.db import clinic
from gaitrig.db import models as m
from gaitrig.db import views as v

#: What a trial may be started with besides its rig and exercise.
TRIAL_FIELDS = ("session_id", "clinician_id", "targets", "footwear", "prosthesis_setup",
                "calibration", "calibration_version", "firmware_versions", "setup", "notes")


def start_trial(session: Session, rig_id: str, exercise: str, **fields: Any) -> m.Trial:
    """A new trial, started now. ``fields``: any of :data:`TRIAL_FIELDS`."""
    clinic.check_fields(fields, TRIAL_FIELDS, "trial")
    if fields.get("session_id") is not None:
        clinic._require(session, m.TrainingSession, fields["session_id"])
    fields["notes"] = fields.get("notes") or ""
    trial = m.Trial(rig_id=rig_id, exercise=exercise, started_at=datetime.now(UTC), **fields)
    session.add(trial)
    session.commit()
    return trial


def update_trial(session: Session, trial_id: int, **fields: Any) -> m.Trial | None:
    """Set some of :data:`TRIAL_FIELDS` (e.g. the setup once the recorder knows it)."""
    clinic.check_fields(fields, TRIAL_FIELDS, "trial")
    trial = session.get(m.Trial, trial_id)
    if trial is None:
        return None
    for key, value in fields.items():
        setattr(trial, key, value)
    session.commit()
    return trial


def stop_trial(session: Session, trial_id: int) -> m.Trial | None:
    """Set the trial's end time; None if there is no such trial. Stopping twice keeps the first."""
    trial = session.get(m.Trial, trial_id)
    if trial is None:
        return None
    if trial.ended_at is None:
        trial.ended_at = datetime.now(UTC)
        session.commit()
    return trial


def list_trials(session: Session, limit: int = 100) -> list[m.Trial]:
    return list(session.scalars(select(m.Trial).order_by(m.Trial.id.desc()).limit(limit)))


def get_trial(session: Session, trial_id: int) -> v.TrialDetail | None:
    trial = session.get(m.Trial, trial_id)
    if trial is None:
        return None
    patient_id = None
    if trial.session_id is not None:
        patient_id = session.scalar(select(m.TrainingSession.patient_id)
                                    .where(m.TrainingSession.id == trial.session_id))
    metric = session.get(m.TrialMetric, trial_id)
    devices = session.scalars(select(m.TrialDevice).where(m.TrialDevice.trial_id == trial_id)
                              .order_by(m.TrialDevice.role))
    alarms = session.scalars(select(m.Alarm).where(m.Alarm.trial_id == trial_id)
                             .order_by(m.Alarm.at_s, m.Alarm.id))
    frames = dict(session.execute(
        select(m.RecordingChunk.role, func.sum(m.RecordingChunk.frame_count))
        .where(m.RecordingChunk.trial_id == trial_id).group_by(m.RecordingChunk.role)).all())
    size = sum(session.scalar(select(func.coalesce(func.sum(func.length(table.data)), 0))
                              .where(table.trial_id == trial_id)) or 0
               for table in (m.RecordingChunk, m.ResultChunk))
    return v.TrialDetail(
        id=trial.id, rig_id=trial.rig_id, session_id=trial.session_id, patient_id=patient_id,
        exercise=trial.exercise, started_at=trial.started_at, ended_at=trial.ended_at,
        targets=trial.targets, footwear=trial.footwear, prosthesis_setup=trial.prosthesis_setup,
        calibration_version=trial.calibration_version,
        firmware_versions=trial.firmware_versions, setup=trial.setup, notes=trial.notes,
        recording_status=trial.recording_status,
        devices=[v.DeviceOut.of(d) for d in devices],
        metrics=None if metric is None else v.MetricsOut.of(metric),
        alarms=[v.AlarmOut.of(a) for a in alarms],
        recorded_frames={str(role): int(count) for role, count in frames.items()},
        recorded_bytes=int(size), clinician_id=trial.clinician_id)
