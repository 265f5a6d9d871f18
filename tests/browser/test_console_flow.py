"""The therapist's whole flow on the console, in real Chromium against the virtual rig.

Pick a patient from the records, tare, calibrate the insoles, choose walking, set a band and a
limit in kg, start a trial, mark an event, stop, read the summary, find the trial stored. Each
step is checked against the server's state (the controller), not only against the page.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.screens import assert_numbers_at_least, save_screenshot

pytestmark = pytest.mark.browser

#: The virtual patient blends into a new posture over 1 s (gaitrig.sim.patient).
POSTURE_BLEND_S = 1.2
#: Key numbers on the tablet, read at arm's length (px).
CONSOLE_NUMBER_PX = 32
CONSOLE_NUMBERS = ["#left-foot-pct", "#right-foot-pct", "#bars-pct", "#trial-elapsed",
                   "#steps-on-target"]


@pytest.fixture
def rig(server_factory: Any) -> LiveServer:
    server: LiveServer = server_factory(simulate_activity="off_rig", body_mass_kg=75.0)
    return server


def seed_patient(url: str) -> dict[str, Any]:
    answer = rig_api.post(url + "/api/patients", json={
        "identifier": "P-0042", "name": "Ana Souza", "amputation_side": "left",
        "amputation_level": "transtibial", "body_mass_kg": 80.0})
    assert answer.status_code == 201, answer.text
    patient: dict[str, Any] = answer.json()
    return patient


def simulate(url: str, activity: str) -> None:
    assert rig_api.post(url + "/api/simulator/activity",
                      json={"activity": activity}).status_code == 200
    time.sleep(POSTURE_BLEND_S)


def pick_patient(page: Page, rig: LiveServer, patient_id: int) -> None:
    page.fill("#patient-search", "souza")
    item = page.locator(f'#patient-results [data-patient-id="{patient_id}"]')
    expect(item).to_contain_text("Ana Souza")
    item.click()
    expect(page.locator("#patient-mass")).to_have_value("80")
    expect(page.locator('#patient-side input[value="left"]')).to_be_checked()
    expect(page.locator("#patient-level")).to_have_value("transtibial")
    page.fill("#patient-display-name", "Ana")
    page.click("#patient-apply")
    expect(page.locator("#patient-result")).to_contain_text("Ana is on the rig")
    on_rig = rig.controller.patient
    assert (on_rig.patient_id, on_rig.display_name, on_rig.body_mass_kg,
            on_rig.prosthetic_side, on_rig.amputation_level) == (
        patient_id, "Ana", 80.0, "left", "transtibial")
    expect(page.locator("#rig-patient-facts")).to_contain_text(
        "80 kg \u00b7 left prosthesis, transtibial")


def tare_and_calibrate(page: Page, rig: LiveServer) -> None:
    time.sleep(1.2)  # a second of quiet bars, nobody on the rig
    page.click("#tare-button")
    expect(page.locator("#tare-result")).to_have_attribute("data-accepted", "true")
    for phase, activity in (("both", "standing"), ("left", "standing_on_left"),
                            ("right", "standing_on_right")):
        simulate(rig.url, activity)
        page.click("#calib-next")
        expect(page.locator(f'#calib-steps [data-phase="{phase}"]')).to_have_attribute(
            "data-state", "done", timeout=15_000)
    result = page.locator("#calib-result")
    expect(result).to_have_attribute("data-accepted", "true", timeout=15_000)
    expect(result).to_contain_text("Accepted")


def set_walking_targets_in_kg(page: Page, rig: LiveServer) -> None:
    page.click('#exercise-buttons [data-exercise="walking"]')
    expect(page.locator('#exercise-buttons [data-exercise="walking"]')).to_have_attribute(
        "aria-checked", "true")
    page.locator("#target-unit span", has_text="kg").click()
    expect(page.locator("#targets-form .unit").first).to_have_text("kg")
    page.fill("#band-low", "32")   # 40 % of 80 kg
    page.fill("#band-high", "48")  # 60 %
    page.fill("#limit", "60")      # 75 %
    page.fill("#max-hand", "24")   # 30 %
    page.click("#targets-apply")
    expect(page.locator("#targets-result")).to_contain_text("Targets set")
    targets = rig.controller.monitor.targets
    assert (targets.unit, targets.band_low_pct_bw, targets.band_high_pct_bw,
            targets.limit_pct_bw, targets.max_hand_support_pct_bw) == pytest.approx(
        ("kg", 40.0, 60.0, 75.0, 30.0))
    expect(page.locator("#targets-now")).to_contain_text(
        "band 40\u201360 % BW (32\u201348 kg) \u00b7 limit 75 % BW (60 kg)")


def test_therapist_flow_from_patient_to_stored_trial(rig: LiveServer,
                                                     open_page: PageFactory) -> None:  # noqa: F811
    patient = seed_patient(rig.url)
    page, _ = open_page(1024, 768)
    rig_api.goto(page, rig.url + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")

    pick_patient(page, rig, patient["id"])
    tare_and_calibrate(page, rig)
    set_walking_targets_in_kg(page, rig)
    assert rig.controller.virtual_rig is not None
    assert rig.controller.virtual_rig.patient.activity == "walking"  # the exercise drives it

    page.click("#trial-start")  # refused until the shoes are confirmed
    expect(page.locator("#trial-result")).to_contain_text("Which shoes")
    assert rig.controller.trial is None
    page.fill("#footwear-input", "own trainers")
    page.click("#footwear-confirm")
    expect(page.locator("#footwear-now")).to_contain_text("own trainers")
    page.click("#trial-start")
    expect(page.locator("#trial-card")).to_have_attribute("data-state", "running")
    trial = rig.controller.trial
    assert trial is not None and trial.exercise == "walking"
    expect(page.locator("#trial-pause")).to_be_enabled()
    page.fill("#mark-note", "socket check")
    page.click("#mark-button")
    expect(page.locator("#mark-list li")).to_contain_text("socket check")

    # The plots fill with the last seconds of walking, the band drawn from the server's targets.
    page.wait_for_function("window.gaitConsole.buffer.t.length > 60")
    plotted = page.evaluate("""() => {
      const u = window.gaitConsole.plots().feet;
      return {points: u.data[0].length, series: u.series.map((s) => s.label)};
    }""")
    assert plotted["points"] > 60 and plotted["series"][1:] == ["Left foot", "Right foot"]
    # Steps are counted live (up to ~20 s for the first ones) and the table fills.
    expect(page.locator("#steps-rows tr[data-on-target]").nth(1)).to_be_attached(timeout=20_000)
    expect(page.locator("#steps-total")).not_to_have_text("0", timeout=20_000)
    steps = trial.steps
    counted = int(page.locator("#steps-total").inner_text())
    assert 0 < counted <= steps.total  # the page shows a count the server has reached

    time.sleep(1.0)
    assert_numbers_at_least(page, CONSOLE_NUMBERS, CONSOLE_NUMBER_PX)
    save_screenshot(page, "console-trial-1024x768.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(300)
    assert_numbers_at_least(page, CONSOLE_NUMBERS, CONSOLE_NUMBER_PX)
    save_screenshot(page, "console-trial-1920x1080.png")

    page.click("#trial-stop")
    summary_card = page.locator("#summary")
    expect(summary_card).to_be_visible()
    summary = rig.controller.last_summary
    assert summary is not None and summary["marks"][0]["note"] == "socket check"
    assert summary["steps"] > 0
    expect(page.locator("#summary-steps")).to_have_text(str(summary["steps"]))
    expect(page.locator("#summary-on-target")).to_contain_text(
        f"{summary['steps_on_target']} of {summary['steps']}")
    expect(page.locator("#summary-bars")).to_have_text(
        f"{summary['bar_reliance_mean_pct_bw']:.1f} / {summary['bar_reliance_peak_pct_bw']:.1f}")
    expect(page.locator("#summary-marks")).to_contain_text("socket check")
    # Step compliance (issue 13): the console shows the live summary's figures
    figures = summary["compliance"]["all"]
    expect(page.locator("#summary-compliance")).to_contain_text(
        f"({figures['in_band']} of {figures['steps']})")
    expect(page.locator("#summary-fading")).to_contain_text("full: with")
    # The recorder stores the trial in the background after stop; the console waits for it.
    expect(page.locator("#summary-stored")).to_have_attribute("data-stored", "true",
                                                              timeout=35_000)
    listed = {t["id"]: t for t in rig_api.get(rig.url + "/api/trials").json()}
    assert listed[summary["trial_id"]]["ended_at"] is not None
    record = rig_api.get(f"{rig.url}/api/trials/{summary['trial_id']}").json()
    assert record["recording_status"] in ("complete", "gaps")
    assert len(record["alarms"]) == len(summary["alarms"])  # each alarm stored with the trial
    expect(page.locator("#summary-stored")).to_contain_text(f"{len(record['alarms'])} alarms")
    expect(page.locator("#trial-card")).to_have_attribute("data-state", "stopped")
    expect(page.locator("#trial-start")).to_be_enabled()
    summary_card.scroll_into_view_if_needed()
    save_screenshot(page, "console-summary-1920x1080.png")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_timeout(300)
    summary_card.scroll_into_view_if_needed()
    save_screenshot(page, "console-summary-1024x768.png")


def test_console_refuses_with_the_reason(rig: LiveServer, open_page: PageFactory  # noqa: F811
                                         ) -> None:
    """A tare while the bars are loaded, and inconsistent targets, are refused and say why."""
    page, _ = open_page(1024, 768)
    rig_api.goto(page, rig.url + "/console")
    simulate(rig.url, "walking")
    time.sleep(1.5)
    page.click("#tare-button")
    expect(page.locator("#tare-result")).to_have_attribute("data-accepted", "false")
    expect(page.locator("#tare-result")).to_contain_text(re.compile("Refused: .*(bar|post)", re.I))
    page.fill("#band-low", "60")
    page.fill("#band-high", "40")
    page.click("#targets-apply")
    expect(page.locator("#targets-result")).to_contain_text("band_low must not be above band_high")
    assert rig.controller.monitor.targets.band_low_pct_bw == 40.0  # unchanged
    page.click('#exercise-buttons [data-exercise="partial_weight_bearing"]')
    page.fill("#band-low", "10")
    page.fill("#band-high", "20")
    page.fill("#limit", "")
    page.click("#targets-apply")
    expect(page.locator("#targets-result")).to_contain_text("needs a safety limit")


def test_console_counts_steps_and_fills_the_table(server_factory: Any,
                                                  open_page: PageFactory) -> None:  # noqa: F811
    rig: LiveServer = server_factory(simulate_activity="walking", body_mass_kg=75.0)
    rig_api.put(rig.url + "/api/rig/targets", json={"band_low": 30, "band_high": 70})
    page, _ = open_page(1024, 768)
    rig_api.goto(page, rig.url + "/console")
    page.click("#trial-start")
    # The virtual patient takes about one prosthetic step per second: wait up to 20 s.
    expect(page.locator("#steps-rows tr[data-on-target]").first).to_be_attached(timeout=20_000)
    expect(page.locator("#steps-total")).not_to_have_text("0", timeout=20_000)
    page.wait_for_timeout(3000)
    rows = page.locator("#steps-rows tr[data-on-target]")
    assert rows.count() >= 2
    # One read of the newest row (the table is redrawn whenever a step is counted).
    _, stance, peak, verdict = rows.first.evaluate(
        "(tr) => [...tr.cells].map((td) => td.textContent)")
    assert re.fullmatch(r"\d\.\d\d", stance)  # stance time, s
    trial = rig.controller.trial
    assert trial is not None
    # The row is one of the server's steps (stance, peak and verdict), not made up by the page:
    # the values the server sent (LiveStep.to_dict, itself rounded), shown to 0.01 s and 1 % BW.
    sent = [s.to_dict() for s in trial.steps.steps]
    assert any(abs(float(stance) - s["stance_s"]) <= 0.005 + 1e-9
               and abs(float(peak) - s["peak_pct_bw"]) <= 0.5 + 1e-9
               and verdict.startswith("\u2713" if s["on_target"] else "\u2717")
               for s in sent), (stance, peak, verdict)
    page.click("#trial-stop")
    expect(page.locator("#summary")).to_be_visible()
    summary = rig.controller.last_summary
    assert summary is not None and summary["steps"] > 0
    expect(page.locator("#summary-steps")).to_have_text(str(summary["steps"]))


def test_a_new_patient_is_registered_and_put_on_the_rig(rig: LiveServer,
                                                        open_page: PageFactory  # noqa: F811
                                                        ) -> None:
    page, _ = open_page(1024, 768)
    rig_api.goto(page, rig.url + "/console")
    expect(page.locator("#picker-note")).to_contain_text("No patients in the records yet")
    page.click("#patient-new")
    expect(page.locator("#identifier-field")).to_be_visible()
    page.fill("#patient-identifier", "P-0100")
    page.fill("#patient-display-name", "Jonas")
    page.fill("#patient-mass", "91.5")
    page.locator("#patient-side span", has_text="Right").click()
    page.select_option("#patient-level", "transfemoral")
    page.click("#patient-apply")
    expect(page.locator("#patient-result")).to_contain_text("Jonas is on the rig")
    found = rig_api.get(rig.url + "/api/patients", params={"q": "P-0100"}).json()
    assert found["total"] == 1
    record = found["items"][0]
    assert (record["name"], record["amputation_side"], record["amputation_level"]) == (
        "Jonas", "right", "transfemoral")
    detail = rig_api.get(f"{rig.url}/api/patients/{record['id']}").json()
    assert detail["current_body_mass_kg"] == 91.5
    on_rig = rig.controller.patient
    assert (on_rig.patient_id, on_rig.body_mass_kg, on_rig.prosthetic_side) == (
        record["id"], 91.5, "right")
    # The band now sits on the right leg of the live message.
    page.wait_for_function("window.gaitConsole.live.latest.band_side === 'right'")
    expect(page.locator("#tile-right-foot .chip-prosthesis")).to_be_visible()


def test_a_silent_and_an_unplugged_board_raise_the_warning(rig: LiveServer,
                                                           open_page: PageFactory  # noqa: F811
                                                           ) -> None:
    page, _ = open_page(1024, 768)
    rig_api.goto(page, rig.url + "/console")
    expect(page.locator("#device-chips [data-state='ok']")).to_have_count(3)
    expect(page.locator("#device-warning")).to_be_hidden()
    assert rig.controller.virtual_rig is not None
    boards = rig.controller.virtual_rig.boards
    boards["insole_left"]._streaming = False  # the firmware stalls: connected, but silent
    expect(page.locator("#device-warning")).to_be_visible(timeout=5_000)
    expect(page.locator("#device-warning-list")).to_contain_text("Left insole has sent no data")
    expect(page.locator("#device-chips [data-role='insole_left']")).to_have_attribute(
        "data-state", "stale")
    boards["bars"].unplug()
    expect(page.locator("#device-warning-list")).to_contain_text("Parallel bars")
    expect(page.locator("#device-chips [data-role='bars']")).to_have_attribute(
        "data-state", "disconnected", timeout=10_000)
    save_screenshot(page, "console-board-warning-1024x768.png")


TOUCH_TARGETS_JS = """
() => [...document.querySelectorAll("button, input, select, a.button, .segmented span, .switch")]
  .filter((el) => el.offsetParent !== null && !(el.type === "radio" || el.type === "checkbox"))
  .map((el) => ({id: el.id || el.textContent.trim().slice(0, 30),
                 height: el.getBoundingClientRect().height}))
  .filter((t) => t.height < 44)
"""


def test_every_control_is_a_touch_target(live_server: str, open_page: PageFactory  # noqa: F811
                                         ) -> None:
    page, _ = open_page(1024, 768)
    rig_api.goto(page, live_server + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    assert page.evaluate(TOUCH_TARGETS_JS) == [], "controls under 44 px high"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024


def test_console_says_reconnecting_and_recovers(live_server: str,
                                                open_page: PageFactory) -> None:  # noqa: F811
    from playwright.sync_api import WebSocketRoute

    state: dict[str, Any] = {"accept": True, "open": []}

    def handle(route: WebSocketRoute) -> None:
        if not state["accept"]:
            route.close()
            return
        state["open"].append((route, route.connect_to_server()))

    page, _ = open_page(1024, 768)
    page.route_web_socket(re.compile(r"/ws/live$"), handle)
    rig_api.goto(page, live_server + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    state["accept"] = False
    for route, server in state["open"]:
        route.close()
        server.close()
    expect(page.locator("#connection-banner")).to_be_visible()
    expect(page.locator("#connection-status")).to_have_text("Reconnecting…")
    state["accept"] = True
    expect(page.locator("#console")).to_have_attribute("data-connection", "live",
                                                       timeout=10_000)
    expect(page.locator("#connection-banner")).to_be_hidden()


def test_weight_shift_moves_the_band_from_leg_to_leg(server_factory: Any,
                                                     open_page: PageFactory  # noqa: F811
                                                     ) -> None:
    rig: LiveServer = server_factory(simulate_activity="standing", body_mass_kg=75.0)
    rig_api.put(rig.url + "/api/rig/exercise", json={"exercise": "weight_shift"})
    rig_api.put(rig.url + "/api/rig/targets", json={"band_low": 55, "band_high": 75,
                                                  "shift_period_s": 1.5})
    rig_api.post(rig.url + "/api/rig/trial", json={})
    page, _ = open_page(1024, 768)
    rig_api.goto(page, f"{rig.url}/rigs/{rig.settings.rig_id}/display")
    # From the first live state on (before it the page has no band to show).
    page.wait_for_selector('#display[data-connection="live"]')
    page.wait_for_function("(window.gaitDisplay.live.latest || {}).band_side")
    sides = page.evaluate("""async () => {
      const seen = [];
      const t0 = performance.now();
      while (performance.now() - t0 < 4000) {
        await new Promise((r) => setTimeout(r, 50));
        const band = ["left", "right"].filter(
          (s) => !document.getElementById(s + "-bar-band-zone").hidden);
        const server = window.gaitDisplay.live.latest && window.gaitDisplay.live.latest.band_side;
        if (band.length === 1 && band[0] === server &&
            seen[seen.length - 1] !== band[0]) seen.push(band[0]);
        if (band.length !== 1) seen.push("bands: " + band.join(","));
      }
      return seen;
    }""")
    # The prosthetic (left) leg first, then the band alternates; it is never on both legs.
    assert len(sides) >= 3 and set(sides) == {"left", "right"}, sides


def test_the_therapist_mutes_the_tone_and_switches_feedback(live_server: str,
                                                            open_page: PageFactory  # noqa: F811
                                                            ) -> None:
    page, _ = open_page(1024, 768)
    rig_api.goto(page, live_server + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    try:
        page.click("#fb-mute")
        expect(page.locator("#fb-mute")).to_have_attribute("aria-pressed", "true")
        assert rig_api.get(live_server + "/api/rig").json()["feedback"]["muted"] is True
        page.locator("label.switch", has_text="Good-step counter").click()
        expect(page.locator("#fb-counter")).not_to_be_checked()
        page.wait_for_function("window.gaitConsole.live.latest.feedback.counter === false")
        page.click("#fb-mute")
        expect(page.locator("#fb-mute")).to_have_attribute("aria-pressed", "false")
        assert rig_api.get(live_server + "/api/rig").json()["feedback"]["muted"] is False
    finally:
        rig_api.put(live_server + "/api/rig/feedback", json={"muted": False, "counter": True})


def test_the_therapist_fades_the_step_feedback(live_server: str,
                                               open_page: PageFactory  # noqa: F811
                                               ) -> None:
    """Feedback fading (issue 13) from the console: every n-th step's verdict, or none."""
    page, _ = open_page(1024, 768)
    rig_api.goto(page, live_server + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    try:
        expect(page.locator("#fb-fade-every")).to_be_disabled()  # n means nothing in full
        page.select_option("#fb-mode", "faded")
        page.wait_for_function("window.gaitConsole.live.latest.feedback.mode === 'faded'")
        expect(page.locator("#fb-fade-every")).to_be_enabled()
        page.fill("#fb-fade-every", "3")
        page.locator("#fb-fade-every").dispatch_event("change")
        page.wait_for_function("window.gaitConsole.live.latest.feedback.fade_every_n === 3")
        feedback = rig_api.get(live_server + "/api/rig").json()["feedback"]
        assert (feedback["mode"], feedback["fade_every_n"]) == ("faded", 3)
        page.select_option("#fb-mode", "off")
        page.wait_for_function("window.gaitConsole.live.latest.feedback.mode === 'off'")
        bad = rig_api.put(live_server + "/api/rig/feedback", json={"mode": "sometimes"})
        assert bad.status_code == 422
    finally:
        rig_api.put(live_server + "/api/rig/feedback", json={"mode": "full", "fade_every_n": 2})
