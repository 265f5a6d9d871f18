"""Request bodies no database can store are a 422 on every database, never a 500 (issue 15,
part 7): JSON's NaN and Infinity (Python's parser takes them), a lone surrogate, a NUL byte."""

from __future__ import annotations

from typing import Any

import pytest

from gaitrig.testing import rig_api

JSON = {"content-type": "application/json"}
LOC_CHARS = 64  # gaitrig.web_ui.api_input.LOC_PART_CHARS
#: Raw JSON texts: what a browser's JSON.stringify never sends, but a script can.
PATIENTS = [
    ('{"identifier": "MRN-1", "name": "Ana\\u0000Rao"}', "NUL"),
    ('{"identifier": "MRN-1", "name": "Ana \\ud800"}', "unicode"),
    ('{"identifier": "MRN-\\udfff", "name": "Ana Rao"}', "unicode"),
]


def _patient_body(client: Any) -> dict[str, Any]:
    answer = client.post("/api/patients", json={"identifier": "MRN-7", "name": "Ana Rao"})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


@pytest.mark.parametrize(("body", "why"), PATIENTS)
def test_text_no_database_stores_is_refused_by_name(clinic_client: Any, body: str,
                                                    why: str) -> None:
    answer = clinic_client.post("/api/patients", content=body, headers=JSON)
    assert answer.status_code == 422, answer.text
    assert why in answer.text
    assert clinic_client.get("/api/patients").json()["total"] == 0  # nothing half-stored


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_numbers_that_are_not_finite_are_refused(clinic_client: Any, number: str) -> None:
    patient = _patient_body(clinic_client)
    answer = clinic_client.post(f"/api/patients/{patient['id']}/body-masses",
                                content=f'{{"mass_kg": {number}}}', headers=JSON)
    assert answer.status_code == 422, answer.text
    note = clinic_client.post(f"/api/patients/{patient['id']}/notes",
                              content=f'{{"text": "ok", "pain_score": {number}}}', headers=JSON)
    assert note.status_code == 422, note.text
    # the same text with a finite number is stored
    answer = clinic_client.post(f"/api/patients/{patient['id']}/body-masses",
                                content='{"mass_kg": 71.5}', headers=JSON)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("number", ["Infinity", "NaN"])
def test_an_infinite_band_is_refused_and_the_live_feed_goes_on(live_server: str,
                                                              number: str) -> None:
    """An infinite band passed ``ge=0`` and then the rig could not encode its state: 500."""
    before = rig_api.get(live_server + "/api/rig").json()["targets"]
    answer = rig_api.put(live_server + "/api/rig/targets", headers=JSON,
                         content=f'{{"band_low": 20, "band_high": {number}}}')
    assert answer.status_code == 422, answer.text
    assert rig_api.get(live_server + "/api/rig").json()["targets"] == before
    live = rig_api.get(live_server + "/api/live")
    assert live.status_code == 200 and live.json()["type"] == "live"


def test_a_refused_body_is_never_echoed(clinic_client: Any) -> None:
    """FastAPI's own 422 copies each refused value into the answer (an 8 MB body came back);
    ours names the field and the reason only."""
    big = "x" * 200_000
    answer = clinic_client.post("/api/patients", json={"identifier": "MRN-1", "name": "A",
                                                       big[:100]: 1, "notes": 5})
    assert answer.status_code == 422
    assert len(answer.content) < 2_000, len(answer.content)
    assert big[:LOC_CHARS + 1] not in answer.text
    locs = [tuple(error["loc"]) for error in answer.json()["detail"]]
    assert ("body", "notes") in locs
    answer = clinic_client.post("/api/patients", json={"identifier": big, "name": "A"})
    assert answer.status_code == 422 and len(answer.content) < 2_000
    assert answer.json()["detail"][0]["loc"] == ["body", "identifier"]
