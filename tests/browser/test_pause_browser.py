"""A pause in a walking trial, the way the therapist makes one (issue 13, part 3): the console in
Chromium starts a walk, pauses it for 3 s while the virtual patient walks on, resumes and stops
it; the server stores it, the session page shows its symmetry and the contacts it did not count,
and the steps CSV holds only whole steps. The reference is the same recording without the pause:
its two recorded parts analysed as trials of their own, their steps pooled
(tests/integration/test_pauses.py)."""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from gaitrig.rig.offline.trial_analysis import analyse, merge_recording
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.browser.test_clinic_day import choose_exercise, download, log_in, register_patient
from tests.integration.test_pauses import _cut, _on_timeline, _stored

pytestmark = pytest.mark.browser

PAUSE_S = 3.0


def test_a_walk_paused_from_the_console_keeps_its_symmetry_in_the_records(
        server_factory: Any, open_page: PageFactory) -> None:  # noqa: F811
    rig = server_factory(simulate_activity="walking", body_mass_kg=75.0)
    page, _ = open_page(1024, 768, has_touch=True, accept_downloads=True)
    page.set_default_timeout(30_000)
    log_in(page, rig.url)
    register_patient(page)
    choose_exercise(page, "walking")
    page.click("#trial-start")  # the shoes first
    page.fill("#footwear-input", "own trainers")
    page.click("#footwear-confirm")
    expect(page.locator("#footwear-now")).to_contain_text("own trainers")
    page.click("#trial-start")
    card = page.locator("#trial-card")
    expect(card).to_have_attribute("data-state", "running")
    trial_id = int(page.inner_text("#trial-result").split("Trial ")[1].split()[0])
    time.sleep(5.0)
    page.click("#trial-pause")
    expect(card).to_have_attribute("data-state", "paused")
    time.sleep(PAUSE_S)  # the patient walks on; nothing is recorded
    page.click("#trial-pause")  # now "Resume"
    expect(card).to_have_attribute("data-state", "running")
    time.sleep(5.0)
    page.click("#trial-stop")
    expect(page.locator("#summary")).to_be_visible()
    assert rig.controller.wait_for_recording(60), "the recording was not written"

    metric, setup, frames, trial = _stored(rig.controller, trial_id)
    walking = metric.summary["walking"]
    assert len(setup.pauses_s) == 1
    assert setup.pauses_s[0][1] - setup.pauses_s[0][0] == pytest.approx(PAUSE_S, abs=0.5)
    assert [g["reason"] for g in walking["gaps"]].count("pause") == 1, walking["gaps"]
    # walking has a foot on the ground at every moment: the pause cuts at least one contact
    excluded = walking["excluded_count"]
    assert excluded.get("pause", 0) >= 1, walking["excluded_contacts"]
    # the same trial without the pause, as two trials of their own
    first = float(frames["insole_left"].host_time_s[0])
    gap = next(g for g in walking["gaps"] if g["reason"] == "pause")
    role = merge_recording(frames, setup).timeline_role
    parts = [_on_timeline(_cut(frames, -math.inf, first + gap["start_s"] + 1e-6), role),
             _on_timeline(_cut(frames, first + gap["end_s"] - 1e-6, math.inf), role)]
    pooled = [step for part in parts for step in analyse(
        part, replace(setup, pauses_s=()), trial.calibration or {}, trial.targets,
        "walking").steps]
    means = {side: float(np.mean([s["stance_s"] for s in pooled if s["prosthetic"] == side]))
             for side in (True, False)}
    reference = 100.0 * (means[True] - means[False]) / (0.5 * (means[True] + means[False]))
    stored = metric.stance_time_symmetry_index_pct
    assert stored is not None and abs(stored - reference) <= 2.0, (stored, reference)

    # The records: the session page shows that symmetry and the contacts not counted ...
    assert trial.session_id is not None
    page.goto(f"{rig.url}/history/sessions/{trial.session_id}")
    page.wait_for_selector("#session-page[data-loaded='true']")
    row = page.locator(f"#trial-table tr[data-trial-id='{trial_id}'] td")
    assert row.nth(5).inner_text() == f"{stored:.1f}"
    figures = page.locator(f".trial-results[data-trial-id='{trial_id}'] .figures")
    expect(figures).to_have_attribute("data-loaded", "true")
    not_counted = figures.locator("[data-figure='excluded_contacts'] dd").inner_text()
    assert int(not_counted) == sum(excluded.values())
    # ... and its steps CSV only whole steps: as many as counted, none as long as the pause
    steps_csv, _ = download(page, f"#download-steps-{trial_id}")
    steps = list(csv.DictReader(io.StringIO(steps_csv.decode())))
    assert len(steps) == metric.step_count >= 8
    assert max(float(s["stance_s"]) for s in steps) < 1.5
