"""A clinic day as a therapist lives it, the whole way: console in Chromium -> server -> database
-> records pages -> exports, with data the product itself produced (virtual rig, no seeded rows).

Day one: log in on the tablet, register a patient with body mass, tare, calibrate the insoles,
confirm the shoes, run a short trial of each of the five exercises (targets in kg for one and in
% body weight for another, a pause and resume in one, events marked), end the session. Then the
records: the patient page, the session page, two trials side by side, CSV, C3D and both PDFs,
each checked against the database. Day two (day one moved back 24 h in the database, the only
thing the test writes there): the same patient, one tap for the same shoes, a walking trial, and
the progress charts show two points. Screenshots of every step in ``test-artifacts/clinic-day-*``.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import ezc3d
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select

from gaitrig.db import models as m
from gaitrig.rig.records import Records
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

MASS_KG = 75.0  # the virtual patient's body mass (its default)
SHOES = "own trainers, black"
EXERCISES = ("quiet_standing", "weight_shift", "walking", "partial_weight_bearing",
             "sit_to_stand")


@pytest.fixture
def rig(server_factory: Any) -> LiveServer:
    server: LiveServer = server_factory(simulate_activity="off_rig", body_mass_kg=MASS_KG)
    return server


@pytest.fixture
def tablet(open_page: PageFactory) -> Page:  # noqa: F811
    """The therapist's tablet: 1024x768, touch, downloads kept."""
    page, _ = open_page(1024, 768, has_touch=True, accept_downloads=True)
    page.set_default_timeout(30_000)
    return page


class Shots:
    """Numbered screenshots of each step of the day."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.count = page, folder, 0

    def __call__(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"clinic-day-{self.count:02d}-{name}.png"),
                             full_page=True)


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/console")
    page.wait_for_url("**/login**")
    page.fill("#username", rig_api.USERNAME)
    page.fill("#password", rig_api.PASSWORD)
    page.click("#login-button")
    page.wait_for_url("**/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")


def register_patient(page: Page) -> None:
    page.click("#patient-new")
    page.fill("#patient-identifier", "CLINIC-DAY-1")
    page.fill("#patient-display-name", "Rosa Day")
    page.fill("#patient-mass", str(MASS_KG))
    page.check('#patient-side input[value="left"]', force=True)
    page.select_option("#patient-level", "transtibial")
    page.click("#patient-apply")
    expect(page.locator("#patient-result")).to_contain_text("Rosa Day is on the rig")
    expect(page.locator("#visit-session")).to_contain_text("Session #")


def tare_and_calibrate(page: Page, url: str, shots: Shots) -> None:
    time.sleep(1.2)  # a second of quiet bars: nobody on the rig yet
    page.click("#tare-button")
    expect(page.locator("#tare-result")).to_have_attribute("data-accepted", "true")
    # The virtual patient steps onto the insoles and takes each posture the wizard asks for
    # (the patient display says it in words): nothing is set on the simulator here.
    display = page.context.new_page()
    display.goto(rig_api.display_url(url))
    for phase, words in (("both", "both feet"), ("left", "LEFT foot"),
                         ("right", "RIGHT foot")):
        page.click("#calib-next")
        expect(display.locator("#instruction-text")).to_contain_text(words)
        if phase == "left":
            display.screenshot(path=str(shots.folder / "clinic-day-03a-display-asks.png"))
        expect(page.locator(f'#calib-steps [data-phase="{phase}"]')).to_have_attribute(
            "data-state", "done", timeout=15_000)
    expect(display.locator("#instruction")).to_be_hidden()
    display.close()
    expect(page.locator("#calib-result")).to_have_attribute("data-accepted", "true",
                                                            timeout=15_000)


def choose_exercise(page: Page, exercise: str) -> None:
    button = page.locator(f'#exercise-buttons [data-exercise="{exercise}"]')
    button.click()
    expect(button).to_have_attribute("aria-checked", "true")


def set_targets(page: Page, unit: str, low: float, high: float, limit: float | None) -> None:
    page.locator("#target-unit span", has_text="kg" if unit == "kg" else "% body weight").click()
    page.fill("#band-low", str(low))
    page.fill("#band-high", str(high))
    page.fill("#limit", "" if limit is None else str(limit))
    page.click("#targets-apply")
    expect(page.locator("#targets-result")).to_contain_text("Targets set")


def run_trial(page: Page, seconds: float, marks: tuple[str, ...] = (),
              pause: bool = False) -> int:
    page.click("#trial-start")
    card = page.locator("#trial-card")
    expect(card).to_have_attribute("data-state", "running")
    started = page.inner_text("#trial-result")
    trial_id = int(started.split("Trial ")[1].split()[0])
    for note in marks:
        page.fill("#mark-note", note)
        page.click("#mark-button")
        expect(page.locator("#mark-list li", has_text=note)).to_be_visible()
    time.sleep(seconds / 2)
    if pause:
        page.click("#trial-pause")
        expect(card).to_have_attribute("data-state", "paused")
        time.sleep(1.0)
        page.click("#trial-pause")  # now "Resume"
        expect(card).to_have_attribute("data-state", "running")
    time.sleep(seconds / 2)
    page.click("#trial-stop")
    expect(page.locator("#summary")).to_be_visible(timeout=15_000)
    return trial_id


def wait_for_analysis(rig: LiveServer) -> None:
    assert rig.controller.wait_for_recording(60), "the trials' recordings were not written"


def download(page: Page, selector: str) -> tuple[bytes, str]:
    with page.expect_download() as caught:
        page.click(selector)
    return Path(caught.value.path()).read_bytes(), caught.value.suggested_filename


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())  # table cells wrap: one space between words


def stored_trials(database_url: str, patient_id: int) -> list[tuple[m.Trial, m.TrainingSession,
                                                                    m.TrialMetric | None]]:
    records = Records.open(database_url)
    try:
        with records.sessions() as db:
            rows = db.execute(
                select(m.Trial, m.TrainingSession, m.TrialMetric)
                .join(m.TrainingSession, m.TrainingSession.id == m.Trial.session_id)
                .outerjoin(m.TrialMetric, m.TrialMetric.trial_id == m.Trial.id)
                .where(m.TrainingSession.patient_id == patient_id)
                .order_by(m.Trial.id)).all()
            db.expunge_all()
            return [(t, s, metric) for t, s, metric in rows]
    finally:
        records.close()


def recorded_frames(database_url: str, trial_id: int) -> dict[str, int]:
    """Frames stored per board (role) for the trial."""
    records = Records.open(database_url)
    try:
        with records.sessions() as db:
            return {role: int(n) for role, n in db.execute(
                select(m.RecordingChunk.role, func.sum(m.RecordingChunk.frame_count))
                .where(m.RecordingChunk.trial_id == trial_id)
                .group_by(m.RecordingChunk.role)).all()}
    finally:
        records.close()


def result_rows(database_url: str, trial_id: int) -> int:
    """Rows of the live pipeline's results stored for the trial (the insoles' timeline)."""
    records = Records.open(database_url)
    try:
        with records.sessions() as db:
            return int(db.scalar(select(func.sum(m.ResultChunk.row_count))
                                 .where(m.ResultChunk.trial_id == trial_id)) or 0)
    finally:
        records.close()


def move_day_back(database_url: str, session_id: int) -> None:
    """Day one happened yesterday: its session and trials 24 h earlier (what a real second day
    would find; nothing else is written by the test)."""
    day = timedelta(days=1)
    records = Records.open(database_url)
    try:
        with records.sessions() as db:
            visit = db.get(m.TrainingSession, session_id)
            assert visit is not None and visit.ended_at is not None
            visit.started_at, visit.ended_at = visit.started_at - day, visit.ended_at - day
            for trial in db.scalars(select(m.Trial).where(m.Trial.session_id == session_id)):
                assert trial.ended_at is not None
                trial.started_at, trial.ended_at = trial.started_at - day, trial.ended_at - day
            db.commit()
    finally:
        records.close()


def test_a_clinic_day_reaches_the_records_and_the_exports(rig: LiveServer, tablet: Page,
                                                          artifacts: Path) -> None:
    page, url = tablet, rig.url
    database_url = rig.settings.resolved_database_url()
    me = rig_api.get(url + "/api/session").json()
    shot = Shots(page, artifacts)

    # -- day one, at the rig ---------------------------------------------------------------
    log_in(page, url)
    shot("console")
    register_patient(page)
    patient_id = rig.controller.patient.patient_id
    assert patient_id is not None
    shot("patient")
    tare_and_calibrate(page, url, shot)
    shot("calibrated")

    page.click("#trial-start")  # the shoes first: the console asks for them
    expect(page.locator("#trial-result")).to_contain_text("Which shoes")
    page.fill("#footwear-input", SHOES)
    page.click("#footwear-confirm")
    expect(page.locator("#footwear-now")).to_contain_text(SHOES)

    trial_ids: dict[str, int] = {}
    marks: dict[str, tuple[str, ...]] = {}
    for exercise in EXERCISES:
        choose_exercise(page, exercise)
        if exercise == "walking":  # targets in kg: 40-60 % of 75 kg, limit 80 %
            set_targets(page, "kg", 30, 45, 60)
        elif exercise == "partial_weight_bearing":  # in % BW
            set_targets(page, "pct_bw", 20, 40, 50)
        marks[exercise] = ("knee gave way",) if exercise == "walking" else (
            ("sat down early",) if exercise == "sit_to_stand" else ())
        trial_ids[exercise] = run_trial(page, 6.0 if exercise in ("walking",
                                                                  "partial_weight_bearing")
                                        else 4.0, marks[exercise],
                                        pause=exercise == "weight_shift")
        shot(f"trial-{exercise}")
    wait_for_analysis(rig)
    page.click("#session-end")
    expect(page.locator("#visit-session")).to_contain_text("Session ended")
    shot("session-ended")

    # -- the database holds what the console did ---------------------------------------------
    rows = stored_trials(database_url, patient_id)
    assert [t.id for t, _, _ in rows] == [trial_ids[e] for e in EXERCISES]
    session_ids = {s.id for _, s, _ in rows}
    assert len(session_ids) == 1  # one visit, one session
    day_one = session_ids.pop()
    for (trial, visit, metric), exercise in zip(rows, EXERCISES, strict=True):
        assert trial.exercise == exercise and trial.footwear == SHOES
        assert trial.clinician_id == me["clinician_id"] and visit.clinician_id == me["clinician_id"]
        assert visit.patient_id == patient_id and visit.ended_at is not None
        # "gaps": a frame lost on the way (a virtual board starved of CPU on a loaded machine
        # drops one now and then); the frame count below says how much is there.
        assert trial.recording_status in ("complete", "gaps"), (exercise, trial.recording_status)
        assert metric is not None, f"{exercise}: no metrics stored"
        assert metric.duration_s > 3.0
        frames = recorded_frames(database_url, trial.id)
        rate_hz = rig.settings.insole_rate_hz
        recorded_s = metric.duration_s - (2.0 if exercise == "weight_shift" else 0.0)  # paused
        assert frames["insole_left"] >= 0.9 * rate_hz * recorded_s, (exercise, frames)
    ended_at = max(t.ended_at for t, _, _ in rows if t.ended_at is not None)
    assert rows[0][1].ended_at == ended_at  # the session ends at its last trial's end
    walking = next(r for r in rows if r[0].exercise == "walking")
    assert walking[0].targets is not None and walking[0].targets["unit"] == "kg"
    assert walking[0].targets["band_low_pct_bw"] == pytest.approx(40.0)
    pwb = next(r for r in rows if r[0].exercise == "partial_weight_bearing")
    assert pwb[0].targets is not None and pwb[0].targets["unit"] == "pct_bw"
    gait = rig.controller.virtual_rig.patient.gait  # type: ignore[union-attr]
    walking_metric = walking[2]
    assert walking_metric is not None and walking_metric.step_count >= 4
    assert walking_metric.cadence_steps_per_min == pytest.approx(
        gait.cadence_steps_per_min, rel=0.2)  # the virtual patient's own cadence
    standing_metric = rows[0][2]
    assert standing_metric is not None and standing_metric.sway_area_95_mm2 is not None
    assert standing_metric.cadence_steps_per_min is None or standing_metric.step_count == 0

    # -- the records pages -------------------------------------------------------------------
    page.goto(f"{url}/history/patients/{patient_id}")
    page.wait_for_selector("#patient-page[data-loaded='true']")
    assert page.inner_text("#patient-name") == "Rosa Day"
    sessions_rows = page.locator("#session-table tbody tr[data-session-id]")
    assert sessions_rows.count() == 1
    assert sessions_rows.first.get_attribute("data-session-id") == str(day_one)
    cadence = page.locator("figure[data-metric='cadence_steps_per_min']")
    assert cadence.locator("span[data-exercise='walking']").get_attribute("data-points") == "1"
    assert cadence.locator("span[data-exercise='quiet_standing']").count() == 0
    shot("patient-page-day-one")

    page.goto(f"{url}/history/sessions/{day_one}")
    page.wait_for_selector("#session-page[data-loaded='true']")
    assert "Rosa Day" in page.inner_text("#session-title")
    assert me["name"] in page.inner_text("#session-facts")
    for exercise in EXERCISES:
        row = page.locator(f"#trial-table tr[data-trial-id='{trial_ids[exercise]}']")
        text = row.inner_text()
        assert exercise.replace("_", " ") in text and SHOES in text, text
    shot("session-page")

    walk_id = trial_ids["walking"]
    steps_csv, name = download(page, f"#download-steps-{walk_id}")
    assert name.endswith(".csv")
    steps = list(csv.DictReader(io.StringIO(steps_csv.decode())))
    assert len(steps) == walking_metric.step_count
    assert {s["foot"] for s in steps} <= {"left", "right"}
    row = page.locator(f"#trial-table tr[data-trial-id='{walk_id}']")
    with page.expect_download() as caught:
        row.locator("a", has_text="Raw left").click()
    raw = list(csv.reader(io.StringIO(Path(caught.value.path()).read_text())))
    assert len(raw) > 4000  # 6 s at 1000 Hz and more: every frame of the left insole
    c3d_bytes, _ = download(page, f"#download-c3d-{walk_id}")
    c3d_path = artifacts / "clinic-day-walking.c3d"
    c3d_path.write_bytes(c3d_bytes)
    c3d = ezc3d.c3d(str(c3d_path))
    labels = c3d["parameters"]["ANALOG"]["LABELS"]["value"]
    assert "left_foot_N" in labels and "right_foot_N" in labels
    analog_rate = c3d["parameters"]["ANALOG"]["RATE"]["value"][0]
    samples = c3d["data"]["analogs"].shape[-1]
    assert analog_rate == rig.settings.insole_rate_hz  # the insoles' timeline
    rows = result_rows(database_url, walk_id)
    assert rows - 10 < samples <= rows  # every stored result row (whole 100 Hz frames)
    event_contexts = c3d["parameters"]["EVENT"]["CONTEXTS"]["value"]
    event_labels = c3d["parameters"]["EVENT"]["LABELS"]["value"]
    assert set(event_contexts) == {"Left", "Right"}
    heel_strikes = sum(label == "Foot Strike" for label in event_labels)
    assert heel_strikes == len(steps)

    session_pdf, _ = download(page, "#download-session-report")
    (artifacts / "clinic-day-session.pdf").write_bytes(session_pdf)
    text = pdf_text(session_pdf)
    assert "Rosa Day" in text and me["name"] in text
    for exercise in EXERCISES:
        assert str(trial_ids[exercise]) in text
    # narrow table cells: pypdf may split a word ("own tr ainers"), so compare without spaces
    assert "".join(text.split()).count("".join(SHOES.split())) == len(EXERCISES)  # each trial

    page.goto(f"{url}/history/compare?a={trial_ids['walking']}&b={trial_ids['partial_weight_bearing']}")
    page.wait_for_selector("#compare-page[data-loaded='true']")
    assert "different exercises" in page.inner_text("#compare-warning")
    steps_row = page.locator("#compare-table tr[data-metric='step_count']")
    assert steps_row.locator("[data-trial='a']").inner_text() == str(walking_metric.step_count)
    shot("compare")

    # -- day two: the same patient, the same shoes in one tap --------------------------------
    move_day_back(database_url, day_one)
    page.goto(url + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    page.fill("#patient-search", "CLINIC-DAY")
    page.locator(f'#patient-results [data-patient-id="{patient_id}"]').click()
    expect(page.locator("#patient-mass")).to_have_value(str(int(MASS_KG)))
    page.click("#patient-apply")
    expect(page.locator("#patient-result")).to_contain_text("is on the rig")
    same = page.locator("#footwear-same")
    expect(same).to_contain_text(SHOES)
    same.click()
    expect(page.locator("#footwear-now")).to_contain_text(SHOES)
    choose_exercise(page, "walking")
    day_two_trial = run_trial(page, 6.0, ("second day",))
    wait_for_analysis(rig)
    page.click("#session-end")
    expect(page.locator("#visit-session")).to_contain_text("Session ended")
    shot("day-two")

    rows = stored_trials(database_url, patient_id)
    assert rows[-1][0].id == day_two_trial and rows[-1][0].footwear == SHOES
    assert rows[-1][1].id != day_one  # a second session

    page.goto(f"{url}/history/patients/{patient_id}")
    page.wait_for_selector("#patient-page[data-loaded='true']")
    assert page.locator("#session-table tbody tr[data-session-id]").count() == 2
    cadence = page.locator("figure[data-metric='cadence_steps_per_min']")
    walking_line = cadence.locator("span[data-exercise='walking']")
    assert walking_line.get_attribute("data-points") == "2"  # a point per day
    assert cadence.locator("span[data-exercise='partial_weight_bearing']").get_attribute(
        "data-points") == "1"  # partial weight bearing on day one only
    sway = page.locator("figure[data-metric='sway_area_95_mm2']")
    assert sway.get_attribute("data-points") == "1"  # quiet standing on day one only
    shot("patient-page-two-days")
    patient_pdf, _ = download(page, "#download-patient-report")
    text = pdf_text(patient_pdf)
    assert "Rosa Day" in text and "CLINIC-DAY-1" in text
    (artifacts / "clinic-day-progress.pdf").write_bytes(patient_pdf)
    compare = page.locator("#compare-a option")
    assert compare.count() == len(EXERCISES) + 1  # every trial of both days can be compared
