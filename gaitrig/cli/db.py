"""``rig db upgrade|status``, ``rig backup`` / ``rig restore`` and ``rig replay TRIAL``: the
database's upkeep, and a stored trial analysed again."""

from __future__ import annotations

import sys

from gaitrig.rig.settings import Settings


def database(settings: Settings, action: str) -> int:
    from gaitrig.rig.records import Records

    records = Records(settings.resolved_database_url())
    from gaitrig.db import schema

    if action == "upgrade":
        schema.upgrade(records.engine)
    print(f"schema revision: {schema.current_revision(records.engine)} "
          f"(this program needs {schema.head_revision()})")
    return 0


def backup_or_restore(settings: Settings, action: str, file: str) -> int:
    from gaitrig.db import backup
    from gaitrig.db.engine import make_engine

    engine = make_engine(settings.resolved_database_url())
    try:
        run = backup.backup if action == "backup" else backup.restore
        info = run(engine, file)
    except backup.BackupError as exc:
        print(f"rig {action}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    rows = sum(info.tables.values())
    print(f"{'backed up' if action == 'backup' else 'restored'} {rows} rows of "
          f"{len(info.tables)} tables and {info.blobs} recording chunks (schema revision "
          f"{info.schema_revision}) {'to' if action == 'backup' else 'from'} {info.path}")
    return 0


def replay(settings: Settings, trial_id: int) -> int:
    """0: the stored metrics were reproduced exactly; 1: they differ; 2: cannot replay."""
    from gaitrig.rig.offline.replay import replay_trial
    from gaitrig.rig.records import Records

    records = Records.open(settings.resolved_database_url(), migrate=False)
    try:
        report = replay_trial(records, trial_id)
    except (LookupError, ValueError) as exc:
        print(f"rig replay: {exc}", file=sys.stderr)
        return 2
    finally:
        records.close()
    print(report.text())
    return 0 if report.identical else 1
