"""Calibrations that last (issue 12, part 3), through the REST API of a real server on the
virtual rig: the bars' known-weight step, each board's calibration stored with who and when and
loaded again by a new server on the same database (SQLite and PostgreSQL), and the insole
calibration asking to repeat only the phase that went wrong."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from gaitrig.processing.units import STANDARD_GRAVITY
from gaitrig.testing import rig_api
from gaitrig.testing.rig_api import USERNAME
from gaitrig.testing.server import LiveServer

#: The virtual patient blends into a new posture over 1 s, and a capture keeps the last 2 s.
PHASE_SETTLE_S = 3.2
#: A tare and a known-weight measurement use the last second of the bars' readings.
BARS_SETTLE_S = 1.3
#: Post 2 (right front) of the simulated rig is this much more sensitive than its datasheet:
#: the nominal gain is 8 % off, the known-weight calibration must find the truth.
SENSITIVITY_ERROR = 1.08
POST = 2
MASS_KG = 10.0


def wait_for(predicate: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def boards(url: str) -> dict[str, dict[str, Any]]:
    return {b["role"]: b for b in rig_api.get(url + "/api/rig").json()["boards_calibration"]}


def miscalibrate_post(live: LiveServer) -> float:
    """Make the simulated post :data:`POST` more sensitive than nominal; its true gain (N/count)."""
    rig = live.controller.virtual_rig
    assert rig is not None
    rig.load_cells.counts_per_newton[POST] *= SENSITIVITY_ERROR
    return 1.0 / float(rig.load_cells.counts_per_newton[POST])


def place(url: str, post: int, mass_kg: float) -> None:
    answer = rig_api.post(url + "/api/simulator/weight", json={"post": post, "mass_kg": mass_kg})
    assert answer.status_code == 200, answer.text
    time.sleep(BARS_SETTLE_S)


def tare(url: str) -> dict[str, Any]:
    time.sleep(BARS_SETTLE_S)
    answer: dict[str, Any] = rig_api.post(url + "/api/rig/tare").json()
    assert answer["accepted"], answer["reason"]
    return answer


def test_bars_known_weight_step_finds_the_true_gain(server_factory: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="off_rig")
    url = live.url
    true_gain = miscalibrate_post(live)
    assert live.controller.calibration is not None
    nominal_gain = float(live.controller.calibration.bars.newtons_per_count[POST])
    assert abs(nominal_gain / true_gain - 1.0) > 0.07  # the nominal gain is really off
    assert boards(url)["bars"]["calibration"] == "none"
    tare(url)

    # The weight on another post than the one named: refused, the gain unchanged.
    place(url, POST + 1, MASS_KG)
    wrong = rig_api.post(url + "/api/rig/calibration/bars",
                         json={"mass_kg": MASS_KG, "post": POST}).json()
    assert not wrong["accepted"]
    assert "right front post" in wrong["reason"]
    assert wrong["newtons_per_count"][POST] == pytest.approx(nominal_gain, rel=1e-12)

    place(url, POST + 1, 0.0)
    place(url, POST, MASS_KG)
    answer = rig_api.post(url + "/api/rig/calibration/bars",
                          json={"mass_kg": MASS_KG, "post": POST}).json()
    assert answer["accepted"], answer["reason"]
    assert answer["method"] == "known_weight_on_post"
    assert answer["newtons_per_count"][POST] == pytest.approx(true_gain, rel=2e-3)
    assert live.controller.calibration.bars.newtons_per_count[POST] == pytest.approx(
        true_gain, rel=2e-3)
    # The live loads now read the weight right: 10 kg on the right bar.
    wait_for(lambda: abs((live.controller.latest or {}).get("right_bar_n", 0.0)
                         - MASS_KG * STANDARD_GRAVITY) < 1.0)
    bars = answer["boards_calibration"][[b["role"] for b in answer["boards_calibration"]]
                                        .index("bars")]
    assert bars["calibration"] == "stored" and bars["kind"] == "known_weight"
    assert bars["by"] == f"Test {USERNAME}" and bars["age_s"] < 30.0

    bad = rig_api.post(url + "/api/rig/calibration/bars", json={"mass_kg": MASS_KG})
    assert bad.status_code == 422  # a post or a bar must be named


def test_calibration_is_stored_and_used_again_after_a_restart(server_factory: Any,
                                                               database_url: str) -> None:
    first: LiveServer = server_factory(simulate_activity="off_rig", database_url=database_url)
    true_gain = miscalibrate_post(first)
    before = boards(first.url)
    assert before["bars"]["calibration"] == "none"
    assert "nominal" in before["insole_left"]["warning"]
    bars_serial = before["bars"]["serial_number"]
    assert isinstance(bars_serial, int)
    tare(first.url)
    place(first.url, POST, MASS_KG)
    answer = rig_api.post(first.url + "/api/rig/calibration/bars",
                          json={"mass_kg": MASS_KG, "post": POST}).json()
    assert answer["accepted"], answer["reason"]
    assert first.controller.calibration is not None
    made = first.controller.calibration.bars
    made_at = datetime.fromisoformat(boards(first.url)["bars"]["calibrated_at"])
    first.stop()

    second: LiveServer = server_factory(simulate_activity="off_rig", database_url=database_url)
    assert second.controller is not first.controller
    bars = wait_for(lambda: (b := boards(second.url)["bars"])["calibration"] == "stored" and b)
    assert bars["serial_number"] == bars_serial and bars["kind"] == "known_weight"
    assert bars["by"] == f"Test {USERNAME}"
    assert datetime.fromisoformat(bars["calibrated_at"]) == made_at
    assert made_at.tzinfo is not None and made_at.utcoffset() == UTC.utcoffset(None)
    assert boards(second.url)["insole_left"]["calibration"] == "none"  # never calibrated
    calibration = second.controller.calibration
    assert calibration is not None
    assert calibration.bars.newtons_per_count.tolist() == pytest.approx(
        made.newtons_per_count.tolist(), rel=1e-12)
    assert calibration.bars.offset_counts.tolist() == pytest.approx(
        made.offset_counts.tolist(), rel=1e-12)
    # The same load cell, the same weight: the new server reads it right with the stored gain
    # (with the nominal one it would read 8 % less).
    assert second.controller.virtual_rig is not None
    second.controller.virtual_rig.load_cells.counts_per_newton[POST] = 1.0 / true_gain
    place(second.url, POST, MASS_KG)
    wait_for(lambda: abs((second.controller.latest or {}).get("right_bar_n", 0.0)
                         - MASS_KG * STANDARD_GRAVITY) < 1.0)


def test_a_refused_phase_is_repeated_alone(server_factory: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="off_rig", body_mass_kg=80.0)
    url = live.url

    def capture(phase: str, activity: str) -> dict[str, Any]:
        rig_api.post(url + "/api/simulator/activity", json={"activity": activity})
        time.sleep(PHASE_SETTLE_S)
        answer = rig_api.post(f"{url}/api/rig/calibration/insoles/{phase}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        assert result["phase"] == phase and result["samples"] > 1000
        return result

    both = capture("both", "standing")
    assert both["accepted"], both["reason"]
    assert both["captured"] == ["both"] and both["missing"] == ["left", "right"]
    # "Stand on the left foot" while the patient keeps both feet down: refused at once.
    left = capture("left", "standing")
    assert not left["accepted"]
    assert "right foot did not seem lifted" in left["reason"]
    assert "Repeat this phase" in left["reason"]
    assert left["captured"] == ["both"] and left["missing"] == ["left", "right"]
    assert rig_api.get(url + "/api/rig").json()["standing_phases_captured"] == ["both"]
    assert rig_api.post(url + "/api/rig/calibration/insoles").status_code == 409

    left = capture("left", "standing_on_left")  # only the left phase again
    assert left["accepted"], left["reason"]
    assert left["measured"]["right_foot_pct_bw"] < 5.0 < left["measured"]["left_foot_pct_bw"]
    right = capture("right", "standing_on_right")
    assert right["accepted"], right["reason"]
    assert right["captured"] == ["both", "left", "right"] and right["missing"] == []
    result = rig_api.post(url + "/api/rig/calibration/insoles").json()
    assert result["accepted"], result["reason"]
    assert result["repeat_phase"] is None and result["captured"] == []
    insoles = {b["role"]: b for b in result["boards_calibration"]}
    for role in ("insole_left", "insole_right"):
        assert insoles[role]["calibration"] == "stored"
        assert insoles[role]["kind"] == "body_weight" and insoles[role]["warning"] is None
    assert insoles["bars"]["calibration"] == "none"
