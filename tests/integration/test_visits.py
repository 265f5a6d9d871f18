"""A patient's visit on the rig reaches the records: one session per patient per day, every
trial in it with its clinician and footwear, unassigned trials assigned afterwards. Real server,
virtual rig, real database (SQLite and PostgreSQL for the session rules)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaitrig.db import models as m
from gaitrig.db import sessions, trials
from gaitrig.rig.clinic.visits import Visits, day_start
from gaitrig.rig.records import Records
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer


def new_patient(url: str, identifier: str, mass_kg: float = 80.0) -> int:
    answer = rig_api.post(url + "/api/patients", json={
        "identifier": identifier, "name": f"Patient {identifier}", "amputation_side": "left",
        "amputation_level": "transtibial", "body_mass_kg": mass_kg})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def confirm(url: str, patient_id: int | None, name: str = "Ana") -> dict[str, Any]:
    answer = rig_api.put(url + "/api/rig/patient", json={
        "display_name": name, "body_mass_kg": 80.0, "prosthetic_side": "left",
        "patient_id": patient_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def short_trial(url: str, exercise: str = "walking", seconds: float = 1.5) -> int:
    started = rig_api.post(url + "/api/rig/trial", json={"exercise": exercise})
    assert started.status_code == 201, started.text
    trial_id = int(started.json()["trial"]["id"])
    time.sleep(seconds)
    assert rig_api.post(url + "/api/rig/trial/stop").status_code == 200
    return trial_id


@pytest.fixture
def live(server_factory: Any) -> LiveServer:
    server: LiveServer = server_factory(simulate_activity="walking", body_mass_kg=80.0)
    return server


def test_a_visit_from_confirmation_to_the_session_page(live: LiveServer) -> None:
    url = live.url
    me = rig_api.get(url + "/api/session").json()
    ana = new_patient(url, "V-1")
    state = confirm(url, ana)
    visit = state["session"]
    assert visit is not None and visit["patient_id"] == ana
    assert visit["clinician_id"] == me["clinician_id"]
    assert state["footwear"] is None and state["footwear_last"] is None
    shoes = rig_api.put(url + "/api/rig/footwear", json={"footwear": "own trainers"}).json()
    assert shoes["footwear"] == "own trainers"
    first = short_trial(url, "walking")
    again = confirm(url, ana)  # the same patient confirmed again that day: the same session
    assert again["session"]["id"] == visit["id"]
    assert again["footwear"] == "own trainers"  # the same patient keeps the shoes confirmed
    assert again["footwear_last"] == "own trainers"
    rig_api.put(url + "/api/rig/footwear", json={"footwear": "hospital slippers"})
    second = short_trial(url, "quiet_standing")
    detail = rig_api.get(f"{url}/api/sessions/{visit['id']}").json()
    assert [t["id"] for t in detail["trials"]] == [first, second]
    assert detail["patient"]["id"] == ana and detail["clinician"]["id"] == me["clinician_id"]
    assert [t["footwear"] for t in detail["trials"]] == ["own trainers", "hospital slippers"]
    assert [t["exercise"] for t in detail["trials"]] == ["walking", "quiet_standing"]
    trial = rig_api.get(f"{url}/api/trials/{first}").json()
    assert trial["patient_id"] == ana and trial["session_id"] == visit["id"]
    assert trial["clinician_id"] == me["clinician_id"]
    assert detail["session"]["ended_at"] is None

    ended = rig_api.post(url + "/api/rig/session/end")
    assert ended.status_code == 200 and ended.json()["session"] is None
    detail = rig_api.get(f"{url}/api/sessions/{visit['id']}").json()
    last_end = detail["trials"][-1]["ended_at"]
    assert detail["session"]["ended_at"] == last_end  # ended at its last trial's end
    assert rig_api.post(url + "/api/rig/session/end").status_code == 409  # none open now


def test_another_patient_ends_the_open_session(live: LiveServer) -> None:
    url = live.url
    ana, ben = new_patient(url, "V-2"), new_patient(url, "V-3")
    first = confirm(url, ana)["session"]["id"]
    short_trial(url)
    rig_api.put(url + "/api/rig/footwear", json={"footwear": "Ana's shoes"})
    ben_state = confirm(url, ben, "Ben")
    second = ben_state["session"]
    assert second["id"] != first and second["patient_id"] == ben
    assert ben_state["footwear"] is None  # another patient: their shoes are asked again
    ana_visit = rig_api.get(f"{url}/api/sessions/{first}").json()
    assert ana_visit["session"]["ended_at"] is not None
    live.controller.wait_for_recording()
    ana_visit = rig_api.get(f"{url}/api/sessions/{first}").json()
    # At its last trial's end, or (its end still being written when Ben was confirmed) just
    # after it.
    session_end = datetime.fromisoformat(ana_visit["session"]["ended_at"])
    trial_end = datetime.fromisoformat(ana_visit["trials"][-1]["ended_at"])
    assert timedelta(0) <= session_end - trial_end < timedelta(seconds=5)
    sessions_of_ana = rig_api.get(f"{url}/api/patients/{ana}").json()["sessions"]
    assert [s["id"] for s in sessions_of_ana] == [first]
    assert sessions_of_ana[0]["trial_count"] == 1


def test_a_trial_with_no_patient_is_unassigned_then_assigned(live: LiveServer) -> None:
    url = live.url
    ana = new_patient(url, "V-4")
    confirm(url, ana)
    confirm(url, None, "Demo")  # a demo patient, not from the records: no session
    state = rig_api.get(url + "/api/rig").json()
    assert state["session"] is None
    loose = short_trial(url)
    listed = rig_api.get(url + "/api/unassigned-trials").json()
    assert [t["id"] for t in listed] == [loose]
    assert rig_api.get(f"{url}/api/trials/{loose}").json()["patient_id"] is None
    bad = rig_api.post(f"{url}/api/unassigned-trials/{loose}/assign", json={})
    assert bad.status_code == 422 and "session_id or a patient_id" in bad.text
    visit = rig_api.post(f"{url}/api/unassigned-trials/{loose}/assign",
                         json={"patient_id": ana})
    assert visit.status_code == 200, visit.text
    assert visit.json()["patient_id"] == ana
    assert rig_api.get(url + "/api/unassigned-trials").json() == []
    trial = rig_api.get(f"{url}/api/trials/{loose}").json()
    assert trial["patient_id"] == ana and trial["session_id"] == visit.json()["id"]
    twice = rig_api.post(f"{url}/api/unassigned-trials/{loose}/assign",
                         json={"patient_id": ana})
    assert twice.status_code == 409  # a trial never moves between patients silently
    audit = rig_api.get(url + "/api/audit").json()
    assigned = [e for e in audit if e["action"] == "trial.assign"]
    assert assigned and assigned[0]["details"]["trial_id"] == loose


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_idle_sessions_end_at_their_last_trial_and_a_new_day_opens_a_new_one(
        database_url: str) -> None:
    records = Records.open(database_url)
    try:
        morning = day_start(datetime(2026, 3, 2, 12, 0, tzinfo=UTC)) + timedelta(hours=9)
        clock = Clock(morning)
        visits = Visits(records, "rig-1", idle_end_s=3600, clock=clock)
        with records.sessions() as db:
            patient = m.Patient(identifier="I-1", name="Idle", created_at=morning)
            db.add(patient)
            db.commit()
            patient_id = patient.id
        visit = visits.confirm(patient_id, None)
        with records.sessions() as db:
            trial = trials.start_trial(db, "rig-1", "walking", session_id=visit.id)
            trial.started_at = morning + timedelta(minutes=5)
            trial.ended_at = morning + timedelta(minutes=7)
            db.commit()
        clock.now = morning + timedelta(minutes=50)  # 43 min after the trial: not idle yet
        assert visits.end_idle() == []
        clock.now = morning + timedelta(minutes=68)  # 61 min after it: idle
        assert visits.end_idle() == [visit.id]
        with records.sessions() as db:
            row = db.get(m.TrainingSession, visit.id)
            assert row is not None and row.ended_at == morning + timedelta(minutes=7)
        clock.now = morning + timedelta(hours=3)  # the same day again: the visit resumes
        assert visits.confirm(patient_id, None).id == visit.id
        clock.now = morning + timedelta(days=1)  # the next day: a session of its own
        tomorrow = visits.confirm(patient_id, None)
        assert tomorrow.id != visit.id
        with records.sessions() as db:
            listed = sessions.list_sessions(db, patient_id)
            assert len(listed) == 2
            row = db.get(m.TrainingSession, visit.id)
            assert row is not None and row.ended_at == morning + timedelta(minutes=7)
    finally:
        records.close()


def test_a_patient_not_in_the_records_is_refused_and_nothing_changes(live: LiveServer) -> None:
    url = live.url
    ana = new_patient(url, "V-5")
    before = confirm(url, ana)
    answer = rig_api.put(url + "/api/rig/patient", json={
        "display_name": "Ghost", "body_mass_kg": 70.0, "prosthetic_side": "right",
        "patient_id": 999_999})
    assert answer.status_code == 404 and "999999 is not in the records" in answer.text
    state = rig_api.get(url + "/api/rig").json()
    assert state["patient"]["patient_id"] == ana and state["patient"]["display_name"] == "Ana"
    assert state["session"]["id"] == before["session"]["id"]  # still open, not ended


def test_the_visit_and_its_shoes_survive_a_restart(server_factory: Any) -> None:
    first: LiveServer = server_factory(simulate_activity="walking", body_mass_kg=80.0)
    ana = new_patient(first.url, "V-6")
    visit = confirm(first.url, ana)["session"]
    rig_api.put(first.url + "/api/rig/footwear", json={"footwear": "own trainers"})
    trial = short_trial(first.url)
    first.controller.wait_for_recording()
    first.stop()
    second: LiveServer = server_factory(simulate_activity="walking", body_mass_kg=80.0)
    state = rig_api.get(second.url + "/api/rig").json()
    assert state["patient"]["patient_id"] == ana
    assert state["session"] is not None and state["session"]["id"] == visit["id"]
    assert state["footwear"] == "own trainers"
    after = short_trial(second.url)  # goes on in the same session, with the same shoes
    detail = rig_api.get(f"{second.url}/api/sessions/{visit['id']}").json()
    assert [t["id"] for t in detail["trials"]] == [trial, after]
    assert [t["footwear"] for t in detail["trials"]] == ["own trainers"] * 2


@pytest.mark.browser
def test_an_unassigned_trial_is_assigned_on_the_records_page(live: LiveServer,
                                                              chromium_browser: Any,
                                                              artifacts: Any) -> None:
    url = live.url
    ana = new_patient(url, "V-7")
    confirm(url, ana)
    short_trial(url)  # Ana's session of today
    visit = rig_api.get(url + "/api/rig").json()["session"]["id"]
    rig_api.post(url + "/api/rig/session/end")
    confirm(url, None, "Demo")
    loose = short_trial(url)  # a quick check with nobody from the records
    live.controller.wait_for_recording()
    context = chromium_browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        rig_api.goto(page, url + "/history")
        row = page.locator(f"#unassigned-table tr[data-trial-id='{loose}']")
        row.wait_for()
        assert "walking" in row.inner_text()
        row.locator("select.assign-patient").select_option(str(ana))
        sessions_select = row.locator("select.assign-session")
        sessions_select.locator(f"option[value='{visit}']").wait_for(state="attached")
        sessions_select.select_option(str(visit))
        page.screenshot(path=str(artifacts / "records-unassigned-trial.png"), full_page=True)
        row.locator("button", has_text="Assign").click()
        page.wait_for_selector("#unassigned", state="hidden")
    finally:
        context.close()
    detail = rig_api.get(f"{url}/api/sessions/{visit}").json()
    assert loose in [t["id"] for t in detail["trials"]]
    assert rig_api.get(url + "/api/unassigned-trials").json() == []
