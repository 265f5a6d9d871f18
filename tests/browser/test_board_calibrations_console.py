"""The console's calibration steps in real Chromium against the virtual rig (issue 12, part 3):
each board's calibration age and who made it, a plain warning for a board with none, the bars'
known-weight step, and the insole wizard repeating only the phase the rig refused.
Screenshots in test-artifacts/."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from gaitrig.db import board_calibrations as db_calibrations
from gaitrig.db import models as m
from gaitrig.processing.calibration_procedures import CalibrationRecord
from gaitrig.rig.records import Records
from gaitrig.sim.rig import VirtualRig
from gaitrig.testing import rig_api
from gaitrig.testing.rig_api import USERNAME
from gaitrig.testing.server import LiveServer
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.screens import save_screenshot

pytestmark = pytest.mark.browser

POSTURE_S = 1.2  # the virtual patient blends into a new posture over 1 s
BARS_SETTLE_S = 1.3  # a tare and a known weight are measured over the last second
#: The serial number the virtual left insole's HELLO carries (gaitrig.sim.boards).
LEFT_INSOLE_SERIAL = 0x6A17_0002


def seed_old_calibration(database_url: str, days: float) -> None:
    """A body-weight calibration of the left insole ``days`` ago, by "Dr Ana Lima"."""
    records = Records.open(database_url)
    made_at = datetime.now(UTC) - timedelta(days=days)
    try:
        with records.sessions() as session:
            clinician = m.Clinician(name="Dr Ana Lima", created_at=made_at)
            session.add(clinician)
            session.commit()
            channels = VirtualRig.nominal_calibration_for(8)["insole_left"]
            record = CalibrationRecord(1, str(LEFT_INSOLE_SERIAL), "insole_left",
                                       made_at.isoformat(), channels, "insole_body_weight")
            db_calibrations.add_calibration(
                session, rig_id="rig-1", role="insole_left", serial_number=LEFT_INSOLE_SERIAL,
                kind="body_weight", calibration=record.to_dict(), details={},
                created_at=made_at, clinician_id=clinician.id)
    finally:
        records.close()


def simulate(url: str, activity: str) -> None:
    assert rig_api.post(url + "/api/simulator/activity",
                        json={"activity": activity}).status_code == 200
    time.sleep(POSTURE_S)


def board_item(page: Page, role: str) -> Any:
    return page.locator(f'#board-calibrations li[data-role="{role}"]')


def test_console_shows_calibration_age_warns_and_repeats_one_phase(
        server_factory: Any, open_page: PageFactory, tmp_path: Path,  # noqa: F811
        artifacts: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'calibrations.sqlite3'}"
    seed_old_calibration(database_url, days=3)
    rig: LiveServer = server_factory(simulate_activity="off_rig", body_mass_kg=75.0,
                                     database_url=database_url)
    url = rig.url
    page, _ = open_page(1024, 768)
    captures: list[str] = []
    page.on("request", lambda r: captures.append(r.url.rsplit("/", 1)[-1])
            if "/api/rig/calibration/insoles/" in r.url and r.method == "POST" else None)
    rig_api.goto(page, url + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")

    # The left insole has the stored calibration of 3 days ago; the others have none.
    expect(board_item(page, "insole_left")).to_have_attribute("data-calibration", "stored")
    expect(board_item(page, "insole_left")).to_have_text(
        "Left insole: calibrated to body weight 3 days ago by Dr Ana Lima.")
    for role, name in (("bars", "Bars"), ("insole_right", "Right insole")):
        expect(board_item(page, role)).to_have_attribute("data-calibration", "none")
        expect(board_item(page, role)).to_contain_text(
            f"\u26A0 {name}: No stored calibration: nominal (datasheet) values only.")
    page.locator("#board-calibrations").scroll_into_view_if_needed()
    save_screenshot(page, "board-calibrations-age-and-warning.png")

    # The bars: tare empty, then 10 kg on the right front post.
    time.sleep(BARS_SETTLE_S)
    page.click("#tare-button")
    expect(page.locator("#tare-result")).to_have_attribute("data-accepted", "true")
    expect(board_item(page, "bars")).to_have_text(f"Bars: tared just now by Test {USERNAME}.")
    assert rig_api.post(url + "/api/simulator/weight",
                        json={"post": 2, "mass_kg": 10.0}).status_code == 200
    time.sleep(BARS_SETTLE_S)
    page.fill("#known-mass", "10")
    page.select_option("#known-where", "post:2")
    page.click("#known-weight-button")
    result = page.locator("#known-weight-result")
    expect(result).to_have_attribute("data-accepted", "true")
    expect(result).to_contain_text("Accepted: The right front post now reads the 10 kg weight")
    expect(board_item(page, "bars")).to_have_text(
        f"Bars: calibrated with a known weight just now by Test {USERNAME}.")
    # A second measurement with the weight taken off: refused, in plain words.
    assert rig_api.post(url + "/api/simulator/weight",
                        json={"post": 2, "mass_kg": 0.0}).status_code == 200
    time.sleep(BARS_SETTLE_S)
    page.click("#known-weight-button")
    expect(result).to_have_attribute("data-accepted", "false")
    expect(result).to_contain_text("Refused: ")
    save_screenshot(page, "board-calibrations-known-weight.png")

    # The insoles: both feet accepted; "left foot" with both feet still down is refused, and
    # only that phase is asked for again.
    simulate(url, "standing")
    page.click("#calib-next")  # the virtual patient takes each posture the wizard asks for
    steps = page.locator("#calib-steps")
    expect(steps.locator('[data-phase="both"]')).to_have_attribute("data-state", "done",
                                                                    timeout=15_000)
    assert rig_api.post(url + "/api/simulator/activity", json={  # this patient does not
        "activity": "standing", "follows_instructions": False}).status_code == 200
    page.click("#calib-next")  # the patient keeps standing on both feet
    expect(steps.locator('[data-phase="left"]')).to_have_attribute("data-state", "refused",
                                                                    timeout=15_000)
    expect(page.locator("#calib-result")).to_contain_text("right foot did not seem lifted")
    expect(page.locator("#calib-next")).to_have_text("Repeat this phase: left foot")
    expect(steps.locator('[data-phase="both"]')).to_have_attribute("data-state", "done")
    save_screenshot(page, "calibration-phase-refused.png")
    assert rig_api.post(url + "/api/simulator/activity", json={  # and now does again
        "activity": "standing", "follows_instructions": True}).status_code == 200
    page.click("#calib-next")
    expect(steps.locator('[data-phase="left"]')).to_have_attribute("data-state", "done",
                                                                    timeout=15_000)
    page.click("#calib-next")
    calib = page.locator("#calib-result")
    expect(calib).to_have_attribute("data-accepted", "true", timeout=15_000)
    assert captures == ["both", "left", "left", "right"]  # "both" was never asked again
    for role, name in (("insole_left", "Left insole"), ("insole_right", "Right insole")):
        expect(board_item(page, role)).to_have_text(
            f"{name}: calibrated to body weight just now by Test {USERNAME}.")
    save_screenshot(page, "board-calibrations-all-stored.png")
