"""Shared fixtures: a real server with the virtual rig, a real Chromium, tool requirements."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
import uvicorn

if TYPE_CHECKING:
    from rig.controller import RigController
    from rig.settings import Settings

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parent.parent
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
        """The live websocket, watched with the rig's display token (tests.rig_api; asked
        for once, when the server starts, so that it is known while the database is away)."""
        from tests import rig_api

        return rig_api.live_ws_url(self.url)

    def stop(self) -> None:
        from tests import rig_api

        rig_api.forget(self.url)
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(tmp_path: Path, uvicorn_options: dict[str, Any] | None = None,
                 **overrides: Any) -> LiveServer:
    """The real app on a free loopback port, in this process (so tests can see ground truth).

    ``uvicorn_options`` override the server's (e.g. ``log_level``, ``log_config``).
    """
    from rig.settings import Settings
    from web_ui.app import create_app
    from web_ui.live_connection import websocket_options

    port = free_port()
    values: dict[str, Any] = {"data_dir": tmp_path, "simulate": True, "port": port}
    values.update(overrides)
    settings = Settings(**values)
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on",
                               **websocket_options(settings.live_compression),
                               **(uvicorn_options or {})}
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, **options)
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
    from tests.rig_api import ensure_account

    ensure_account(settings.resolved_database_url())  # tests.rig_api logs in with it
    live.ws_url  # noqa: B018  # asked for now (cached): known while the database is away
    return live


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        started.append(start_server(tmp_path, **overrides))
        return started[-1]

    yield make
    for live in started:
        live.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a server whose virtual patient walks between the bars."""
    live = start_server(tmp_path_factory.mktemp("live"), simulate_activity="walking")
    yield live.url
    live.stop()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    require_tool(Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
                 "Chromium", "sudo apt-get install chromium (or `make test` as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


POSTGRES_ADMIN_URL = os.environ.get("GAITRIG_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        require_tool(False, f"PostgreSQL at {POSTGRES_ADMIN_URL} ({str(exc).splitlines()[0]})",
                     "start a server or set GAITRIG_TEST_POSTGRES_URL")
    name = f"gaitrig_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every database test runs on SQLite (a file, WAL) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gaitrig.sqlite3'}"
    else:
        yield from postgres_database()


@pytest.fixture
def clinic_client(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """A TestClient on the real app with no boards attached (the clinic records' API), logged
    in as the test account (an admin)."""
    from fastapi.testclient import TestClient

    from rig.settings import Settings
    from tests.rig_api import ensure_account, log_in
    from web_ui.app import create_app

    app = create_app(Settings(database_url=database_url, simulate=False, data_dir=tmp_path))
    with TestClient(app) as client:
        ensure_account(database_url)
        yield log_in(client)
