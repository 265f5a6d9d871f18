"""Issue 12, part 4: what the therapist set on the rig (patient, exercise, targets with their
unit, feedback) and the clinicians' logins survive a restart of the server; every console
learns of a change through the live message's ``controls_version``.

Real servers (uvicorn with the virtual rig on pseudo-terminals) on one database, SQLite and
PostgreSQL; login sessions on the real app with an injected clock."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gaitrig.db import models as m
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings
from gaitrig.testing import rig_api
from gaitrig.testing.server import start_server
from gaitrig.web_ui.app import create_app
from tests.integration.test_accounts import FakeClock

PATIENT = {"display_name": "Ana", "body_mass_kg": 80.0, "prosthetic_side": "left",
           "amputation_level": "transfemoral"}
TARGETS_KG = {"unit": "kg", "band_low": 24.0, "band_high": 32.0, "limit": 40.0,
              "max_hand_support": 16.0, "shift_period_s": 7.0}
FEEDBACK = {"tone": False, "counter": False, "muted": True, "volume_pct": 35, "mode": "faded",
            "fade_every_n": 3}


def session_rows(url: str) -> list[m.LoginSessionRow]:
    records = Records.open(url)
    try:
        with records.sessions() as session:
            rows = list(session.scalars(select(m.LoginSessionRow)))
            session.expunge_all()
            return rows
    finally:
        records.close()


def logged_in_client(url: str) -> tuple[httpx.Client, str, str]:
    """A client logged in at ``url`` (not gaitrig.testing.rig_api's, which logs in again on a 401);
    its cookie value and CSRF token."""
    client = rig_api.login(url)
    return client, client.cookies["gaitrig_session"], client.headers["X-CSRF-Token"]


def test_settings_and_logins_survive_a_restart(tmp_path: Path, database_url: str) -> None:
    first = start_server(tmp_path, database_url=database_url)
    try:
        client, cookie, csrf = logged_in_client(first.url)
        assert client.put("/api/rig/patient", json=PATIENT).status_code == 200
        before = client.get("/api/rig").json()["controls_version"]
        assert client.put("/api/rig/targets", json=TARGETS_KG).status_code == 200
        assert client.put("/api/rig/exercise", json={"exercise": "weight_shift"}).status_code == 200
        answer = client.put("/api/rig/feedback", json=FEEDBACK)
        assert answer.status_code == 200
        set_state: dict[str, Any] = answer.json()
        assert set_state["controls_version"] == before + 3  # one per control
        assert set_state["targets"]["unit"] == "kg" and set_state["targets"]["band_low_kg"] == 24.0
        # the live message carries the same version and this start's instance
        deadline = time.monotonic() + 5.0  # the next published state carries the change
        live = client.get("/api/live").json()
        while live["controls_version"] != set_state["controls_version"] \
                and time.monotonic() < deadline:
            time.sleep(0.05)
            live = client.get("/api/live").json()
        assert live["controls_version"] == set_state["controls_version"]
        assert live["server_instance"] == set_state["server"]["instance"]
        client.close()
    finally:
        first.stop()

    second = start_server(tmp_path, database_url=database_url)
    try:
        client = httpx.Client(base_url=second.url, cookies={"gaitrig_session": cookie},
                              headers={"X-CSRF-Token": csrf})
        who = client.get("/api/session")  # the same cookie, a new server process
        assert who.status_code == 200, who.text
        assert who.json()["username"] == rig_api.USERNAME
        restored = client.get("/api/rig").json()
        assert restored["server"]["instance"] != set_state["server"]["instance"]
        for key in ("patient", "exercise", "targets", "feedback"):
            assert restored[key] == set_state[key], key
        assert restored["targets"]["unit"] == "kg"
        assert restored["targets"]["band_low_kg"] == 24.0
        assert restored["targets"]["band_high_kg"] == 32.0
        assert restored["targets"]["shift_period_s"] == 7.0
        assert restored["patient"]["amputation_level"] == "transfemoral"
        assert restored["feedback"] == {"visual": True, **FEEDBACK}
        # the restored targets are in force, not only shown: the live message and the band
        live = client.get("/api/live").json()
        assert live["target_band_pct_bw"] == [30.0, 40.0]  # 24-32 kg of 80 kg
        assert live["exercise"] == "weight_shift" and live["feedback"]["muted"] is True
        # the CSRF token of the session survived too: a control is accepted
        assert client.put("/api/rig/feedback", json={"muted": False}).status_code == 200
        client.close()
    finally:
        second.stop()


def test_restore_keeps_unknown_keys_and_skips_a_bad_one(tmp_path: Path) -> None:
    controller = RigController(Settings(data_dir=tmp_path, simulate=False, body_mass_kg=70.0))
    good_targets = {"band_low_pct_bw": 20.0, "band_high_pct_bw": 35.0, "limit_pct_bw": None,
                    "max_hand_support_pct_bw": None, "unit": "kg", "shift_period_s": 5.0}
    controller.restore_state({
        "version": 1,
        "patient": {"display_name": "", "body_mass_kg": 80.0, "prosthetic_side": "left"},
        "exercise": "no_such_exercise",
        "targets": good_targets,
        "feedback": {"tone": "yes"},
        "footwear": "own trainers", "session_id": 12,  # a newer server's keys
    })
    assert controller.patient.body_mass_kg == 70.0  # the bad patient kept the default
    assert controller.monitor.exercise.value == "walking"
    assert controller.monitor.targets.band_high_pct_bw == 35.0
    assert controller.monitor.targets.unit == "kg"
    assert controller.feedback.tone is True
    state = controller.persisted_state()
    assert state["footwear"] == "own trainers" and state["session_id"] == 12
    assert state["targets"] == good_targets
    assert state["version"] == 1
    assert state["patient"]["display_name"] == controller.patient.display_name


class Apps:
    """Apps on one database with one injected clock: ``apps()`` is a TestClient of a new app
    (a restart of the server)."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.tmp_path, self.url, self.clock = tmp_path, url, FakeClock()
        self.clients: list[TestClient] = []

    def __call__(self) -> TestClient:
        app = create_app(Settings(database_url=self.url, simulate=False, devices=False,
                                  data_dir=self.tmp_path), clock=self.clock)
        client = TestClient(app)
        client.__enter__()
        rig_api.ensure_account(self.url)
        self.clients.append(client)
        return client


@pytest.fixture
def app_at(tmp_path: Path, database_url: str) -> Iterator[Apps]:
    apps = Apps(tmp_path, database_url)
    yield apps
    for client in apps.clients:
        client.__exit__(None, None, None)


def login(client: TestClient, password: str = rig_api.PASSWORD) -> str:
    client.cookies.clear()  # a new login, from no session
    answer = client.post("/api/login", json={"username": rig_api.USERNAME, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return str(client.cookies["gaitrig_session"])


def use_cookie(client: TestClient, cookie: str) -> None:
    """Present ``cookie`` as the session cookie (and nothing else)."""
    client.cookies.clear()
    client.cookies.set("gaitrig_session", cookie)


def test_login_sessions_are_stored_hashed_and_end_as_before(app_at: Apps) -> None:
    client = app_at()
    cookie = login(client)
    rows = session_rows(app_at.url)
    assert len(rows) == 1
    row = rows[0]
    assert row.token_hash == hashlib.sha256(cookie.encode()).hexdigest()
    stored = " ".join(str(getattr(row, c.name)) for c in m.LoginSessionRow.__table__.columns)
    assert cookie not in stored  # never the cookie's value itself
    assert row.csrf_token == client.headers["X-CSRF-Token"]

    restarted = app_at()  # a new app on the same database: the cookie still works
    use_cookie(restarted, cookie)
    restarted.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    assert restarted.get("/api/session").status_code == 200
    assert restarted.post("/api/logout").status_code == 204
    assert session_rows(app_at.url) == []  # logout deleted the row
    use_cookie(client, cookie)
    assert client.get("/api/session").status_code == 401  # in the first app too

    # a new password ends the older session (its row goes)
    cookie = login(client)
    accounts = client.app.state.auth.accounts  # type: ignore[attr-defined]
    assert accounts.set_password(rig_api.USERNAME, "another password 2")
    assert client.get("/api/session").status_code == 401
    assert session_rows(app_at.url) == []
    assert accounts.set_password(rig_api.USERNAME, rig_api.PASSWORD)

    # idle for two hours: the next login sweeps its row; a restarted server refuses it
    old = login(client)
    app_at.clock.advance(2 * 3600 + 1)
    client.cookies.clear()
    fresh = login(client)
    hashes = {r.token_hash for r in session_rows(app_at.url)}
    assert hashes == {hashlib.sha256(fresh.encode()).hexdigest()}  # the idle one swept
    other = app_at()
    use_cookie(other, old)
    assert other.get("/api/session").status_code == 401
    use_cookie(other, fresh)
    assert other.get("/api/session").status_code == 200


def test_a_session_expired_while_the_server_was_down_is_refused_and_swept(app_at: Apps
                                                                           ) -> None:
    first = app_at()
    cookie = login(first)
    app_at.clock.advance(12 * 3600 + 1)  # longer than the longest session, server down
    second = app_at()
    assert second.get("/api/session", cookies={"gaitrig_session": cookie}).status_code == 401
    assert session_rows(app_at.url) == []


def test_every_control_raises_the_version_the_consoles_watch(tmp_path: Path) -> None:
    live = start_server(tmp_path, simulate_activity="walking")
    try:
        versions = [rig_api.get(live.url + "/api/rig").json()["controls_version"]]

        def did(answer: httpx.Response) -> None:
            assert answer.status_code in (200, 201), answer.text
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the live message follows at once
                message = rig_api.get(live.url + "/api/live").json()
                if message["controls_version"] > versions[-1]:
                    versions.append(message["controls_version"])
                    return
                time.sleep(0.02)
            raise AssertionError(f"no new controls_version after {answer.request.url}")

        did(rig_api.post(live.url + "/api/rig/trial", json={"exercise": "walking"}))
        did(rig_api.post(live.url + "/api/rig/trial/mark", json={"note": "knee gave way"}))
        did(rig_api.post(live.url + "/api/rig/trial/pause"))
        did(rig_api.post(live.url + "/api/rig/trial/resume"))
        did(rig_api.put(live.url + "/api/rig/targets", json={"band_low": 30, "band_high": 50}))
        state = rig_api.get(live.url + "/api/rig").json()
        assert state["trial"]["marks"][0]["note"] == "knee gave way"
        did(rig_api.post(live.url + "/api/rig/trial/stop"))
        assert versions == sorted(set(versions)) and len(versions) == 7
    finally:
        live.stop()


def test_the_writer_waits_out_a_database_outage_and_stores_the_newest_state(
        database_url: str) -> None:
    from gaitrig.rig.live.rig_state import RigStateWriter
    from tests.browser.test_database_outage import database_away

    records = Records.open(database_url)
    state = {"version": 1, "exercise": "walking"}
    writer = RigStateWriter(records, "rig-1", lambda: dict(state))
    try:
        writer.changed()
        assert writer.flush(10) and writer.load() == state
        with database_away(database_url):
            state["exercise"] = "weight_shift"
            writer.changed()
            assert not writer.flush(1.0)  # the database refuses it meanwhile
            state["exercise"] = "sit_to_stand"  # a second change while away
            writer.changed()
        assert writer.flush(30)
        assert writer.load() == {"version": 1, "exercise": "sit_to_stand"}  # the newest
    finally:
        assert writer.close()
        records.close()
