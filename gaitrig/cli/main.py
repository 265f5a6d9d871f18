"""The ``rig`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gaitrig.cli.export import add_export_command, run_export
from gaitrig.cli.user import add_user_command, run_user
from gaitrig.rig.access.network_access import check_access, is_loopback
from gaitrig.rig.settings import Settings

#: The demo account of `rig serve --demo` (`make run`): this machine only, so a known password.
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "gaitrig-demo"


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


def devices() -> int:
    from gaitrig.drivers.discovery import candidate_ports, discover

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

    from gaitrig.cli.sources import board_source
    from gaitrig.web_ui.app import create_app
    from gaitrig.web_ui.live.connection import websocket_options

    updates: dict[str, object] = {}
    if args.host:
        updates["host"] = args.host
    if args.port:
        updates["port"] = args.port
    if args.simulate:
        updates["simulate"] = True
    if args.serial:
        updates["serial_ports"] = args.serial
    updates.update(network_updates(args))
    if args.no_devices:
        updates["devices"] = False
    if args.demo:
        updates["demo"] = True
    settings = settings.model_copy(update=updates)
    access = check_access(settings.host, settings.allow_network, settings.tls_keyfile,
                          settings.tls_certfile)
    if access.refusal:
        print(f"rig serve: {access.refusal}", file=sys.stderr)
        return 2
    if settings.demo and not is_loopback(settings.host):
        print(f"rig serve: refusing demo mode on {settings.host}: its account has a known "
              "password. Demo mode is for this machine only (--host 127.0.0.1); on a network, "
              "create accounts with `rig user add`.", file=sys.stderr)
        return 2
    if access.warning:
        print(access.warning, file=sys.stderr)
    if settings.devices and not settings.simulate and not settings.serial_ports:
        from gaitrig.drivers.discovery import discover

        settings = settings.model_copy(update={"serial_ports": [b.port for b in discover()]})
        if not settings.serial_ports:
            print("rig serve: no boards found on USB serial ports: plug them in, give --serial "
                  "PORT ..., or use --simulate for the virtual rig", file=sys.stderr)
            return 2
    from gaitrig.rig.records import Records

    problem = Records.startup_problem(settings.resolved_database_url(), settings.migrate_on_start)
    if problem:
        print(f"rig serve: {problem}", file=sys.stderr)
        return 2
    scheme = "https" if settings.tls_certfile else "http"
    base = f"{scheme}://{settings.host}:{settings.port}"
    kind = ("(history server, no rig)" if not settings.devices
            else "(virtual rig)" if settings.simulate else "")
    display = f"{base}/display (make a display link in the console)"
    demo = ""
    if settings.demo:
        token, demo = demo_setup(settings)
        display = f"{base}/display?token={token}"
    print(f"\n  gaitrig {settings.rig_id} {kind}\n{demo}"
          f"  Patient display:   {display}\n"
          f"  Therapist console: {base}/console\n", flush=True)
    sys.setswitchinterval(settings.gil_switch_interval_s)  # how long a thread keeps the GIL
    app = create_app(settings, source=board_source(settings))
    uvicorn.run(app, host=settings.host, port=settings.port,
                log_level="warning", **websocket_options(settings.live_compression),
                ssl_keyfile=settings.tls_keyfile,
                ssl_certfile=settings.tls_certfile)
    return 0


def demo_setup(settings: Settings) -> tuple[str, str]:
    """The demo account (created when absent) and a display link: (token, banner lines)."""
    from gaitrig.rig.access.accounts import Accounts
    from gaitrig.rig.access.display_links import DisplayLinks
    from gaitrig.rig.records import Records

    records = Records.open(settings.resolved_database_url(), settings.migrate_on_start)
    try:
        accounts = Accounts(records)
        created = accounts.find(DEMO_USERNAME) is None
        if created:
            accounts.add(DEMO_USERNAME, "Demo clinician", "admin", DEMO_PASSWORD)
        links = DisplayLinks(records, settings.rig_id)
        links.refresh()  # current() reads memory only: without this, every start made a new link
        token = links.current() or links.issue(None)
    finally:
        records.close()
    note = "created now" if created else "as created at the first demo start"
    return token, (f"  Demo login:        user {DEMO_USERNAME}, password {DEMO_PASSWORD} "
                   f"({note})\n")


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


def health(settings: Settings) -> int:
    """GET /api/health on this machine's server; 0 when it answers status ok (stdlib only)."""
    import json
    import ssl
    import urllib.request

    scheme = "https" if settings.tls_certfile else "http"
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"{scheme}://{host}:{settings.port}/api/health"
    # The certificate names the clinic's host name, not 127.0.0.1: only liveness is checked here.
    context = ssl._create_unverified_context() if scheme == "https" else None
    try:
        with urllib.request.urlopen(url, timeout=5.0, context=context) as response:
            answer = json.load(response)
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if answer.get("status") != "ok":
        print(f"unhealthy: {url} answered {answer}", file=sys.stderr)
        return 1
    print(f"ok: {answer.get('rig_id')} ({answer.get('database')})")
    return 0


def database(settings: Settings, action: str) -> int:
    from gaitrig.rig.records import Records

    records = Records(settings.resolved_database_url())
    from gaitrig.db import schema

    if action == "upgrade":
        schema.upgrade(records.engine)
    print(f"schema revision: {schema.current_revision(records.engine)} "
          f"(this program needs {schema.head_revision()})")
    return 0


def network_updates(args: argparse.Namespace) -> dict[str, object]:
    """The settings ``--allow-network``, ``--tls-key`` and ``--tls-cert`` change."""
    updates: dict[str, object] = {}
    if args.allow_network:
        updates["allow_network"] = True
    if args.tls_key:
        updates["tls_keyfile"] = args.tls_key
    if args.tls_cert:
        updates["tls_certfile"] = args.tls_cert
    return updates


def add_analysis_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``rig analyze`` and ``rig record`` (offline: no server, no boards)."""
    analyze = commands.add_parser(
        "analyze", help="analyse a recording: contacts, steps and summary",
        description="Analyse a recording (.npz of this rig, .csv, PhysioNet gaitpdb .txt[.gz] "
                    "or WFDB .hea); see docs/recordings.md.")
    analyze.add_argument("file", help="the recording")
    analyze.add_argument("--json", action="store_true", help="print the full result as JSON")
    analyze.add_argument("--layout", help="sensor positions for a .csv recording (JSON)")
    analyze.add_argument("--body-mass-kg", type=float, help="the patient's mass (kg)")
    analyze.add_argument("--prosthetic-side", choices=("left", "right"))
    record = commands.add_parser("record", help="write a recording of the virtual rig (.npz)")
    record.add_argument("--simulate", action="store_true", required=True,
                        help="record the virtual rig (the only source offline)")
    record.add_argument("--seconds", type=float, default=30.0, help="length (s)")
    record.add_argument("--seed", type=int, default=0)
    record.add_argument("--activity", default="walking")
    record.add_argument("--body-mass-kg", type=float, default=75.0)
    record.add_argument("--prosthetic-side", choices=("left", "right"), default="left")
    record.add_argument("file", help="where to write it (.npz)")


def analyze_command(args: argparse.Namespace) -> int:
    """Exit 2 with one line on stderr (file and reason) when the recording cannot be used."""
    import json

    from gaitrig.io.recordings import RecordingError
    from gaitrig.rig.offline.analyze import AnalysisError, analyze

    try:
        result = analyze(args.file, layout_path=args.layout, body_mass_kg=args.body_mass_kg,
                         prosthetic_side=args.prosthetic_side)
    except (RecordingError, AnalysisError) as error:
        print(f"rig analyze: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    summary = result["summary"]
    print(f"{result['file']}: {result['duration_s']:.1f} s at {result['sample_rate_hz']:g} Hz, "
          f"{len(result['feet']['left']['contacts'])} left and "
          f"{len(result['feet']['right']['contacts'])} right contacts, cadence "
          f"{summary['cadence_steps_per_min'] or float('nan'):.1f} steps/min")
    return 0


def record_command(args: argparse.Namespace) -> int:
    from gaitrig.sim.recording import record_virtual

    try:
        made = record_virtual(args.file, args.seconds, body_mass_kg=args.body_mass_kg,
                              prosthetic_side=args.prosthetic_side, activity=args.activity,
                              seed=args.seed)
    except (OSError, ValueError) as error:
        print(f"rig record: {args.file}: {error}", file=sys.stderr)
        return 2
    print(f"{made.path}: {args.seconds:g} s of the virtual rig, {len(made.events)} gait events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
