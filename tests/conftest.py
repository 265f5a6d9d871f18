"""Shared fixtures: a real server with the virtual rig, a real Chromium, the databases.

The helpers behind them live in ``gaitrig.testing`` (benchmarks use them too)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gaitrig.testing.server import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    require_tool,
    start_server,
)


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
        # Playwright's wait_for_function and evaluate run their strings with eval, which the
        # pages' Content-Security-Policy forbids: contexts bypass it unless a test asks for it
        # (tests/browser/test_login_page.py runs the pages under the policy and counts the
        # violations: none).
        new_context = browser.new_context

        def context_for_tests(**options: Any) -> Any:
            options.setdefault("bypass_csp", True)
            return new_context(**options)

        browser.new_context = context_for_tests  # type: ignore[method-assign]
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

    from gaitrig.rig.settings import Settings
    from gaitrig.testing.rig_api import ensure_account, log_in
    from gaitrig.web_ui.app import create_app

    app = create_app(Settings(database_url=database_url, simulate=False, data_dir=tmp_path))
    with TestClient(app) as client:
        ensure_account(database_url)
        yield log_in(client)
