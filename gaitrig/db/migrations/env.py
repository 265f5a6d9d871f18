"""Alembic environment: runs on the connection handed over by gaitrig.db.schema, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gaitrig.db.engine import make_engine
from gaitrig.db.models import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
