"""A real server with the virtual rig in this process, for tests and benchmarks: ``start_server``
and the ``LiveServer`` it returns, a free port, Chromium's path and flags, tool requirements."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
import uvicorn

if TYPE_CHECKING:
    from gaitrig.rig.live.controller import RigController
    from gaitrig.rig.settings import Settings

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The checkout (gaitrig/testing/server.py is two floors down).
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("GAITRIG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--autoplay-policy=no-user-gesture-required"]


def require_tool(available: bool, what: str, install_hint: str) -> None:
    """Skip (outside CI) or fail (under CI=true) when a tool the test needs is missing."""
    if available:
        return
    message = f"{what} is not installed: {install_hint}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: tests may not be skipped for a missing tool)")
    pytest.skip(message)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on its own event loop in a worker thread.

    Playwright's sync API keeps an event loop running on the main thread for the whole session,
    so ``asyncio.run`` cannot be used there.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def controller(self) -> RigController:
        return self.server.config.loaded_app.app.state.controller  # type: ignore[no-any-return]

    @functools.cached_property
    def ws_url(self) -> str:
        """The live websocket, watched with the rig's display token (gaitrig.testing.rig_api; asked
        for once, when the server starts, so that it is known while the database is away)."""
        from gaitrig.testing import rig_api

        return rig_api.live_ws_url(self.url)

    def stop(self) -> None:
        from gaitrig.testing import rig_api

        rig_api.forget(self.url)
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(tmp_path: Path, uvicorn_options: dict[str, Any] | None = None,
                 **overrides: Any) -> LiveServer:
    """The real app on a free loopback port, in this process (so tests can see ground truth).

    ``uvicorn_options`` override the server's (e.g. ``log_level``, ``log_config``).
    """
    from gaitrig.cli.sources import board_source
    from gaitrig.rig.settings import Settings
    from gaitrig.web_ui.app import create_app
    from gaitrig.web_ui.live.connection import websocket_options

    port = free_port()
    values: dict[str, Any] = {"data_dir": tmp_path, "simulate": True, "port": port}
    values.update(overrides)
    settings = Settings(**values)
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on", "server_header": False,
                               **websocket_options(settings.live_compression),
                               **(uvicorn_options or {})}
    app = create_app(settings, source=board_source(settings))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", settings, server, thread)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError("the server did not start (see the log above)")
        time.sleep(0.05)
    assert server.started, "server did not start within 60 s"
    assert live.controller.wait_until_streaming(20), "virtual rig did not stream within 20 s"
    assert httpx.get(live.url + "/api/health").json()["status"] == "ok"
    from gaitrig.testing.rig_api import ensure_account

    ensure_account(settings.resolved_database_url())  # gaitrig.testing.rig_api logs in with it
    live.ws_url  # noqa: B018  # asked for now (cached): known while the database is away
    return live


