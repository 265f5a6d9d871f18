"""Queries on trials."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Trial


def start_trial(session: Session, rig_id: str, exercise: str) -> Trial:
    trial = Trial(rig_id=rig_id, exercise=exercise, started_at=datetime.now(UTC))
    session.add(trial)
    session.commit()
    return trial


def stop_trial(session: Session, trial_id: int) -> Trial | None:
    """Set the trial's end time; None if there is no such trial. Stopping twice keeps the first."""
    trial = session.get(Trial, trial_id)
    if trial is None:
        return None
    if trial.ended_at is None:
        trial.ended_at = datetime.now(UTC)
        session.commit()
    return trial


def list_trials(session: Session, limit: int = 100) -> list[Trial]:
    return list(session.scalars(select(Trial).order_by(Trial.id.desc()).limit(limit)))
