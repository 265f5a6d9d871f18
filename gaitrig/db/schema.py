"""Schema migrations with Alembic: upgrade to the newest revision, or say how far behind we are."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
#: PostgreSQL advisory lock held while migrating (any fixed 64-bit number; "gaitrig" in ASCII).
MIGRATION_LOCK_KEY = 0x67616974726967


class SchemaBehindError(RuntimeError):
    """The database's schema is older than this program's."""


class SchemaAheadError(RuntimeError):
    """The database's schema comes from a newer program (a revision this one does not know)."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {revision.revision for revision in script.walk_revisions()}


def _refuse_newer(current: str | None) -> None:
    if current is not None and current not in known_revisions():
        raise SchemaAheadError(
            f"database schema is at revision {current}, newer than this program knows (it "
            f"needs {head_revision()}): install the gaitrig version that wrote it, or restore "
            "a backup made by this version")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it already is); refuses a schema
    from a newer program with :class:`SchemaAheadError`."""
    _refuse_newer(current_revision(engine))
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Rigs of a clinic may start at once against one database: one migrates, the others
            # wait for it and then find nothing left to do (the lock ends with the transaction).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def check_current(engine: Engine) -> None:
    """Raise SchemaBehindError (or SchemaAheadError) with a clear message unless the schema is
    at the newest revision."""
    current, head = current_revision(engine), head_revision()
    _refuse_newer(current)
    if current != head:
        raise SchemaBehindError(
            f"database schema is at revision {current or 'none (empty database)'}, this program "
            f"needs {head}: run `rig db upgrade` (back up the database first)")
