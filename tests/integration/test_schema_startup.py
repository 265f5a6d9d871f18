"""The server's database at start: upgraded to this program's schema, or refused with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from gaitrig.cli import main as cli
from gaitrig.db import schema
from gaitrig.db.engine import make_engine
from gaitrig.rig.records import Records
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer


def migrate_to(engine: Engine, revision: str, downgrade: bool = False) -> None:
    config = schema.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(config, revision)


def first_release_database(url: str) -> None:
    """A database as the first release left it (revision 0001) with one trial in it."""
    engine = make_engine(url)
    migrate_to(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO trials (rig_id, exercise, started_at) "
                                "VALUES ('rig-1', 'walking', :at)"),
                           {"at": datetime(2026, 11, 1, 9, tzinfo=UTC)})
    engine.dispose()


def test_an_old_schema_is_upgraded_and_keeps_its_trials(database_url: str) -> None:
    first_release_database(database_url)
    records = Records.open(database_url)
    assert schema.current_revision(records.engine) == schema.head_revision()
    (trial,) = records.list_trials()
    assert (trial.rig_id, trial.exercise) == ("rig-1", "walking")
    assert trial.started_at == datetime(2026, 11, 1, 9, tzinfo=UTC)
    with records.engine.connect() as connection:
        status = connection.execute(text("SELECT recording_status, notes FROM trials")).one()
    assert tuple(status) == ("none", "")
    assert {"patients", "recording_chunks", "notes"} <= set(
        inspect(records.engine).get_table_names())
    records.close()


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    schema.upgrade(engine)
    migrate_to(engine, "0001", downgrade=True)
    assert "patients" not in inspect(engine).get_table_names()
    assert schema.current_revision(engine) == "0001"
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    engine.dispose()


def test_without_migration_an_old_schema_is_refused_and_left_alone(database_url: str) -> None:
    first_release_database(database_url)
    problem = Records.startup_problem(database_url, migrate=False)
    assert problem is not None
    assert "revision 0001" in problem and "rig db upgrade" in problem
    assert schema.head_revision() in problem
    engine = make_engine(database_url)
    assert schema.current_revision(engine) == "0001"  # not touched
    engine.dispose()
    assert Records.startup_problem(database_url, migrate=True) is None


def test_a_schema_from_a_newer_program_is_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    schema.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    for migrate in (True, False):
        with pytest.raises(schema.SchemaAheadError, match="revision 0099, newer than"):
            Records.open(database_url, migrate=migrate)
    engine.dispose()


def test_rig_serve_refuses_a_database_it_may_not_migrate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAITRIG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GAITRIG_MIGRATE_ON_START", "false")
    assert cli.main(["serve", "--simulate", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "rig serve: database schema is at revision none (empty database)" in err
    assert "rig db upgrade" in err


def test_rig_serve_says_when_the_database_is_unreachable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gaitrig.testing.server import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    monkeypatch.setenv("GAITRIG_DATABASE_URL", url)
    assert cli.main(["serve", "--simulate", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot open the database" in err and "nowhere" in err


def test_the_server_upgrades_its_database_at_start(
        tmp_path: Path, server_factory: Callable[..., LiveServer]) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    first_release_database(url)
    live = server_factory(database_url=url)
    assert rig_api.get(live.url + "/api/trials").json()[0]["exercise"] == "walking"
    engine = make_engine(url)
    assert schema.current_revision(engine) == schema.head_revision()
    engine.dispose()
