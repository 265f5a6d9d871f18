"""A clinic with several rigs: each rig PC runs `rig serve` against one shared database, and a
central history server runs `rig serve --no-devices`. Real processes, a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from gaitrig.db.models import RecordingChunk, Trial
from gaitrig.testing import rig_api
from gaitrig.testing.rig_process import stop, wait_healthy
from gaitrig.testing.server import free_port
from tests.conftest import postgres_database

RIG = [sys.executable, "-m", "gaitrig.cli.main", "serve"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from postgres_database()


@contextmanager
def server(tmp_path: Path, rig_id: str, database_url: str, *options: str
           ) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`rig serve OPTIONS` as its own process; yields its URL once /api/health answers."""
    port = free_port()
    data_dir = tmp_path / rig_id
    data_dir.mkdir()
    env = {**os.environ, "GAITRIG_RIG_ID": rig_id, "GAITRIG_DATABASE_URL": database_url,
           "GAITRIG_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    rig_api.ensure_account_for(env)
    process = subprocess.Popen([*RIG, "--port", str(port), *options], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop(process)


def test_history_server_runs_without_boards_and_says_there_is_no_rig(tmp_path: Path) -> None:
    url_db = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    with server(tmp_path, "history", url_db, "--no-devices") as (url, process):
        health = wait_healthy(url, process, boards=0)
        assert health["boards"] == 0 and health["rig_id"] == "history"
        live = rig_api.get(url + "/api/live", timeout=5).json()
        assert live["live_rig"] is False and live["devices"] == []
        assert "left_foot_n" not in live  # no loads: nothing measures them
        assert rig_api.get(url + "/api/trials", timeout=5).json() == []
        refused = rig_api.post(url + "/api/rig/trial", json={}, timeout=5)
        assert refused.status_code == 409 and "history server" in refused.json()["detail"]


@pytest.mark.browser
def test_history_server_display_says_no_rig(tmp_path: Path, chromium_browser: Any,
                                            artifacts: Path) -> None:
    url_db = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    with server(tmp_path, "history", url_db, "--no-devices") as (url, process):
        wait_healthy(url, process, boards=0)
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        try:
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            rig_api.goto(page, url + "/display")
            page.wait_for_selector('#display[data-connection="no-rig"]', timeout=30_000)
            assert "No rig on this server" in page.inner_text("#connection-overlay")
            assert page.inner_text("#connection-status") == "No rig"
            page.screenshot(path=str(artifacts / "display-history-server-no-rig.png"))
        finally:
            context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.mark.postgres
@pytest.mark.slow
def test_two_rigs_record_at_once_into_one_postgres_and_the_history_server_sees_both(
        tmp_path: Path, postgres_url: str) -> None:
    rigs = ("rig-a", "rig-b")
    with ExitStack() as stack:
        # Both rigs start at once on a fresh database: one migrates, the other waits for it.
        running = {rig: stack.enter_context(server(tmp_path, rig, postgres_url, "--simulate"))
                   for rig in rigs}
        for rig, (url, process) in running.items():
            assert wait_healthy(url, process, boards=3)["rig_id"] == rig
        started = {rig: rig_api.post(url + "/api/rig/trial", json={"exercise": "walking"},
                                   timeout=10) for rig, (url, _) in running.items()}
        for rig, answer in started.items():
            assert answer.status_code == 201, f"{rig}: {answer.text}"
        trial_ids = {rig: answer.json()["trial"]["id"] for rig, answer in started.items()}
        time.sleep(1.5)  # both record at the same time
        for rig, (url, _) in running.items():
            stopped = rig_api.post(url + "/api/rig/trial/stop", timeout=10)
            assert stopped.status_code == 200, f"{rig}: {stopped.text}"
        with server(tmp_path, "history", postgres_url, "--no-devices") as (url, process):
            wait_healthy(url, process, boards=0)
            listed = rig_api.get(url + "/api/trials", timeout=10).json()
    assert {t["rig_id"] for t in listed} == set(rigs)

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            stored = {row.id: row for row in connection.execute(select(Trial))}
            chunks = dict(connection.execute(  # type: ignore[arg-type]
                select(RecordingChunk.trial_id, func.count()).group_by(RecordingChunk.trial_id)
            ).all())
    finally:
        engine.dispose()
    assert len(stored) == 2 and set(trial_ids.values()) == set(stored)
    for rig, trial_id in trial_ids.items():
        trial = stored[trial_id]
        assert trial.rig_id == rig, f"trial {trial_id} was stored as {trial.rig_id}"
        assert trial.ended_at is not None and trial.ended_at > trial.started_at
    # Each rig recorded its own raw frames: at least one chunk per board (three boards).
    assert set(chunks) == set(trial_ids.values()), f"chunks per trial: {chunks}"
    assert all(count >= 3 for count in chunks.values()), f"chunks per trial: {chunks}"
