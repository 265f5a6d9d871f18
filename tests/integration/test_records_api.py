"""The clinic records' REST API against the real app (no boards attached), on SQLite and on
PostgreSQL: patients, clinicians, sessions, notes, trial details, steps and load curves."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gaitrig.db import models as m
from gaitrig.db.recordings import Results
from tests import clinic_seed


@pytest.fixture
def client(clinic_client: TestClient) -> TestClient:
    return clinic_client


def add_patient(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"identifier": "MRN-1", "name": "Ana Silva", **fields}
    answer = client.post("/api/patients", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def error_fields(answer: Any) -> list[str]:
    """The field names a 422 names (the last part of each error's location)."""
    assert answer.status_code == 422, answer.text
    return [str(error["loc"][-1]) for error in answer.json()["detail"]]


def test_register_search_read_and_correct_a_patient(client: TestClient) -> None:
    ana = add_patient(client, date_of_birth="1961-04-02", amputation_side="left",
                      amputation_level="transtibial", body_mass_kg=72.5)
    add_patient(client, identifier="MRN-2", name="Bruno Costa")
    add_patient(client, identifier="X-77", name="Ana Pereira")

    page = client.get("/api/patients", params={"q": "ana"}).json()
    assert page["total"] == 2
    assert [p["name"] for p in page["items"]] == ["Ana Pereira", "Ana Silva"]
    assert client.get("/api/patients", params={"q": "ana silva"}).json()["total"] == 1
    assert client.get("/api/patients", params={"q": "mrn-2"}).json()["items"][0]["name"] \
        == "Bruno Costa"
    second = client.get("/api/patients", params={"limit": 1, "offset": 1}).json()
    assert second["total"] == 3 and [p["name"] for p in second["items"]] == ["Ana Silva"]
    item = second["items"][0]
    assert item["session_count"] == 0 and item["last_session_at"] is None

    detail = client.get(f"/api/patients/{ana['id']}").json()
    assert detail["patient"]["date_of_birth"] == "1961-04-02"
    assert detail["current_body_mass_kg"] == pytest.approx(72.5)
    assert [b["mass_kg"] for b in detail["body_masses"]] == [pytest.approx(72.5)]

    patched = client.patch(f"/api/patients/{ana['id']}",
                           json={"name": "Ana M. Silva", "amputation_cause": "vascular"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Ana M. Silva"
    assert patched.json()["amputation_level"] == "transtibial"  # untouched fields stay
    assert client.patch(f"/api/patients/{ana['id']}",
                        json={"date_of_birth": None}).json()["date_of_birth"] is None

    client.post(f"/api/patients/{ana['id']}/body-masses",
                json={"mass_kg": 74.0, "measured_on": str(date.today())})
    component = client.post(f"/api/patients/{ana['id']}/components", json={
        "kind": "foot", "description": "Ottobock Taleo", "fitted_on": "2026-09-01"})
    assert component.status_code == 201 and component.json()["kind"] == "foot"
    detail = client.get(f"/api/patients/{ana['id']}").json()
    assert detail["current_body_mass_kg"] == pytest.approx(74.0)
    assert [c["description"] for c in detail["components"]] == ["Ottobock Taleo"]


def test_duplicate_identifier_is_a_conflict_and_changes_nothing(client: TestClient) -> None:
    ana = add_patient(client)
    bruno = add_patient(client, identifier="MRN-2", name="Bruno Costa")
    again = client.post("/api/patients", json={"identifier": "MRN-1", "name": "Someone Else"})
    assert again.status_code == 409 and "MRN-1" in again.json()["detail"]
    clash = client.patch(f"/api/patients/{bruno['id']}", json={"identifier": "MRN-1"})
    assert clash.status_code == 409
    assert client.get("/api/patients").json()["total"] == 2
    assert client.get(f"/api/patients/{bruno['id']}").json()["patient"]["identifier"] == "MRN-2"
    assert client.get(f"/api/patients/{ana['id']}").json()["patient"]["name"] == "Ana Silva"
    # Keeping one's own identifier is no clash.
    assert client.patch(f"/api/patients/{ana['id']}", json={"identifier": "MRN-1"}
                        ).status_code == 200


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/patients", {"name": "No Id"}, "identifier"),
    ("/api/patients", {"identifier": "A", "name": ""}, "name"),
    ("/api/patients", {"identifier": "A", "name": "B", "amputation_side": "up"},
     "amputation_side"),
    ("/api/patients", {"identifier": "A", "name": "B", "body_mass_kg": -3}, "body_mass_kg"),
    ("/api/patients", {"identifier": "A", "name": "B", "date_of_birth": "1990-13-01"},
     "date_of_birth"),
    ("/api/patients", {"identifier": "A", "name": "B", "shoe": 42}, "shoe"),
    ("/api/patients", {"identifier": "A", "name": "B", "date_of_birth": 0}, "date_of_birth"),
    ("/api/patients", {"identifier": "A", "name": "B", "body_mass_kg": "75"}, "body_mass_kg"),
    ("/api/patients", {"identifier": 7, "name": "B"}, "identifier"),
    ("/api/patients/{id}/body-masses", {"mass_kg": 0}, "mass_kg"),
    ("/api/patients/{id}/components", {"kind": "wheel", "description": "x",
                                       "fitted_on": "2026-01-01"}, "kind"),
    ("/api/patients/{id}/notes", {"text": "ouch", "pain_score": 11}, "pain_score"),
    ("/api/patients/{id}/notes", {"text": "ouch", "pain_score": -1}, "pain_score"),
    ("/api/patients/{id}/notes", {"text": "x", "author_role": "robot"}, "author_role"),
    ("/api/patients/{id}/notes", {"text": "x", "pain_score": False}, "pain_score"),
    ("/api/patients/{id}/notes", {"text": "x", "session_id": 2**63}, "session_id"),
    ("/api/sessions", {"patient_id": "1"}, "patient_id"),
    ("/api/sessions", {"clinician_id": 1}, "patient_id"),
    ("/api/clinicians", {"name": "Kim", "role": "wizard"}, "role"),
])
def test_malformed_input_is_refused_naming_the_field(client: TestClient, path: str,
                                                     body: dict[str, Any], field: str) -> None:
    patient = add_patient(client)
    answer = client.post(path.format(id=patient["id"]), json=body)
    assert field in error_fields(answer)
    assert client.get("/api/patients").json()["total"] == 1  # nothing was added


def test_malformed_queries_and_inconsistent_input(client: TestClient) -> None:
    patient = add_patient(client)
    assert "limit" in error_fields(client.get("/api/patients", params={"limit": 0}))
    assert "offset" in error_fields(client.get("/api/patients", params={"offset": -1}))
    assert "patient_id" in error_fields(client.get(f"/api/patients/{2**63}"))  # beyond BIGINT
    future = str(date.today() + timedelta(days=3))
    refused = client.post("/api/patients", json={"identifier": "B", "name": "B",
                                                  "date_of_birth": future})
    assert refused.status_code == 422 and "date_of_birth" in refused.text
    refused = client.patch(f"/api/patients/{patient['id']}", json={"name": None})
    assert refused.status_code == 422 and "name" in refused.text
    refused = client.post(f"/api/patients/{patient['id']}/notes", json={"text": "  "})
    assert refused.status_code == 422 and "pain_score" in refused.text
    refused = client.post(f"/api/patients/{patient['id']}/components", json={
        "kind": "foot", "description": "x", "fitted_on": "2026-05-01",
        "removed_on": "2026-04-01"})
    assert refused.status_code == 422 and "removed_on" in refused.text
    assert client.get(f"/api/patients/{patient['id']}").json()["components"] == []


def test_missing_rows_are_404(client: TestClient) -> None:
    patient = add_patient(client)
    gone = patient["id"] + 100
    for method, path, body in [
        ("GET", f"/api/patients/{gone}", None),
        ("PATCH", f"/api/patients/{gone}", {"name": "X"}),
        ("DELETE", f"/api/patients/{gone}", None),
        ("GET", f"/api/patients/{gone}/trials", None),
        ("POST", f"/api/patients/{gone}/body-masses", {"mass_kg": 70}),
        ("POST", f"/api/patients/{gone}/components",
         {"kind": "foot", "description": "x", "fitted_on": "2026-01-01"}),
        ("POST", f"/api/patients/{gone}/notes", {"text": "hello"}),
        ("POST", f"/api/patients/{patient['id']}/notes", {"text": "x", "session_id": 999}),
        ("POST", "/api/sessions", {"patient_id": gone}),
        ("POST", "/api/sessions", {"patient_id": patient["id"], "clinician_id": 999}),
        ("GET", "/api/sessions/999", None),
        ("PATCH", "/api/sessions/999", {"notes": "x"}),
        ("GET", "/api/trials/999", None),
        ("GET", "/api/trials/999/steps", None),
        ("GET", "/api/trials/999/curves", None),
    ]:
        answer = client.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert "no " in answer.json()["detail"]
    assert client.get("/api/patients").json()["total"] == 1


def test_clinicians_sessions_and_notes(client: TestClient) -> None:
    sam = client.post("/api/clinicians", json={"name": "Sam Physio"}).json()
    client.post("/api/clinicians", json={"name": "Alex Limb", "role": "prosthetist"})
    # The logged-in test account is a clinician too (accounts live in `clinicians`).
    listed = [c for c in client.get("/api/clinicians").json() if c["name"] != "Test tester"]
    assert [(c["name"], c["role"]) for c in listed] == [
        ("Alex Limb", "prosthetist"), ("Sam Physio", "physiotherapist")]
    ana, bruno = add_patient(client), add_patient(client, identifier="MRN-2", name="Bruno")

    visit = client.post("/api/sessions", json={"patient_id": ana["id"],
                                               "clinician_id": sam["id"], "notes": "week 1"})
    assert visit.status_code == 201 and visit.json()["rig_id"] == "rig-1"
    session_id = visit.json()["id"]
    note = client.post(f"/api/patients/{ana['id']}/notes", json={
        "text": "sore after the long trial", "pain_score": 4, "pain_location": "residual limb",
        "session_id": session_id, "author_role": "patient"})
    assert note.status_code == 201 and note.json()["pain_score"] == 4
    client.post(f"/api/patients/{ana['id']}/notes",
                json={"pain_score": 2, "session_id": session_id})
    wrong = client.post(f"/api/patients/{bruno['id']}/notes",
                        json={"text": "x", "session_id": session_id})
    assert wrong.status_code == 422 and "not patient" in wrong.json()["detail"]

    ended = client.patch(f"/api/sessions/{session_id}", json={"ended": True, "notes": "done"})
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    again = client.patch(f"/api/sessions/{session_id}", json={"ended": True}).json()
    assert again["ended_at"] == ended.json()["ended_at"]  # the first end is kept

    detail = client.get(f"/api/sessions/{session_id}").json()
    assert detail["patient"]["name"] == "Ana Silva"
    assert detail["clinician"]["name"] == "Sam Physio"
    assert detail["session"]["notes"] == "done"
    assert [n["pain_score"] for n in detail["notes"]] == [4, 2]
    patient = client.get(f"/api/patients/{ana['id']}").json()
    (point,) = patient["progress"]
    assert point["pain_score_mean"] == pytest.approx(3.0) and point["pain_score_max"] == 4
    assert [s["id"] for s in patient["sessions"]] == [session_id]
    listed_ana = client.get("/api/patients", params={"q": "Silva"}).json()["items"][0]
    assert listed_ana["session_count"] == 1 and listed_ana["last_session_at"] is not None


def seed(client: TestClient) -> tuple[int, list[int], list[clinic_seed.SeededTrial]]:
    return clinic_seed.seed_through(client)


def test_progress_across_sessions_and_the_patients_trials(client: TestClient) -> None:
    patient_id, session_ids, seeded = seed(client)
    detail = client.get(f"/api/patients/{patient_id}").json()
    progress = detail["progress"]
    assert [p["session_id"] for p in progress] == session_ids  # oldest first
    assert [p["pain_score_max"] for p in progress] == [6, 4, 2, 0]
    lines = {(s["metric"], s["exercise"]): s["points"] for s in detail["progress_series"]}
    share = lines["prosthetic_load_share_pct", "walking"]  # the seeded trials walk
    assert [p["session_id"] for p in share] == session_ids
    assert [p["value"] for p in share] == pytest.approx([30.0 + 6.0 * week for week in range(4)])
    assert [p["value"] for p in lines["pain_score_max", None]] == [6, 4, 2, 0]
    assert ("prosthetic_load_share_pct", "quiet_standing") not in lines  # nobody stood
    trials = client.get(f"/api/patients/{patient_id}/trials").json()
    assert [t["id"] for t in trials] == [s.id for s in seeded]
    assert trials[0]["metrics"]["step_count"] == len(seeded[0].steps)


def test_trial_detail_and_steps(client: TestClient) -> None:
    _, _, seeded = seed(client)
    trial = seeded[1]
    detail = client.get(f"/api/trials/{trial.id}").json()
    assert detail["footwear"] == "own trainers"
    assert detail["recorded_frames"]["insole_left"] == len(trial.results)
    assert {d["role"] for d in detail["devices"]} == {"insole_left", "insole_right", "bars"}
    assert detail["metrics"]["prosthetic_load_share_pct"] == pytest.approx(36.0)
    steps = client.get(f"/api/trials/{trial.id}/steps").json()
    assert [(s["step_index"], s["foot"], s["heel_strike_s"]) for s in steps] == [
        (s["step_index"], s["foot"], pytest.approx(s["heel_strike_s"])) for s in trial.steps]
    assert all(s["prosthetic"] == (s["foot"] == "left") for s in steps)


def test_load_curves_are_recorded_samples_keeping_the_peaks(client: TestClient) -> None:
    _, _, seeded = seed(client)
    trial = seeded[3]
    results = trial.results
    n = len(results)
    curves = client.get(f"/api/trials/{trial.id}/curves", params={"max_points": 400}).json()
    assert curves["stored_rows"] == n and curves["body_mass_kg"] == pytest.approx(80.0)
    time_s = np.array(curves["time_s"])
    assert 100 < len(time_s) <= 400
    assert np.all(np.diff(time_s) > 0)
    assert time_s[0] == 0.0 and time_s[-1] == pytest.approx((n - 1) / clinic_seed.RATE_HZ)
    index = np.rint(time_s * clinic_seed.RATE_HZ).astype(int)  # each point is a sample
    np.testing.assert_allclose(time_s, results.host_time_s[index] - results.host_time_s[0],
                               atol=1e-9)
    for name in ("left_foot_pct_bw", "right_foot_pct_bw", "left_bar_pct_bw",
                 "left_cop_y_mm"):
        stored = results.values[name][index].astype(np.float64)
        shown = np.array([np.nan if v is None else v for v in curves["series"][name]])
        np.testing.assert_allclose(shown, stored, rtol=1e-6, equal_nan=True)
    for name in ("left_foot_pct_bw", "right_foot_pct_bw"):  # the peaks survive
        assert max(curves["series"][name]) == pytest.approx(
            float(np.max(results.values[name])), rel=1e-6)
        assert max(curves["series"][name]) == pytest.approx(trial.peak_pct_bw, rel=1e-3)
    # a lifted foot has no centre of pressure
    swing = (time_s % clinic_seed.STRIDE_S) > clinic_seed.STANCE_S * 1.01
    cop_y = curves["series"]["left_cop_y_mm"]
    assert swing.sum() > 10 and all(cop_y[i] is None for i in np.flatnonzero(swing))
    assert all(cop_y[i] is not None for i in np.flatnonzero(~swing & (time_s % 1.2 < 0.7)))

    everything = client.get(f"/api/trials/{trial.id}/curves",
                            params={"max_points": 20_000}).json()
    assert len(everything["time_s"]) == n
    assert "max_points" in error_fields(
        client.get(f"/api/trials/{trial.id}/curves", params={"max_points": 2}))


def test_curves_from_forces_in_newtons_use_the_trials_body_mass(client: TestClient) -> None:
    records = client.app.state.records  # type: ignore[attr-defined]
    with records.sessions() as session:
        _, session_ids, _ = clinic_seed.seed_patient_history(session, weeks=1)
        trial = clinic_seed.seed_trial(session, session_ids[0], with_recording=False,
                                       body_mass_kg=50.0)
        t = np.arange(500) / 100.0
        newtons = {"left_foot_n": 490.3325 * np.abs(np.sin(t)),  # 100 % BW of 50 kg at peak
                   "right_foot_n": np.full(500, 245.16625), "left_bar_n": np.zeros(500),
                   "right_bar_n": np.zeros(500)}
        clinic_seed.write_recording(session, trial.id, Results(t, newtons), {})
    curves = client.get(f"/api/trials/{trial.id}/curves").json()
    np.testing.assert_allclose(curves["series"]["left_foot_pct_bw"],
                               100.0 * np.abs(np.sin(t)), rtol=1e-9)
    np.testing.assert_allclose(curves["series"]["right_foot_pct_bw"], 50.0, rtol=1e-9)
    assert curves["time_s"] == pytest.approx(list(t))


def test_erasing_a_patient_removes_everything_of_theirs_only(client: TestClient) -> None:
    patient_id, _, seeded = seed(client)
    other = add_patient(client, identifier="KEEP-1", name="Other Patient")
    records = client.app.state.records  # type: ignore[attr-defined]

    def count(model: Any) -> int:
        with records.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    assert count(m.RecordingChunk) > 0 and count(m.StepEvent) > 0
    assert client.delete(f"/api/patients/{patient_id}").status_code == 204
    assert client.get(f"/api/patients/{patient_id}").status_code == 404
    assert client.get(f"/api/trials/{seeded[0].id}").status_code == 404
    for model in (m.TrainingSession, m.Trial, m.RecordingChunk, m.ResultChunk, m.StepEvent,
                  m.TrialMetric, m.Note, m.BodyMass, m.TrialDevice):
        assert count(model) == 0, model.__tablename__
    assert client.get("/api/patients").json()["items"][0]["id"] == other["id"]
    assert count(m.Clinician) == 2  # the clinic's staff (and the test account) are not theirs
    assert client.delete(f"/api/patients/{patient_id}").status_code == 404


def test_stance_curves_follow_the_closed_form_step(client: TestClient) -> None:
    _, _, seeded = seed(client)
    trial = seeded[2]
    curves = client.get(f"/api/trials/{trial.id}/stance-curves",
                        params={"side": "prosthetic", "points": 51}).json()
    prosthetic = [s["step_index"] for s in trial.steps if s["foot"] == "left"]
    assert curves["step_indices"] == prosthetic
    x = np.array(curves["stance_pct"]) / 100
    assert x[0] == 0 and x[-1] == 1 and len(x) == 51
    expected = trial.peak_pct_bw * np.sin(np.pi * x)  # each stance is one half sine
    # at most one sample period (1 ms) off where a step's edge falls between two samples:
    # the curve's steepest slope times that period
    one_sample = trial.peak_pct_bw * np.pi / clinic_seed.STANCE_S / clinic_seed.RATE_HZ
    np.testing.assert_allclose(curves["mean_pct_bw"], expected, atol=one_sample)
    for row in curves["steps_pct_bw"]:
        np.testing.assert_allclose(row, expected, atol=one_sample)
    assert max(curves["mean_pct_bw"]) == pytest.approx(trial.peak_pct_bw, rel=1e-3)
    sound = client.get(f"/api/trials/{trial.id}/stance-curves", params={"side": "sound"}).json()
    assert sound["step_indices"] == [s["step_index"] for s in trial.steps if s["foot"] == "right"]
    assert "side" in error_fields(client.get(f"/api/trials/{trial.id}/stance-curves",
                                             params={"side": "middle"}))
    assert client.get("/api/trials/999/stance-curves").status_code == 404


def test_every_records_route_is_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path, method in [
        ("/api/patients", "get"), ("/api/patients", "post"), ("/api/patients/{patient_id}", "get"),
        ("/api/patients/{patient_id}", "patch"), ("/api/patients/{patient_id}", "delete"),
        ("/api/patients/{patient_id}/body-masses", "post"),
        ("/api/patients/{patient_id}/components", "post"),
        ("/api/patients/{patient_id}/notes", "post"), ("/api/clinicians", "get"),
        ("/api/clinicians", "post"), ("/api/sessions", "post"),
        ("/api/sessions/{session_id}", "get"), ("/api/sessions/{session_id}", "patch"),
        ("/api/trials/{trial_id}", "get"), ("/api/trials/{trial_id}/steps", "get"),
        ("/api/trials/{trial_id}/curves", "get"),
    ]:
        assert method in paths.get(path, {}), (method, path)
    curves = paths["/api/trials/{trial_id}/curves"]["get"]
    assert "LoadCurves" in str(curves["responses"]["200"])  # a typed answer, not "any"
