"""The writes of a trial's recording, run by the recorder's writer thread and again from a spool:
``setup``, ``chunks``, ``stop`` and ``analysis``. Each is idempotent (chunks already stored are
skipped, alarms and metrics replaced), so a write that failed unclearly may simply run again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from gaitrig.db import models as m
from gaitrig.db import recordings, trials
from gaitrig.rig.offline.trial_analysis import analyse_stored

log = logging.getLogger(__name__)

#: Errors of a database that is away (down, locked, connection lost): retried.
RETRIED = (OperationalError, InterfaceError)


def run_job(session: Session, trial_id: int, kind: str, data: dict[str, Any]) -> None:
    """One write of a trial's recording: ``setup``, ``chunks``, ``stop`` or ``analysis``."""
    if kind == "setup":
        trials.update_trial(session, trial_id, **data["fields"])
        recordings.add_devices(session, trial_id, data["devices"])
        recordings.set_recording_status(session, trial_id, "recording")
    elif kind == "chunks":
        _write_new_chunks(session, trial_id, data["raw"], data["results"])
    elif kind == "stop":
        trial = session.get(m.Trial, trial_id)
        if trial is None:
            raise LookupError(f"trial {trial_id} is gone")
        if trial.ended_at is None:
            trial.ended_at = data["ended_at"]
        trial.recording_status = data["status"]
        if data.get("pauses_s") and trial.setup is not None:  # for the analysis (and replay)
            trial.setup = {**trial.setup, "pauses_s": data["pauses_s"]}
        session.execute(delete(m.Alarm).where(m.Alarm.trial_id == trial_id))
        session.add_all(m.Alarm(trial_id=trial_id, **row) for row in data["alarms"])
        session.commit()
    elif kind == "analysis":
        _store_analysis(session, trial_id, data["live"])
    else:
        raise ValueError(f"unknown recorder job {kind!r}")


def _write_new_chunks(session: Session, trial_id: int, raw: list[dict[str, Any]],
                      results: list[dict[str, Any]]) -> None:
    """Insert the chunks not stored yet (a retry after an unclear failure finds some there)."""
    stored_raw = {(role, index) for role, index in session.execute(
        select(m.RecordingChunk.role, m.RecordingChunk.chunk_index)
        .where(m.RecordingChunk.trial_id == trial_id,
               m.RecordingChunk.chunk_index.in_({r["chunk_index"] for r in raw})))}
    stored_results = set(session.scalars(
        select(m.ResultChunk.chunk_index)
        .where(m.ResultChunk.trial_id == trial_id,
               m.ResultChunk.chunk_index.in_([r["chunk_index"] for r in results]))))
    recordings.write_chunks(
        session, [r for r in raw if (r["role"], r["chunk_index"]) not in stored_raw],
        [r for r in results if r["chunk_index"] not in stored_results])


def _store_analysis(session: Session, trial_id: int, live: dict[str, Any]) -> None:
    try:
        analysis = analyse_stored(session, trial_id)
        metric = dict(analysis.metric)
        steps = analysis.steps
    except ValueError as exc:  # no frames, no setup: keep what the live path counted
        log.warning("trial %d: no metrics from the recording: %s", trial_id, exc)
        metric = {"analysis_version": f"none: {exc}"[:32],
                  "duration_s": float(live.get("duration_s") or 0.0),
                  "step_count": int(live.get("steps") or 0), "summary": {}}
        steps = []
    metric["summary"] = {**metric["summary"], "live": live}
    metric["computed_at"] = datetime.now(UTC)
    recordings.store_analysis(session, trial_id, metric, steps)
