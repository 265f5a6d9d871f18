"""The databases a benchmark runs on: a SQLite file, and a fresh PostgreSQL database when a
server is configured (GAITRIG_TEST_POSTGRES_URL) or answers on 127.0.0.1:5432."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_ADMIN_URL = os.environ.get("GAITRIG_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def bench_databases() -> Iterator[dict[str, str]]:
    """engine name -> URL of an empty database; all removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="gaitrig-bench-") as folder:
        urls = {"SQLite": f"sqlite:///{folder}/bench.sqlite3"}
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"gaitrig_bench_{uuid.uuid4().hex[:10]}"
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            urls["PostgreSQL"] = admin.url.set(database=name).render_as_string(
                hide_password=False)
        except OperationalError as exc:
            print(f"(no PostgreSQL at {POSTGRES_ADMIN_URL}: {str(exc).splitlines()[0]})")
        try:
            yield urls
        finally:
            if "PostgreSQL" in urls:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
