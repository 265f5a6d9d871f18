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

    serve.add_argument("--no-devices", action="store_true",
                       help="a history server: no boards and no live rig (a clinic's central "
                            "server, see docs/deploy.md)")

    commands.add_parser("devices", help="find the boards on this computer's USB serial ports")
    commands.add_parser("health", help="ask the server on GAITRIG_HOST:GAITRIG_PORT whether it "
                                       "is healthy (exit 0) or not (exit 1); for Docker")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="migrate the database schema to this version")
    db_commands.add_parser("status", help="print the schema revision of the database")
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
    if args.command == "health":
        return health(settings)
    return database(settings, args.db_command)


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
    if args.no_devices:
        updates["devices"] = False
    settings = settings.model_copy(update=updates)
    if settings.devices and not settings.simulate and not settings.serial_ports:
        from drivers.discovery import discover

        settings = settings.model_copy(update={"serial_ports": [b.port for b in discover()]})
    if settings.devices and not settings.simulate and not settings.serial_ports:
        print("rig serve: no boards found on USB serial ports: plug them in, give --serial "
              "PORT ..., or use --simulate for the virtual rig", file=sys.stderr)
        return 2
    tls = tls_files(settings)
    if not is_loopback(settings.host) and tls is None:
        print(f"WARNING: listening on {settings.host} without TLS: anyone on this network can "
              "see the live data. See docs/deploy.md.", file=sys.stderr)
    base = f"{'https' if tls else 'http'}://{settings.host}:{settings.port}"
    kind = ("(history server, no rig)" if not settings.devices
            else "(virtual rig)" if settings.simulate else "")
    print(f"\n  gaitrig {settings.rig_id} {kind}\n"
          f"  Patient display:   {base}/display\n"
          f"  Therapist console: {base}/console\n", flush=True)
    sys.setswitchinterval(settings.gil_switch_interval_s)  # how long a thread keeps the GIL
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="warning", ws_ping_interval=5.0, ws_ping_timeout=10.0,
                ws_per_message_deflate=settings.live_compression,
                ssl_certfile=tls[0] if tls else None, ssl_keyfile=tls[1] if tls else None)
    return 0


def tls_files(settings: Settings) -> tuple[str, str] | None:
    """(certificate, key) paths when TLS is configured; both or neither must be given."""
    cert, key = settings.tls_certfile, settings.tls_keyfile
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise SystemExit("rig serve: set both GAITRIG_TLS_CERTFILE and GAITRIG_TLS_KEYFILE")
    for path in (cert, key):
        if not path.is_file():
            raise SystemExit(f"rig serve: TLS file {path} does not exist")
    return str(cert), str(key)


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
