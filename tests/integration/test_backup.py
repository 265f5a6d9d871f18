"""`rig backup` / `rig restore`: an engine-independent archive, round trips on both engines and
from SQLite to PostgreSQL, refusals with their reasons."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from gaitrig.cli import main as cli
from gaitrig.db import backup, clinic, schema, sessions
from gaitrig.db.engine import make_engine, session_factory
from gaitrig.db.models import Base
from tests.conftest import postgres_database
from tests.integration.test_clinic_records import populate_patient


def filled_database(url: str) -> Engine:
    engine = make_engine(url)
    schema.upgrade(engine)
    with session_factory(engine)() as session:
        therapist = clinic.add_clinician(session, "Dana PT")
        ids = populate_patient(session, "A-1", "Anna Berg")
        populate_patient(session, "B-2", "Bruno Alt")
        clinic.add_note(session, ids["patient"], "therapist", "ünïcode ✓ \"quoted\"\n",
                        clinician_id=therapist.id, session_id=ids["session"])
        sessions.update_session(session, ids["session"], end=True)
    return engine


def every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {t.name: [tuple(r) for r in connection.execute(
                    select(t).order_by(*t.primary_key.columns))]
                for t in Base.metadata.sorted_tables}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'source.sqlite3'}"


@pytest.fixture
def other_postgres() -> Iterator[str]:
    yield from postgres_database()


def test_backup_and_restore_on_the_same_engine(database_url: str, tmp_path: Path) -> None:
    source = filled_database(database_url)
    archive = tmp_path / "clinic.zip"
    info = backup.backup(source, archive)
    assert info.tables["recording_chunks"] == 2 and info.blobs == 4  # 2 raw + 2 result chunks
    rows = every_row(source)
    source.dispose()
    target_url = (f"sqlite:///{tmp_path / 'target.sqlite3'}" if database_url.startswith("sqlite")
                  else None)
    if target_url is None:  # a second fresh PostgreSQL database
        generator = postgres_database()
        target_url = next(generator)
    try:
        target = make_engine(target_url)
        restored = backup.restore(target, archive)  # an empty database: the schema is made
        assert restored.tables == info.tables
        assert every_row(target) == rows  # every value of every row, blobs included
        with session_factory(target)() as session:  # ids go on after the restored ones
            new = clinic.add_patient(session, "C-3", "Carla")
            assert new.id == max(r[0] for r in rows["patients"]) + 1
        with pytest.raises(backup.BackupError, match="not empty"):
            backup.restore(target, archive)
        target.dispose()
    finally:
        if not database_url.startswith("sqlite"):
            generator.close()


@pytest.mark.postgres
def test_a_sqlite_backup_restores_into_postgresql(sqlite_url: str, other_postgres: str,
                                                 tmp_path: Path) -> None:
    source = filled_database(sqlite_url)
    archive = tmp_path / "clinic.zip"
    backup.backup(source, archive)
    rows = every_row(source)
    source.dispose()
    target = make_engine(other_postgres)
    backup.restore(target, archive)
    assert every_row(target) == rows
    # and back again: PostgreSQL -> SQLite gives the same rows
    again = tmp_path / "again.zip"
    backup.backup(target, again)
    target.dispose()
    back = make_engine(f"sqlite:///{tmp_path / 'back.sqlite3'}")
    backup.restore(back, again)
    assert every_row(back) == rows
    back.dispose()


def test_refusals_say_why(tmp_path: Path, sqlite_url: str) -> None:
    source = filled_database(sqlite_url)
    archive = tmp_path / "clinic.zip"
    backup.backup(source, archive)
    source.dispose()
    # another revision
    older = tmp_path / "older.zip"
    with zipfile.ZipFile(archive) as a, zipfile.ZipFile(older, "w") as b:
        for item in a.infolist():
            data = a.read(item)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["schema_revision"] = "0001"
                data = json.dumps(manifest).encode()
            b.writestr(item, data)
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    schema.upgrade(empty)
    with pytest.raises(backup.BackupError,
                       match=f"revision 0001 but the database is at {schema.head_revision()}"):
        backup.restore(empty, older)
    # not a backup at all
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(backup.BackupError, match="not a gaitrig backup"):
        backup.restore(empty, junk)
    # a damaged archive leaves the database empty (one transaction)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as a, zipfile.ZipFile(damaged, "w") as b:
        for item in a.infolist():
            data = a.read(item)
            if item.filename == "tables/notes.jsonl":
                data = b"\n".join(data.splitlines()[:-1]) + b"\n"  # one note missing
            b.writestr(item, data)
    with pytest.raises(backup.BackupError, match="archive damaged"):
        backup.restore(empty, damaged)
    with empty.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM patients")).scalar() == 0
    empty.dispose()


def test_rig_backup_and_restore_commands(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    filled_database(sqlite_url).dispose()
    archive = tmp_path / "clinic.zip"
    monkeypatch.setenv("GAITRIG_DATABASE_URL", sqlite_url)
    assert cli.main(["backup", str(archive)]) == 0
    assert f"recording chunks (schema revision {schema.head_revision()})" in \
        capsys.readouterr().out
    assert cli.main(["restore", str(archive)]) == 2  # the source is not empty
    assert "not empty" in capsys.readouterr().err
    target = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("GAITRIG_DATABASE_URL", target)
    assert cli.main(["restore", str(archive)]) == 0
    assert "restored" in capsys.readouterr().out
