"""Issue 7, item 8: the clinic database is unreachable for 30 s during a trial. The recorder
keeps the frames in a local spool file while it lasts (written as they come: a kill loses none),
writes them to the database when it returns, and nothing is lost (every frame's sequence number
stored exactly once, in order). The live message says so while it lasts and the console shows
a banner. SQLite: another connection holds an exclusive lock for 30 s; PostgreSQL: new
connections are refused and the open sessions terminated for 30 s. The real server, the
virtual rig, real Chromium."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gaitrig.db import recordings, trials
from gaitrig.rig.recording.spool import read_spool
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, run_async
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.conftest import POSTGRES_ADMIN_URL
from tests.integration.test_live_server import SCHEMA, collect
from tests.integration.test_recorder import FrameCount, counted  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

OUTAGE_S = 30.0


@contextlib.contextmanager
def database_away(url: str) -> Iterator[None]:
    """The database refuses the recorder for as long as the block lasts."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        blocker = sqlite3.connect(str(parsed.database), timeout=30, check_same_thread=False)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            blocker.rollback()
            blocker.close()
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = parsed.database
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})
        yield
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.05)


def recording(live: LiveServer) -> dict[str, Any] | None:
    message = live.controller.latest
    assert message is not None
    status: dict[str, Any] | None = message["recording"]
    return status


def spooled_frames(folder: Path) -> tuple[int, float]:
    """Raw frames in the spool files (all boards) and the newest one's host time (s)."""
    frames, newest = 0, 0.0
    for path in folder.glob("*.spool"):
        for kind, data in read_spool(path)["jobs"]:
            if kind == "chunks":
                frames += sum(row["frame_count"] for row in data["raw"])
                newest = max([newest, *(row["last_host_time_s"] for row in data["raw"])])
    return frames, newest


def test_a_database_away_for_30_s_loses_nothing_and_the_console_says_so(
        database_url: str, server_factory: Callable[..., LiveServer],
        counted: FrameCount, open_page: PageFactory) -> None:  # noqa: F811
    live = server_factory(database_url=database_url, simulate_activity="walking")
    controller = live.controller
    page, errors = open_page(1280, 800)
    rig_api.goto(page, live.url + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    banner = page.locator("#recording-warning")
    started = rig_api.post(live.url + "/api/rig/trial", json={"exercise": "walking"})
    assert started.status_code == 201, started.text
    trial_id = started.json()["trial"]["id"]
    time.sleep(1.5)
    status = recording(live)
    assert status is not None and status["database_reachable"] is True
    expect(banner).to_be_hidden()
    spool = live.settings.data_dir / "spool"

    with database_away(database_url):
        away_at = time.monotonic()
        wait_for(lambda: (recording(live) or {}).get("database_reachable") is False, 15,
                 "the live message says the database is away")
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_contain_text("unreachable")
        time.sleep(max(0.0, away_at + OUTAGE_S / 2 - time.monotonic()))
        messages = run_async(collect(live.ws_url, 1.0))  # as a browser gets it
        assert messages
        for message in messages:
            message.pop("_received_s")
            jsonschema.validate(message, SCHEMA)
        newest = messages[-1]["recording"]
        assert newest["trial_id"] == trial_id and newest["database_reachable"] is False
        assert newest["buffered_chunks"] >= 5 and newest["spooled_chunks"] >= 5
        assert newest["for_s"] >= OUTAGE_S / 2 - 6
        # the spool on disk holds the frames of the outage, written as they come
        frames_early, newest_early_s = spooled_frames(spool)
        assert frames_early > 0 and newest_early_s > away_at
        time.sleep(3.0)
        frames_later, newest_later_s = spooled_frames(spool)
        assert frames_later > frames_early and newest_later_s > newest_early_s
        expect(banner).to_contain_text("kept on this computer")
        assert controller.trial is not None and controller.trial.state.value == "running"
        time.sleep(max(0.0, away_at + OUTAGE_S - time.monotonic()))
    back_at = time.monotonic()
    print(f"database away for {back_at - away_at:.1f} s")

    wait_for(lambda: (recording(live) or {}).get("database_reachable") is True, 60,
             "the recorder reaches the database again")
    expect(banner).to_be_hidden(timeout=10_000)
    wait_for(lambda: not list(spool.glob("*.spool")), 60, "the spool written and removed")
    time.sleep(1.0)
    stopped = rig_api.post(live.url + "/api/rig/trial/stop")
    assert stopped.status_code == 200, stopped.text
    assert controller.wait_for_recording(120)
    recorder = controller.last_recording
    assert recorder is not None
    assert recorder.stats.write_failures >= 1 and recorder.stats.errors == []
    records = controller.records
    assert records is not None
    with records.sessions() as session:
        detail = trials.get_trial(session, trial_id)
        assert detail is not None and detail.ended_at is not None
        assert detail.recorded_frames == {r: n for r, n in counted.frames.items() if n}
        for role, frames in recordings.load_frames(session, trial_id).items():
            # every frame handed to the recorder, stored exactly once, in order
            np.testing.assert_array_equal(frames.seq, counted.seqs(role))
            assert len(np.unique(frames.host_time_s)) == len(frames)
        assert len(recordings.load_results(session, trial_id)) == counted.rows
        assert counted.last_s - (counted.first_s or 0.0) > OUTAGE_S + 1.5
    assert errors == []
