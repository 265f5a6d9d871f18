"""The rig's view of the clinic database: open it (migrating the schema), record trials."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from gaitrig.db import schema, trials
from gaitrig.db.engine import SQLITE_BUSY_TIMEOUT_S, make_engine, session_factory
from gaitrig.db.models import Trial

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrialOut:
    """A trial as the API shows it (times in UTC, ISO 8601)."""

    id: int
    rig_id: str
    exercise: str
    started_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, trial: Trial) -> TrialOut:
        return cls(trial.id, trial.rig_id, trial.exercise, trial.started_at, trial.ended_at)


class Records:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self.backend = self.engine.dialect.name

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Records:
        """Open the database; bring its schema up to date (or refuse, when ``migrate`` is off)."""
        records = cls(url)
        if migrate:
            schema.upgrade(records.engine)
        schema.check_current(records.engine)
        log.info("database: %s", records.engine.url.render_as_string(hide_password=True))
        return records

    def close(self) -> None:
        self.engine.dispose()

    def writable(self, timeout_s: float = 0.2) -> bool:
        """Could a write begin now? Asked within about ``timeout_s`` (s), so a writer waiting
        out an outage need not block for the engine's whole busy timeout: SQLite, take and drop
        the write lock; other engines, connect and ask."""
        try:
            with self.engine.connect() as connection:
                if self.backend != "sqlite":
                    connection.execute(text("SELECT 1"))
                    return True
                raw = connection.connection.driver_connection
                assert isinstance(raw, sqlite3.Connection)
                raw.execute(f"PRAGMA busy_timeout = {round(timeout_s * 1000)}")
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    raw.execute("ROLLBACK")
                finally:
                    raw.execute(f"PRAGMA busy_timeout = {round(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        except (OperationalError, InterfaceError, sqlite3.Error):
            return False
        return True

    @staticmethod
    def startup_problem(url: str, migrate: bool = True) -> str | None:
        """Why a server may not start on the database at ``url`` (None: it may). With
        ``migrate`` the schema is upgraded first, as :meth:`open` does."""
        try:
            Records.open(url, migrate).close()
        except (schema.SchemaBehindError, schema.SchemaAheadError) as exc:
            return str(exc)
        except OperationalError as exc:
            return (f"cannot open the database {make_url(url).render_as_string()}: "
                    f"{str(exc.orig).strip().splitlines()[0]}")
        return None

    def start_trial(self, rig_id: str, exercise: str, **fields: Any) -> TrialOut:
        """A new trial; ``fields``: any of :data:`gaitrig.db.trials.TRIAL_FIELDS` (its session, the
        clinician who started it, the footwear ...)."""
        with self.sessions() as session:
            return TrialOut.of(trials.start_trial(session, rig_id, exercise, **fields))

    def stop_trial(self, trial_id: int) -> TrialOut | None:
        with self.sessions() as session:
            trial = trials.stop_trial(session, trial_id)
            return None if trial is None else TrialOut.of(trial)

    def list_trials(self) -> list[TrialOut]:
        with self.sessions() as session:
            return [TrialOut.of(t) for t in trials.list_trials(session)]
