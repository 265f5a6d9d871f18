"""Trials a killed server left open: found at the next start, closed from what was stored.

A server killed mid-trial (power cut, SIGKILL, a crash) leaves its trial without ``ended_at``.
At the next start, :func:`recover_interrupted` closes each such trial of this rig: ``ended_at``
is the time of its last stored sample (the trial's ``started_at`` plus the stored recording's
span on the host clock, s), ``recording_status`` is ``interrupted``, and its metrics and steps
are computed from the stored raw frames, as for a trial stopped normally. The recorder writes at
least every :data:`gaitrig.rig.recording.recorder.FLUSH_S`, so about that much of the trial is lost,
no more.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from gaitrig.db import models as m
from gaitrig.rig.recording.jobs import run_job
from gaitrig.rig.records import Records

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"


def recover_interrupted(records: Records, rig_id: str) -> list[int]:
    """Close this rig's trials left without an end (call at start, before any trial runs);
    the ids closed."""
    with records.sessions() as session:
        open_ids = list(session.scalars(select(m.Trial.id).where(
            m.Trial.rig_id == rig_id, m.Trial.ended_at.is_(None)).order_by(m.Trial.id)))
    for trial_id in open_ids:
        with records.sessions() as session:
            trial = session.get(m.Trial, trial_id)
            assert trial is not None
            first_s, last_s = session.execute(
                select(func.min(m.RecordingChunk.first_host_time_s),
                       func.max(m.RecordingChunk.last_host_time_s))
                .where(m.RecordingChunk.trial_id == trial_id)).one()
            span_s = 0.0 if first_s is None else float(last_s - first_s)
            trial.ended_at = trial.started_at + timedelta(seconds=span_s)
            trial.recording_status = INTERRUPTED
            session.commit()
            run_job(session, trial_id, "analysis",
                    {"live": {"interrupted": True, "duration_s": span_s, "steps": 0}})
        log.warning("trial %d was interrupted (the server stopped without ending it): closed "
                    "with %.1f s of stored recording", trial_id, span_s)
    return open_ids
