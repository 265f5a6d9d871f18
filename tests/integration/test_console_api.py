"""The therapist's controls through the REST API, against the real server and virtual rig."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer


def wait_for(predicate: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def live(server_factory: Any) -> LiveServer:
    server: LiveServer = server_factory(simulate_activity="off_rig", body_mass_kg=80.0)
    return server


def test_tare_with_nobody_on_the_rig_and_refused_while_the_bars_move(live: LiveServer) -> None:
    time.sleep(1.2)  # a second of quiet bars
    tared = rig_api.post(live.url + "/api/rig/tare").json()
    assert tared["accepted"], tared["reason"]
    rig_api.post(live.url + "/api/simulator/activity", json={"activity": "walking"})
    time.sleep(2.5)
    refused = rig_api.post(live.url + "/api/rig/tare").json()
    assert not refused["accepted"]
    assert "bar" in refused["reason"].lower() or "post" in refused["reason"].lower()


def test_insole_body_weight_calibration_wizard(live: LiveServer) -> None:
    url = live.url
    assert rig_api.post(url + "/api/rig/calibration/insoles").status_code == 409  # nothing yet
    for phase, activity in (("both", "standing"), ("left", "standing_on_left"),
                            ("right", "standing_on_right")):
        rig_api.post(url + "/api/simulator/activity", json={"activity": activity})
        time.sleep(3.2)  # the blend into the new posture, then two steady seconds
        captured = rig_api.post(f"{url}/api/rig/calibration/insoles/{phase}").json()
        assert captured["phase"] == phase and captured["samples"] > 1000
    result = rig_api.post(url + "/api/rig/calibration/insoles").json()
    assert result["accepted"], result["reason"]


def test_patient_targets_and_a_whole_trial(live: LiveServer) -> None:
    url = live.url
    state = rig_api.put(url + "/api/rig/patient", json={
        "display_name": "Ana", "body_mass_kg": 80.0, "prosthetic_side": "left",
        "amputation_level": "transtibial"}).json()
    assert state["patient"]["display_name"] == "Ana"
    bad = rig_api.put(url + "/api/rig/targets", json={"unit": "kg", "band_low": 50,
                                                     "band_high": 30})
    assert bad.status_code == 422 and "band_low" in bad.text
    state = rig_api.put(url + "/api/rig/targets", json={
        "unit": "kg", "band_low": 32, "band_high": 48, "limit": 60,
        "max_hand_support": 30}).json()
    assert state["targets"]["band_low_pct_bw"] == pytest.approx(40.0)
    assert state["targets"]["limit_pct_bw"] == pytest.approx(75.0)
    assert rig_api.post(url + "/api/rig/trial/pause").status_code == 409  # none started

    started = rig_api.post(url + "/api/rig/trial", json={"exercise": "walking"})
    assert started.status_code == 201
    trial_id = started.json()["trial"]["id"]
    assert rig_api.post(url + "/api/rig/trial", json={}).status_code == 409  # one at a time
    wait_for(lambda: (live.controller.latest or {}).get("left_foot_n") is not None)
    state = live.controller.latest
    assert state is not None and state["exercise"] == "walking"
    assert state["left_band_pct_bw"] == [40.0, 60.0] and state["right_band_pct_bw"] is None
    assert state["left_limit_pct_bw"] == pytest.approx(75.0)
    assert rig_api.post(url + "/api/rig/trial/mark", json={"note": "stumbled"}).status_code == 201
    assert rig_api.post(url + "/api/rig/trial/pause").json()["trial"]["state"] == "paused"
    assert rig_api.post(url + "/api/rig/trial/resume").json()["trial"]["state"] == "running"
    time.sleep(1.0)
    summary = rig_api.post(url + "/api/rig/trial/stop").json()
    assert summary["trial_id"] == trial_id and summary["marks"][0]["note"] == "stumbled"
    assert summary["bar_reliance_mean_pct_bw"] > 0
    def stored() -> dict[str, Any]:  # the recorder stores the end as it finishes the trial
        return {t["id"]: t for t in rig_api.get(url + "/api/trials").json()}[trial_id]  # type: ignore[no-any-return]

    wait_for(lambda: stored()["ended_at"] is not None, timeout_s=60)
    assert stored()["exercise"] == "walking"
    assert rig_api.post(url + "/api/rig/trial/stop").status_code == 409


def test_feedback_switches_reach_the_live_message(live: LiveServer) -> None:
    rig_api.put(live.url + "/api/rig/feedback", json={"muted": True, "volume_pct": 30})
    wait_for(lambda: (live.controller.latest or {}).get("feedback", {}).get("muted") is True)
    assert live.controller.latest is not None
    assert live.controller.latest["feedback"]["volume_pct"] == 30
    assert rig_api.put(live.url + "/api/rig/feedback",
                     json={"volume_pct": 101}).status_code == 422


def test_the_limit_alarm_starts_and_is_stored_with_the_trial(live: LiveServer) -> None:
    url = live.url
    rig_api.put(url + "/api/rig/targets", json={"band_low": 20, "band_high": 40, "limit": 50})
    rig_api.post(url + "/api/rig/trial", json={"exercise": "partial_weight_bearing"})
    wait_for(lambda: (live.controller.latest or {}).get("alarm", {}).get("active") is True, 10)
    time.sleep(0.5)
    summary = rig_api.post(url + "/api/rig/trial/stop").json()
    assert summary["alarms"] and summary["alarms"][0]["kind"] == "over_limit"
    assert summary["alarms"][0]["peak_pct_bw"] > 50
