"""Minimal storage: the schema comes from Alembic, trials keep their start and end."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import inspect

from gaitrig.db import schema
from gaitrig.rig.records import Records


def test_empty_database_is_refused_until_upgraded(database_url: str) -> None:
    with pytest.raises(schema.SchemaBehindError, match="rig db upgrade"):
        Records.open(database_url, migrate=False)
    records = Records.open(database_url)
    assert schema.current_revision(records.engine) == schema.head_revision()
    assert "trials" in inspect(records.engine).get_table_names()
    Records.open(database_url, migrate=False).close()  # now current: accepted
    records.close()


def test_trial_start_and_stop_are_stored(database_url: str) -> None:
    records = Records.open(database_url)
    trial = records.start_trial("rig-7", "walking")
    assert trial.ended_at is None
    time.sleep(0.01)
    stopped = records.stop_trial(trial.id)
    assert stopped is not None and stopped.ended_at is not None
    assert stopped.ended_at > stopped.started_at
    again = records.stop_trial(trial.id)
    assert again is not None and again.ended_at == stopped.ended_at  # the first stop is kept
    assert records.stop_trial(trial.id + 1000) is None
    records.close()
    reopened = Records.open(database_url)  # written to the database, not just in memory
    (listed,) = reopened.list_trials()
    assert (listed.id, listed.rig_id, listed.exercise) == (trial.id, "rig-7", "walking")
    assert listed.ended_at == stopped.ended_at
    reopened.close()


def test_sqlite_uses_write_ahead_logging(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    records = Records.open(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with records.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    records.close()
