"""The console's trial summary per exercise in real Chromium against the virtual rig (issue 13,
part 5): after each trial is stored, the summary shows that exercise's own figures (as the
server computed them from the stored recording) and not the others'; quiet standing draws its
95 % prediction ellipse; the session page shows the same figures."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from gaitrig.rig.clinic.exercise_results import FIGURES
from gaitrig.testing import rig_api
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.screens import save_screenshot

pytestmark = pytest.mark.browser

SECONDS = {"quiet_standing": 5, "weight_shift": 9, "walking": 7, "partial_weight_bearing": 7,
           "sit_to_stand": 9}
#: The general rows of the summary that only stepping exercises show.
STEPPING_ROWS = ("#summary-steps", "#summary-symmetry", "#summary-compliance")


def test_each_exercise_summary_shows_its_own_figures(server_factory: Any,
                                                     open_page: PageFactory  # noqa: F811
                                                     ) -> None:
    rig = server_factory(simulate_activity="standing", body_mass_kg=75.0)
    assert rig_api.put(rig.url + "/api/rig/targets", json={
        "band_low": 20, "band_high": 40, "limit": 50}).status_code == 200
    page, _ = open_page(1024, 768)
    rig_api.goto(page, rig.url + "/console")
    trial_ids = {}
    for exercise, seconds in SECONDS.items():
        page.click(f'#exercise-buttons [data-exercise="{exercise}"]')
        expect(page.locator(f'#exercise-buttons [data-exercise="{exercise}"]')).to_have_attribute(
            "aria-checked", "true")
        page.wait_for_timeout(2500)  # the virtual patient turns to the exercise
        page.click("#trial-start")
        page.wait_for_timeout(seconds * 1000)
        page.click("#trial-stop")
        results = page.locator("#summary-results")
        # this trial's summary first (the previous one's results are loaded until it comes)
        expect(results).to_have_attribute("data-exercise", exercise)
        expect(results).to_have_attribute("data-loaded", "true", timeout=60_000)
        summary = rig.controller.last_summary
        assert summary is not None and summary["exercise"] == exercise
        trial_ids[exercise] = summary["trial_id"]
        served = rig_api.get(f"{rig.url}/api/trials/{summary['trial_id']}/results").json()
        assert served.get("analysed") and served["exercise"] == exercise, (exercise, served)
        own = {f.key for f in FIGURES[exercise]}
        for figure in served["figures"]:  # each figure as the server computed it
            cell = results.locator(f'[data-figure="{figure["key"]}"] dd')
            expect(cell).to_have_text(figure["text"])
        shown = set(results.locator("[data-figure]").evaluate_all(
            "(nodes) => nodes.map((n) => n.dataset.figure)"))
        assert shown == own
        others = {f.key for e, figures in FIGURES.items() if e != exercise
                  for f in figures} - own
        assert not shown & others
        stepping = exercise in ("walking", "partial_weight_bearing")
        for row in STEPPING_ROWS:
            (expect(page.locator(row)).to_be_visible() if stepping
             else expect(page.locator(row)).to_be_hidden())
        ellipse = results.locator("svg.sway-plot polygon.sway-ellipse")
        if exercise == "quiet_standing":
            expect(ellipse).to_be_attached()
            expect(results.locator("svg.sway-plot polyline.sway-trace")).to_be_attached()
            assert served["ellipse"]["area_mm2"] > 0
        else:
            expect(ellipse).to_have_count(0)
        page.locator("#summary").scroll_into_view_if_needed()
        save_screenshot(page, f"console-results-{exercise}-1024x768.png")
    # the session page: each trial's figures, the sway plot for quiet standing
    unassigned = rig_api.get(rig.url + "/api/unassigned-trials")
    if unassigned.status_code == 200:
        patient = rig_api.post(rig.url + "/api/patients", json={
            "identifier": "P-77", "name": "Per Exercise", "amputation_side": "left",
            "amputation_level": "transtibial", "body_mass_kg": 75.0}).json()
        session = None
        for trial_id in trial_ids.values():
            body: dict[str, Any] = ({"session_id": session} if session
                                    else {"patient_id": patient["id"]})
            answer = rig_api.post(f"{rig.url}/api/unassigned-trials/{trial_id}/assign",
                                  json=body)
            assert answer.status_code == 200, answer.text
            session = answer.json()["id"]
        rig_api.goto(page, f"{rig.url}/history/sessions/{session}")
        holder = page.locator("#trial-results")
        expect(holder).to_have_attribute("data-loaded", "true", timeout=20_000)
        quiet = holder.locator(f'.trial-results[data-trial-id="{trial_ids["quiet_standing"]}"]')
        expect(quiet.locator("svg.sway-plot polygon.sway-ellipse")).to_be_attached()
        sts = holder.locator(f'.trial-results[data-trial-id="{trial_ids["sit_to_stand"]}"]')
        expect(sts.locator('[data-figure="repetitions"]')).to_be_attached()
        expect(sts.locator('[data-figure="cadence"]')).to_have_count(0)
        save_screenshot(page, "session-results-1024x768.png")
