"""The ``rig`` command line: its parser and which module runs each command (``serve``,
``export``, ``user``, ``db``, ``analyze``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gaitrig.cli.analyze import add_analysis_commands, analyze_command, record_command
from gaitrig.cli.db import backup_or_restore, database, replay
from gaitrig.cli.export import add_export_command, run_export
from gaitrig.cli.serve import devices, health, serve
from gaitrig.cli.user import add_user_command, run_user
from gaitrig.rig.settings import Settings


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
    serve.add_argument("--allow-network", action="store_true", default=None,
                       help="allow a --host that other computers on the network can reach "
                            "(refused without it)")
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="TLS private key (PEM)")
    serve.add_argument("--tls-cert", type=Path, metavar="FILE",
                       help="TLS certificate chain (PEM); with --tls-key the server speaks "
                            "only https")

    serve.add_argument("--demo", action="store_true",
                       help="demo mode (make run): create the account demo and print its "
                            "password and a display link; refused unless on this machine")
    serve.add_argument("--no-devices", action="store_true",
                       help="a history server: no boards and no live rig (a clinic's central "
                            "server, see docs/deploy.md)")

    commands.add_parser("devices", help="find the boards on this computer's USB serial ports")
    add_export_command(commands)
    add_user_command(commands)

    add_analysis_commands(commands)
    commands.add_parser("health", help="ask the server on GAITRIG_HOST:GAITRIG_PORT whether it "
                                       "is healthy (exit 0) or not (exit 1); for Docker")

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
    if args.command == "export":
        return run_export(settings, args)
    if args.command == "serve":
        return serve(settings, args)
    if args.command == "user":
        return run_user(settings, args)
    if args.command == "devices":
        return devices()
    if args.command == "replay":
        return replay(settings, args.trial)
    if args.command in ("backup", "restore"):
        return backup_or_restore(settings, args.command, args.file)
    if args.command == "analyze":
        return analyze_command(args)
    if args.command == "record":
        return record_command(args)
    if args.command == "health":
        return health(settings)
    return database(settings, args.db_command)
























if __name__ == "__main__":
    sys.exit(main())
