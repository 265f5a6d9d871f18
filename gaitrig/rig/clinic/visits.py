"""A patient's visit to the rig, as the clinic records keep it: one session per patient per day.

Confirming a patient from the records on the rig opens that visit's session (the same patient
confirmed again that day resumes it); every trial started meanwhile is stored in it. A session
left open is ended, at its last trial's end, when another patient is confirmed, when the
therapist ends it, or after :attr:`Settings.session_idle_end_s` without a trial (a watch thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gaitrig.db import clinic, sessions
from gaitrig.db.views import SessionOut
from gaitrig.rig.records import Records

__all__ = ["SessionOut", "UnknownPatientError", "Visits", "day_start"]

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def day_start(now: datetime) -> datetime:
    """Midnight (UTC) of the day ``now`` falls on in the rig's local time: a visit is a day."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class UnknownPatientError(LookupError):
    """The patient named is not in the records."""


class Visits:
    """Opens, resumes and ends the clinic sessions of one rig."""

    def __init__(self, records: Records, rig_id: str, idle_end_s: float,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.records, self.rig_id, self.idle_end_s, self.clock = records, rig_id, idle_end_s, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def confirm(self, patient_id: int, clinician_id: int | None) -> SessionOut:
        """The session of this patient's visit today (opened, or resumed)."""
        now = self.clock()
        with self.records.sessions() as db:
            try:
                visit, new = sessions.open_visit(db, patient_id, self.rig_id, clinician_id,
                                                 now, day_start(now))
            except clinic.NotFoundError as exc:
                raise UnknownPatientError(f"patient {patient_id} is not in the records") \
                    from exc
        log.info("session %d %s for patient %d", visit.id, "opened" if new else "resumed",
                 patient_id)
        return visit

    def open_today(self, patient_id: int) -> SessionOut | None:
        """The patient's session of today on this rig, if it is open (nothing is changed)."""
        now = self.clock()
        with self.records.sessions() as db:
            return sessions.open_visit_of(db, patient_id, self.rig_id, day_start(now))

    def last_footwear(self, patient_id: int) -> str | None:
        """The shoes the patient wore in their newest trial that recorded any."""
        with self.records.sessions() as db:
            return sessions.last_footwear(db, patient_id)

    def leave(self) -> list[int]:
        """No patient from the records on the rig any more: end its open sessions."""
        with self.records.sessions() as db:
            return sessions.end_open_sessions(db, self.rig_id, self.clock())

    def end(self, session_id: int) -> SessionOut | None:
        with self.records.sessions() as db:
            return sessions.end_session(db, session_id, self.clock())

    def end_idle(self) -> list[int]:
        """End the sessions with no trial for ``idle_end_s`` (s); answers their ids."""
        now = self.clock()
        with self.records.sessions() as db:
            ended = sessions.end_open_sessions(db, self.rig_id, now,
                                               now - timedelta(seconds=self.idle_end_s))
        if ended:
            log.info("sessions %s ended after %.0f s without a trial", ended, self.idle_end_s)
        return ended

    def watch(self, interval_s: float = 60.0) -> None:
        """Check for idle sessions every ``interval_s`` (s) on a thread of its own."""
        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.end_idle()
                except Exception:  # the database away: try again at the next check
                    log.warning("could not check for idle sessions", exc_info=True)
        self._thread = threading.Thread(target=run, name="visits", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
