"""The ``rig`` command line."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from collections.abc import Sequence

from rig.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rig", description="gaitrig: controller for an instrumented gait-training rig.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the server (pages, API, live stream)",
                                description="Start the server. Settings also come from "
                                            "GAITRIG_* environment variables.")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1, this machine "
                                      "only)")
    serve.add_argument("--port", type=int, help="TCP port (default 8000)")
    serve.add_argument("--simulate", action="store_true",
                       help="run the virtual rig instead of real boards")
    serve.add_argument("--serial", nargs="+", metavar="PORT", default=None,
                       help="serial ports of the boards, e.g. /dev/ttyACM0 /dev/ttyACM1 "
                            "(default: the USB boards found by `rig devices`)")

    commands.add_parser("devices", help="find the boards on this computer's USB serial ports")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="migrate the database schema to this version")
    db_commands.add_parser("status", help="print the schema revision of the database")

    replay = commands.add_parser("replay", help="reprocess a stored trial and compare its metrics")
    replay.add_argument("trial", type=int, metavar="TRIAL", help="the trial's id")

    backup = commands.add_parser("backup", help="write the whole database to an archive file")
    backup.add_argument("file", metavar="FILE", help="the archive to write (a zip file)")
    restore = commands.add_parser("restore", help="fill an empty database from an archive file")
    restore.add_argument("file", metavar="FILE", help="an archive made by `rig backup`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    if args.command == "serve":
        return serve(settings, args)
    if args.command == "devices":
        return devices()
    if args.command == "replay":
        return replay(settings, args.trial)
    if args.command in ("backup", "restore"):
        return backup_or_restore(settings, args.command, args.file)
    return database(settings, args.db_command)


def replay(settings: Settings, trial_id: int) -> int:
    """0: the stored metrics were reproduced exactly; 1: they differ; 2: cannot replay."""
    from rig.records import Records
    from rig.replay import replay_trial

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


def devices() -> int:
    from drivers.discovery import candidate_ports, discover

    ports = candidate_ports()
    found = discover(ports)
    for board in found:
        hello = board.hello
        print(f"{board.port}  {board.role:<13} serial {hello.serial_number:08x}  firmware "
              f"{'.'.join(map(str, hello.firmware_version))}  {hello.channel_count} channels "
              f"at {hello.sample_rate_hz} Hz")
    silent = sorted(set(ports) - {board.port for board in found})
    for port in silent:
        print(f"{port}  (a USB serial board that did not answer: not gaitrig firmware?)")
    if not found:
        print("no gaitrig boards found on USB serial ports", file=sys.stderr)
        return 1
    return 0


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from web_ui.app import create_app

    updates: dict[str, object] = {}
    if args.host:
        updates["host"] = args.host
    if args.port:
        updates["port"] = args.port
    if args.simulate:
        updates["simulate"] = True
    if args.serial:
        updates["serial_ports"] = args.serial
    settings = settings.model_copy(update=updates)
    if not settings.simulate and not settings.serial_ports:
        from drivers.discovery import discover

        settings = settings.model_copy(update={"serial_ports": [b.port for b in discover()]})
    if not settings.simulate and not settings.serial_ports:
        print("rig serve: no boards found on USB serial ports: plug them in, give --serial "
              "PORT ..., or use --simulate for the virtual rig", file=sys.stderr)
        return 2
    if not is_loopback(settings.host):
        print(f"WARNING: listening on {settings.host} without TLS: anyone on this network can "
              "see the live data. See docs/deploy.md.", file=sys.stderr)
    from rig.records import Records

    problem = Records.startup_problem(settings.resolved_database_url(), settings.migrate_on_start)
    if problem:
        print(f"rig serve: {problem}", file=sys.stderr)
        return 2
    base = f"http://{settings.host}:{settings.port}"
    print(f"\n  gaitrig {'(virtual rig)' if settings.simulate else ''}\n"
          f"  Patient display:   {base}/display\n"
          f"  Therapist console: {base}/console\n", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="warning", ws_ping_interval=5.0, ws_ping_timeout=10.0)
    return 0


def backup_or_restore(settings: Settings, action: str, file: str) -> int:
    from db import backup
    from db.engine import make_engine

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


def database(settings: Settings, action: str) -> int:
    from rig.records import Records

    records = Records(settings.resolved_database_url())
    from db import schema

    if action == "upgrade":
        schema.upgrade(records.engine)
    print(f"schema revision: {schema.current_revision(records.engine)} "
          f"(this program needs {schema.head_revision()})")
    return 0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
