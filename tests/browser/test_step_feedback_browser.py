"""Per-step feedback on the patient display (issue 13), end to end: the real server with the
virtual rig, the display in Chromium. The virtual patient's ground truth (its true step peaks,
``VirtualRig.truth_step_peaks``) is the reference for every verdict."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, start_server
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401

pytestmark = pytest.mark.browser


BAND = (20.0, 40.0)
LIMIT = 50.0
#: The live peak is within 3 % BW of the true one (tests/integration/test_virtual_exercises.py):
#: steps closer than this to an edge of the band or the limit may fall either side.
EDGE_PCT_BW = 3.0


@pytest.fixture(scope="module")
def pwb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Partial weight bearing with the default alarm debounce (0.1 s) and hold (1 s)."""
    live = start_server(tmp_path_factory.mktemp("steps"), simulate_activity="walking",
                        body_mass_kg=80.0, simulate_follows_targets=True)
    assert rig_api.put(live.url + "/api/rig/exercise",
                       json={"exercise": "partial_weight_bearing"}).status_code == 200
    answer = rig_api.put(live.url + "/api/rig/targets",
                         json={"band_low": BAND[0], "band_high": BAND[1], "limit": LIMIT})
    assert answer.status_code == 200, answer.text
    time.sleep(2.5)  # the virtual patient blends into walking around the band
    yield live
    live.stop()


def open_display(page: Page, live: LiveServer) -> None:
    page.goto(rig_api.display_url(live.url, f"/rigs/{live.settings.rig_id}/display"))
    page.wait_for_selector('#display[data-connection="live"]')


#: Every 40 ms, the prosthetic leg's cue word and the index of the newest judged step.
WATCH_JS = """
([side, ms]) => new Promise((resolve) => {
  const seen = [];
  const leg = document.getElementById(side + "-leg");
  const timer = setInterval(() => {
    const live = window.gaitDisplay.live.latest;
    const judged = live && live.steps && live.steps.judged;
    seen.push({cue: leg.dataset.cue || null, index: judged ? judged.index : null,
               word: leg.querySelector(".feedback-text").textContent});
  }, 40);
  setTimeout(() => { clearInterval(timer); resolve(seen); }, ms);
})
"""


def run_trial(live: LiveServer, page: Page, seconds: float) -> tuple[Any, list[dict[str, Any]],
                                                                     list[dict[str, Any]]]:
    """A trial of ``seconds`` watched on the open display: (trial, step log, cue samples)."""
    side = live.controller.patient.prosthetic_side
    assert rig_api.post(live.url + "/api/rig/trial", json={}).status_code == 201
    trial = live.controller.trial
    assert trial is not None
    page.evaluate("window.gaitDisplay.stepLog.length = 0")
    samples: list[dict[str, Any]] = page.evaluate(WATCH_JS, [side, int(seconds * 1000)])
    assert rig_api.post(live.url + "/api/rig/trial/stop").status_code == 200
    log: list[dict[str, Any]] = page.evaluate("window.gaitDisplay.stepLog.slice()")
    return trial, log, samples


def truth_verdicts(live: LiveServer, trial: Any) -> dict[int, tuple[str | None, float]]:
    """Each live prosthetic step's index -> (true verdict, true peak % BW); verdict None when
    the true peak is too close to an edge of the band to call."""
    rig = live.controller.virtual_rig
    assert rig is not None
    truth = rig.truth_step_peaks(trial.started_s - 2.0, trial.ended_s + 2.0)
    strikes = np.array([s.heel_strike_s for s in truth])
    found = {}
    for step in (s for s in trial.steps.steps if s.prosthetic):
        nearest = int(np.argmin(np.abs(strikes - step.heel_strike_s)))
        assert abs(strikes[nearest] - step.heel_strike_s) < 0.25, "a step the patient did not do"
        peak = truth[nearest].peak_pct_bw
        near_edge = min(abs(peak - BAND[0]), abs(peak - BAND[1])) < EDGE_PCT_BW
        verdict = None if near_edge else "more" if peak < BAND[0] else (
            "too_much" if peak > BAND[1] else "good")
        found[step.index] = (verdict, peak)
    return found


def test_each_step_gets_a_stable_verdict_and_a_graded_tone_as_its_true_peak(
        pwb: LiveServer, open_page: PageFactory) -> None:  # noqa: F811
    rig_api.put(pwb.url + "/api/rig/feedback", json={"mode": "full", "tone": True,
                                                     "muted": False})
    page, _ = open_page(1920, 1080)
    open_display(page, pwb)
    trial, log, samples = run_trial(pwb, page, 24.0)
    truth = truth_verdicts(pwb, trial)
    assert len(log) >= 12, log
    called = 0
    for entry in log:  # the verdict each step got on the display is the true peak's
        expected, peak = truth[entry["index"]]
        assert entry["shown"] is True
        if expected is not None:
            assert entry["verdict"] == expected, (entry, peak)
            called += 1
    assert called >= 8
    assert {"good", "too_much"} <= {e["verdict"] for e in log}
    # The word stays put for a whole step: while one step is the newest, one word (or STOP).
    words: dict[int, set[str]] = {}
    for sample in samples:
        if sample["index"] is not None and sample["cue"] != "alarm":
            words.setdefault(sample["index"], set()).add(sample["cue"])
    verdicts = {e["index"]: e["verdict"] for e in log}
    for index, cues in words.items():
        assert len(cues) <= 2, (index, cues)  # the step's word, and the previous one's for a
        if index in verdicts:  # message's time around the change
            assert verdicts[index] in cues
    flips = sum(1 for a, b in itertools.pairwise(samples)
                if a["cue"] != b["cue"] and "alarm" not in (a["cue"], b["cue"]))
    assert flips <= len(log) + 1, flips  # at most one change per step
    # A graded tone per step: good steps at the base pitch, off-band ones further off the
    # further the peak was from the band.
    toned = [e for e in log if e["tone_hz"] is not None]
    assert len(toned) == len(log)
    good = {e["tone_hz"] for e in toned if e["verdict"] == "good"}
    assert len(good) <= 1
    over = sorted((e for e in toned if e["verdict"] == "too_much"),
                  key=lambda e: e["peak_pct_bw"])
    assert all(a["tone_hz"] <= b["tone_hz"] for a, b in itertools.pairwise(over))
    if good and over:
        assert over[0]["tone_hz"] > next(iter(good))

    # No STOP for a step under the limit; every STOP is held at least 1 s.
    rig = pwb.controller.virtual_rig
    assert rig is not None
    true_steps = rig.truth_step_peaks(trial.started_s - 2.0, trial.ended_s + 2.0)
    alarms = [a for a in trial.alarms if a.kind == "over_limit"]
    for alarm in alarms:
        stances = [s for s in true_steps
                   if s.heel_strike_s - 0.05 <= alarm.start_s <= s.toe_off_s + 0.05]
        assert stances and max(s.peak_pct_bw for s in stances) > LIMIT - EDGE_PCT_BW, alarm
        if alarm.end_s is not None:
            assert alarm.end_s - alarm.raised_s >= 1.0 - 1e-6
    over_steps = [s for s in true_steps if s.peak_pct_bw > LIMIT
                  and trial.started_s < s.heel_strike_s and s.toe_off_s < trial.ended_s]
    assert len(alarms) <= len(over_steps) + 1  # not one per stance: only the overloads

    # The figures of the trial: live summary against a plain count of the live steps.
    summary = pwb.controller.last_summary
    assert summary is not None
    peaks = np.array([s.peak_pct_bw for s in trial.steps.steps if s.prosthetic])
    figures = summary["compliance"]["all"]
    assert figures["steps"] == peaks.size
    assert figures["in_band"] == int(np.count_nonzero((peaks >= BAND[0]) & (peaks <= BAND[1])))
    assert figures["over_limit"] == int(np.count_nonzero(peaks > LIMIT))
    assert figures["over_150pct_limit"] == int(np.count_nonzero(peaks > 1.5 * LIMIT))
    assert figures["peak_of_peaks_pct_bw"] == pytest.approx(peaks.max(), abs=0.05)


def stored_rows(live: LiveServer, trial_id: int) -> tuple[dict[str, Any], list[Any]]:
    from sqlalchemy import select

    from gaitrig.db import models as m
    from gaitrig.rig.records import Records

    assert live.controller.wait_for_recording(60), "the recording was not analysed"
    records = Records.open(live.settings.resolved_database_url())
    try:
        with records.sessions() as session:
            metric = session.get(m.TrialMetric, trial_id)
            assert metric is not None
            rows = session.scalars(select(m.StepEvent).where(m.StepEvent.trial_id == trial_id)
                                   .order_by(m.StepEvent.step_index)).all()
            trial = session.get(m.Trial, trial_id)
            assert trial is not None
            targets = dict(trial.targets or {})
            session.expunge_all()
    finally:
        records.close()
    return {"summary": metric.summary, "targets": targets}, list(rows)


def test_faded_feedback_gives_every_second_verdict_and_the_records_split_them(
        pwb: LiveServer, open_page: PageFactory) -> None:  # noqa: F811
    rig_api.put(pwb.url + "/api/rig/feedback", json={"mode": "faded", "fade_every_n": 2})
    try:
        page, _ = open_page(1280, 800)
        open_display(page, pwb)
        trial, log, samples = run_trial(pwb, page, 16.0)
    finally:
        rig_api.put(pwb.url + "/api/rig/feedback", json={"mode": "full"})
    assert len(log) >= 8
    for entry in log:  # a verdict and a tone only on every 2nd step
        assert entry["shown"] is (entry["index"] % 2 == 0), entry
        assert (entry["tone_hz"] is not None) is entry["shown"]
    # and no word while a faded step is the newest (the shown step's word may last a frame)
    hidden = [s for s in samples if s["index"] is not None and s["index"] % 2 == 1
              and s["cue"] != "alarm"]
    assert hidden and sum(s["cue"] == "none" for s in hidden) >= 0.9 * len(hidden)

    # Stored with the trial: its fading mode, and compliance with vs without feedback from the
    # stored steps, against a plain numpy count of the stored step rows.
    stored, rows = stored_rows(pwb, trial.trial_id)
    assert stored["targets"]["feedback"] == {"mode": "faded", "fade_every_n": 2}
    compliance = stored["summary"]["compliance"]
    peaks = np.array([np.nan if r.peak_load_pct_bw is None else r.peak_load_pct_bw
                      for r in rows if r.prosthetic])
    index = np.arange(1, peaks.size + 1)
    finite = np.isfinite(peaks)
    with_fb, without = peaks[finite & (index % 2 == 0)], peaks[finite & (index % 2 == 1)]

    def in_band(p: np.ndarray) -> int:
        return int(np.count_nonzero((p >= BAND[0]) & (p <= BAND[1])))

    assert compliance["all"]["steps"] == int(finite.sum()) >= 8
    assert compliance["with_feedback"]["steps"] == with_fb.size
    assert compliance["with_feedback"]["in_band"] == in_band(with_fb)
    assert compliance["without_feedback"]["in_band"] == in_band(without)
    assert compliance["all"]["over_limit"] == int(np.count_nonzero(peaks[finite] > LIMIT))
    assert compliance["all"]["over_150pct_limit"] == int(
        np.count_nonzero(peaks[finite] > 1.5 * LIMIT))
    assert compliance["all"]["peak_of_peaks_pct_bw"] == pytest.approx(
        float(peaks[finite].max()), abs=0.05)
    assert stored["summary"]["live"]["feedback"]["mode"] == "faded"

    # The records: the trial assigned to a patient's session; the session page and its PDF
    # show its fading and its steps in band with / without feedback.
    import io

    from pypdf import PdfReader

    from gaitrig.processing.compliance import fading_text

    patient = rig_api.post(pwb.url + "/api/patients", json={
        "identifier": "P-0013", "name": "Ida Fading", "amputation_side": "left",
        "amputation_level": "transtibial", "body_mass_kg": 80.0})
    assert patient.status_code == 201, patient.text
    visit = rig_api.post(f"{pwb.url}/api/unassigned-trials/{trial.trial_id}/assign",
                         json={"patient_id": patient.json()["id"]})
    assert visit.status_code == 200, visit.text
    expected = fading_text(stored["summary"])
    with_pct = compliance["with_feedback"]["pct_in_band"]
    assert expected.startswith("faded, every 2.: ") and f"{with_pct:.0f} %" in expected
    rig_api.goto(page, f"{pwb.url}/history/sessions/{visit.json()['id']}")
    page.wait_for_selector("#session-page[data-loaded='true']")
    cell = page.locator(f"#trial-table tr[data-trial-id='{trial.trial_id}'] td.feedback-mode")
    assert cell.inner_text() == expected
    report = rig_api.get(f"{pwb.url}/api/sessions/{visit.json()['id']}/report.pdf")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content))
                             .pages).split())
    assert "Stepfeedback" in text.replace(" ", ""), text[:3000]  # a narrow column wraps it
    assert expected in text, text[:3000]

    # The patient page puts the trial's steps in band with and without feedback side by side.
    rig_api.goto(page, f"{pwb.url}/history/patients/{patient.json()['id']}")
    page.wait_for_selector("#patient-page[data-loaded='true']")
    row = page.locator(f"#fading-table tr[data-trial-id='{trial.trial_id}'] td")
    without_pct = compliance["without_feedback"]["pct_in_band"]
    assert row.nth(1).inner_text() == "faded, every 2."
    assert row.nth(2).inner_text() == f"{with_pct:.0f} % ({with_fb.size})"
    assert row.nth(3).inner_text() == f"{without_pct:.0f} % ({without[np.isfinite(without)].size})"
    total = page.locator("#fading-table tr[data-total] td")
    assert total.nth(2).inner_text() == f"{with_pct:.0f} % ({with_fb.size})"  # one trial
