"""``rig serve`` (the server with its boards, the virtual rig or none), ``rig devices`` (the
boards on the USB serial ports) and ``rig health`` (for Docker)."""

from __future__ import annotations

import argparse
import sys

from gaitrig.rig.access.network_access import check_access, is_loopback
from gaitrig.rig.settings import Settings

#: The demo account of `rig serve --demo` (`make run`): this machine only, so a known password.
DEMO_USERNAME = "demo"


DEMO_PASSWORD = "gaitrig-demo"


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
                log_level="warning", server_header=False,
                **websocket_options(settings.live_compression),
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
