"""Backup and restore of the whole clinic database in an archive that any engine can read.

The archive is a zip file::

    manifest.json          {"format": "gaitrig-backup", "format_version": 1,
                            "schema_revision": "0002", "created_at": "...", "tables": {name: rows}}
    tables/<table>.jsonl   one JSON object per row, columns by name, in primary-key order
    blobs/<table>/<n>.bin  each binary value (recording chunks), referenced as {"$blob": path}

Values are plain JSON: dates and times as ISO 8601 text (times in UTC with their offset),
floats as JSON numbers (exact: Python writes the shortest text that reads back to the same
double), JSON columns as they are. Restoring reads each value back by its column's type, so a
backup of SQLite restores into PostgreSQL and the other way round.

A restore goes into an empty database at the archive's schema revision (an empty database
without any schema is first brought to this program's schema), in one transaction: it is
complete or nothing changes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.sql.sqltypes import JSON, Date, DateTime, LargeBinary

from gaitrig.db import schema
from gaitrig.db.models import Base
from gaitrig.db.types import UtcDateTime

FORMAT = "gaitrig-backup"
FORMAT_VERSION = 1
#: Rows inserted per statement on restore.
BATCH_ROWS = 500


class BackupError(RuntimeError):
    """An archive that cannot be restored here (with the reason)."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    schema_revision: str
    tables: dict[str, int]  # rows per table
    blobs: int


def _tables() -> list[Table]:
    """Every table, parents before children (the order of foreign keys)."""
    return list(Base.metadata.sorted_tables)


def _kind(column_type: Any) -> str:
    if isinstance(column_type, UtcDateTime | DateTime):
        return "datetime"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, LargeBinary):
        return "blob"
    if isinstance(column_type, JSON):
        return "json"
    return "plain"


def backup(engine: Engine, path: str | Path) -> BackupInfo:
    """Write the whole database to the archive ``path`` (replaced if it exists)."""
    path = Path(path)
    revision = schema.current_revision(engine)
    if revision is None:
        raise BackupError("the database has no schema: nothing to back up")
    counts: dict[str, int] = {}
    blobs = 0
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
            engine.connect() as connection:
        for table in _tables():
            kinds = {c.name: _kind(c.type) for c in table.columns}
            rows = 0
            # The lines wait in a temporary file: a zip takes one member at a time, and the
            # blobs are written while the table is read.
            with tempfile.SpooledTemporaryFile(16 * 2**20) as out:
                for row in _rows(connection, table):
                    record: dict[str, Any] = {}
                    for name, value in row.items():
                        kind = kinds[name]
                        if value is None:
                            record[name] = None
                        elif kind == "blob":
                            member = f"blobs/{table.name}/{blobs}.bin"
                            archive.writestr(member, bytes(value), zipfile.ZIP_STORED)
                            record[name] = {"$blob": member}
                            blobs += 1
                        elif kind == "datetime":
                            record[name] = value.astimezone(UTC).isoformat()
                        elif kind == "date":
                            record[name] = value.isoformat()
                        else:
                            record[name] = value
                    out.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
                    rows += 1
                out.seek(0)
                with archive.open(f"tables/{table.name}.jsonl", "w") as member_file:
                    shutil.copyfileobj(out, member_file)
            counts[table.name] = rows
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "schema_revision": revision, "created_at": datetime.now(UTC).isoformat(),
                    "source_engine": engine.dialect.name, "tables": counts}
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    partial.replace(path)
    return BackupInfo(path, revision, counts, blobs)


def _rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    statement = select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
        statement)
    for row in result.mappings():
        yield dict(row)


def read_manifest(path: str | Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a gaitrig backup: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a gaitrig backup (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path} has backup format {manifest.get('format_version')}, this "
                          f"program reads format {FORMAT_VERSION}")
    return manifest


def restore(engine: Engine, path: str | Path) -> BackupInfo:
    """Fill the empty database behind ``engine`` from the archive ``path``."""
    path = Path(path)
    manifest = read_manifest(path)
    revision = manifest["schema_revision"]
    current = schema.current_revision(engine)
    if current is None and revision == schema.head_revision():
        schema.upgrade(engine)
        current = revision
    if current != revision:
        raise BackupError(
            f"the backup has schema revision {revision} but the database is at "
            f"{current or 'none (empty, and this program makes ' + schema.head_revision() + ')'}"
            ": restore it with the gaitrig version that made it (or into a database at that "
            "revision), then upgrade with `rig db upgrade`")
    tables = _tables()
    with engine.begin() as connection:
        filled = [t.name for t in tables
                  if connection.scalar(select(func.count()).select_from(t)) or 0]
        if filled:
            raise BackupError(f"the database is not empty ({', '.join(filled)} have rows): "
                              "restore only into an empty database")
        counts: dict[str, int] = {}
        blobs = 0
        with zipfile.ZipFile(path) as archive:
            for table in tables:
                kinds = {c.name: _kind(c.type) for c in table.columns}
                batch: list[dict[str, Any]] = []
                rows = 0
                member = f"tables/{table.name}.jsonl"
                if member not in archive.namelist():
                    raise BackupError(f"{path} lacks {member}")
                with archive.open(member) as lines:
                    for line in lines:
                        record = json.loads(line)
                        for name, value in record.items():
                            if value is None:
                                continue
                            kind = kinds.get(name)
                            if kind is None:
                                raise BackupError(f"{member}: unknown column {name!r}")
                            if kind == "blob":
                                record[name] = archive.read(value["$blob"])
                                blobs += 1
                            elif kind == "datetime":
                                record[name] = datetime.fromisoformat(value)
                            elif kind == "date":
                                record[name] = date.fromisoformat(value)
                        batch.append(record)
                        if len(batch) >= BATCH_ROWS:
                            connection.execute(insert(table), batch)
                            rows, batch = rows + len(batch), []
                if batch:
                    connection.execute(insert(table), batch)
                    rows += len(batch)
                if rows != manifest["tables"].get(table.name, 0):
                    raise BackupError(f"{member} holds {rows} rows, the manifest says "
                                      f"{manifest['tables'].get(table.name)}: archive damaged")
                counts[table.name] = rows
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, tables)
    return BackupInfo(path, revision, counts, blobs)


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind: move each past the largest id."""
    for table in tables:
        if "id" not in table.columns:
            continue
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
