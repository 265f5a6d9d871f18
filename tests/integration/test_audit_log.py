"""The audit log: who changed targets, patients and calibrations, when (UTC), what (no names);
listed for administrators only. On a real server with the virtual rig, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer

NAME = "Ingeborg Wolkenstein-Ferreira"


def test_changes_are_audited_by_clinician_without_names(server_factory: Any,
                                                        database_url: str) -> None:
    live: LiveServer = server_factory(database_url=database_url, simulate_activity="off_rig")
    admin_id = rig_api.ensure_account(database_url)
    therapist_id = rig_api.ensure_account(database_url, "ther", rig_api.PASSWORD, "therapist")
    therapist = rig_api.login(live.url, "ther", rig_api.PASSWORD)
    before = datetime.now(UTC) - timedelta(seconds=1)

    patient = therapist.post("/api/patients", json={"identifier": "MRN-77", "name": NAME,
                                                    "body_mass_kg": 70.0})
    assert patient.status_code == 201, patient.text
    patient_id = patient.json()["id"]
    assert therapist.patch(f"/api/patients/{patient_id}",
                           json={"name": NAME + " Jr", "notes": "x"}).status_code == 200
    assert therapist.post(f"/api/patients/{patient_id}/body-masses",
                          json={"mass_kg": 71.5}).status_code == 201
    assert therapist.put("/api/rig/patient", json={
        "display_name": "Inge", "body_mass_kg": 71.5, "prosthetic_side": "left",
        "patient_id": patient_id}).status_code == 200
    assert therapist.put("/api/rig/targets", json={"band_low": 40, "band_high": 55,
                                                   "limit": 70}).status_code == 200
    assert therapist.post("/api/rig/tare").status_code == 200
    assert therapist.post("/api/rig/calibration/insoles").status_code in (200, 409)
    assert rig_api.put(live.url + "/api/rig/targets",  # the admin changes them too
                       json={"band_low": 45, "band_high": 60}).status_code == 200
    refused = therapist.get("/api/audit")
    assert refused.status_code == 403  # therapists may not read the log

    events = rig_api.get(live.url + "/api/audit").json()
    # The test harness made the display link (LiveServer.ws_url) as the admin: audited too.
    assert ("display_link.issue", admin_id) in [(e["action"], e["clinician_id"]) for e in events]
    events = [e for e in events if not e["action"].startswith("display_link.")]
    actions = [(e["action"], e["clinician_id"]) for e in reversed(events)]
    expected = [("patient.create", therapist_id), ("patient.edit", therapist_id),
                ("patient.body_mass", therapist_id), ("rig.patient", therapist_id),
                ("rig.targets", therapist_id), ("calibration.tare", therapist_id)]
    assert actions[:len(expected)] == expected
    assert actions[-1] == ("rig.targets", admin_id)
    by_action = {e["action"]: e for e in events}
    assert by_action["patient.body_mass"]["details"]["mass_kg"] == 71.5
    assert by_action["patient.edit"]["details"] == {"patient_id": patient_id,
                                                    "fields": ["name", "notes"]}
    assert by_action["calibration.tare"]["details"]["accepted"] is True
    assert events[0]["details"]["band_low"] == 45  # newest first
    for event in events:
        at = datetime.fromisoformat(event["at"])
        assert at.utcoffset() == timedelta(0) and before <= at <= datetime.now(UTC)
        assert event["rig_id"] == live.settings.rig_id
    text = json.dumps(events)
    assert "Ingeborg" not in text and "Wolkenstein" not in text and "Inge" not in text
    newest_two = rig_api.get(live.url + "/api/audit", params={"limit": 2}).json()
    assert [e["id"] for e in newest_two] == [e["id"] for e in events[:2]]
