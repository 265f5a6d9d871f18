"""Progress per exercise (issue 12, part 5): each metric only from the exercises it belongs to,
one line per exercise, in the API, the patient page (Chromium) and the progress PDF; and the
amputation levels, one list for the console and the records.

The trials are recorded once from the virtual rig through the real controller and recorder
(their metrics and steps from the real analysis of the stored frames), in a SQLite file: two
sessions of one patient on two days, each trial put into its session as the records page does
(``gaitrig.db.sessions.assign_trial``). That database is backed up (``gaitrig.db.backup``) and
restored into each test's database, SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from gaitrig.cli.sources import board_source
from gaitrig.db import backup, clinic, sessions
from gaitrig.db import models as m
from gaitrig.db.engine import make_engine
from gaitrig.rig.clinic.metric_guide import BELONGS, GUIDE
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.model import Exercise, Targets
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer

DAY_1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 9, 9, 30, tzinfo=UTC)
#: The partial-weight-bearing band (% BW): the virtual walker's prosthetic peaks (62 % BW, 2 %
#: CV) fall in it, the sound foot's (85 % BW) above it; so the share of prosthetic steps on target
#: (100 %) differs from the share of all steps (about half) and from the sound side's (0 %).
PWB_BAND = (40.0, 75.0)


@dataclass(frozen=True)
class Recorded:
    archive: Path
    patient_id: int
    session_ids: list[int]  # day 1, day 2
    trials: dict[str, int]  # name -> trial id
    metrics: dict[str, dict[str, Any]]  # name -> the stored trial_metrics columns
    steps_on_target_pct: float  # the PWB trial's, counted from its stored step rows
    sound_steps_on_target: int  # the PWB trial's sound steps whose peak is in the band


#: (name, exercise, what the virtual patient does, seconds, day). "Q2" is a quiet-standing
#: trial in which the patient steps about: the analysis stores a cadence for it, which must
#: reach no chart.
PLAN = (("W1", Exercise.WALKING, "walking", 5.0, 0),
        ("Q1", Exercise.QUIET_STANDING, "standing", 4.0, 0),
        ("WS1", Exercise.WEIGHT_SHIFT, "weight_shift", 4.0, 0),
        ("S1", Exercise.SIT_TO_STAND, "standing", 3.0, 0),
        ("W2", Exercise.WALKING, "walking", 5.0, 1),
        ("Q2", Exercise.QUIET_STANDING, "walking", 5.0, 1),
        ("P2", Exercise.PARTIAL_WEIGHT_BEARING, "walking", 6.0, 1))


def record(controller: RigController, exercise: Exercise, activity: str, seconds: float
           ) -> int:
    controller.set_exercise(exercise)
    if exercise == Exercise.PARTIAL_WEIGHT_BEARING:
        controller.set_targets(Targets(*PWB_BAND))
    rig = controller.virtual_rig
    assert rig is not None
    begins = rig.set_activity(activity)
    time.sleep(max(0.0, begins - time.monotonic()) + 1.0)  # settled into the activity
    trial = controller.start_trial()  # the exercise chosen above, the activity as it is
    time.sleep(seconds)
    controller.stop_trial()
    assert controller.wait_for_recording(120), "the recording was not stored within 120 s"
    return trial.trial_id


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    folder = tmp_path_factory.mktemp("progress")
    url = f"sqlite:///{folder / 'recorded.sqlite3'}"
    records = Records.open(url)
    settings = Settings(data_dir=folder, simulate=True, simulate_activity="standing")
    controller = RigController(settings, records=records, source=board_source(settings))
    controller.start()
    try:
        assert controller.wait_until_streaming(30), "virtual rig did not stream"
        trials = {name: record(controller, exercise, activity, seconds)
                  for name, exercise, activity, seconds, _ in PLAN}
    finally:
        controller.stop()
    with records.sessions() as db:
        patient = clinic.add_patient(db, "MRN-7", "Ines Duarte", amputation_side="left",
                                     amputation_level="knee_disarticulation")
        visits = [sessions.start_session(db, patient.id, "rig-test", started_at=day)
                  for day in (DAY_1, DAY_2)]
        for offset, (name, _, _, _, day) in enumerate(PLAN):
            row = sessions.assign_trial(db, trials[name], visits[day].id)
            span = (row.ended_at or row.started_at) - row.started_at
            row.started_at = visits[day].started_at + timedelta(minutes=5 * offset)
            row.ended_at = row.started_at + span
        db.commit()
        metrics = {}
        for name, trial_id in trials.items():
            stored = db.get(m.TrialMetric, trial_id)
            assert stored is not None, f"{name} was not analysed"
            metrics[name] = {c: getattr(stored, c) for c in (
                "prosthetic_load_share_pct", "stance_time_symmetry_index_pct",
                "bar_reliance_mean_pct_bw", "cadence_steps_per_min", "sway_area_95_mm2")}
        steps = db.scalars(select(m.StepEvent).where(m.StepEvent.trial_id == trials["P2"])).all()
        low, high = PWB_BAND

        def on_target(prosthetic: bool) -> list[bool]:
            return [s.peak_load_pct_bw is not None and low <= s.peak_load_pct_bw <= high
                    for s in steps if s.prosthetic == prosthetic]

        assert on_target(True), "the PWB trial has no prosthetic steps"
        on_target_pct = 100.0 * sum(on_target(True)) / len(on_target(True))
        sound_on_target = sum(on_target(False))
    archive = folder / "recorded.zip"
    backup.backup(records.engine, archive)
    records.close()
    return Recorded(archive, patient.id, [v.id for v in visits], trials, metrics,
                    on_target_pct, sound_on_target)


def restored(recorded: Recorded, url: str) -> str:
    engine = make_engine(url)
    try:
        backup.restore(engine, recorded.archive)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def client(recorded: Recorded, database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The real app (no boards) on the restored records, logged in."""
    from gaitrig.web_ui.app import create_app

    restored(recorded, database_url)
    app = create_app(Settings(database_url=database_url, simulate=False, data_dir=tmp_path))
    with TestClient(app) as test_client:
        rig_api.ensure_account(database_url)
        yield rig_api.log_in(test_client)


def lines_of(detail: dict[str, Any]) -> dict[tuple[str, str | None], list[dict[str, Any]]]:
    return {(s["metric"], s["exercise"]): s["points"] for s in detail["progress_series"]}


def test_the_recorded_trials_are_what_the_checks_need(recorded: Recorded) -> None:
    """The premises: each trial has the values the checks below rely on (else they would pass
    for the wrong reason)."""
    got = recorded.metrics
    for name in ("W1", "W2", "P2"):
        assert got[name]["cadence_steps_per_min"] is not None, name
    assert got["Q2"]["cadence_steps_per_min"] is not None  # the patient stepped: a cadence
    for name in ("Q1", "Q2", "WS1"):
        assert got[name]["sway_area_95_mm2"] is not None, name  # both standing exercises
    assert got["WS1"]["prosthetic_load_share_pct"] is not None
    assert all(got[name]["bar_reliance_mean_pct_bw"] is not None for name in got)
    # the prosthetic steps are on target, the sound ones are not: counting the wrong side, or
    # both, would give another figure
    assert recorded.steps_on_target_pct == 100.0 and recorded.sound_steps_on_target == 0


def test_each_metric_only_from_its_exercises_one_line_per_exercise(client: TestClient,
                                                                   recorded: Recorded) -> None:
    detail = client.get(f"/api/patients/{recorded.patient_id}").json()
    lines = lines_of(detail)
    got, ids = recorded.metrics, recorded.session_ids

    def values(metric: str, exercise: str) -> list[tuple[int, Any]]:
        return [(p["session_id"], p["value"]) for p in lines[metric, exercise]]

    # cadence: the walking line holds each day's walking trial exactly (Q2's cadence, stored,
    # is not averaged in), two sessions on two days give two points; PWB is a line of its own
    cadence = "cadence_steps_per_min"
    assert values(cadence, "walking") == [(ids[0], pytest.approx(got["W1"][cadence])),
                                          (ids[1], pytest.approx(got["W2"][cadence]))]
    assert [p["started_at"][:10] for p in lines[cadence, "walking"]] == ["2026-11-02",
                                                                        "2026-11-09"]
    assert values(cadence, "partial_weight_bearing") == [
        (ids[1], pytest.approx(got["P2"][cadence]))]
    assert {e for metric, e in lines if metric == cadence} == {"walking", "partial_weight_bearing"}
    # sway: quiet standing only; the weight shift's sway (stored) reaches no chart
    sway = "sway_area_95_mm2"
    assert values(sway, "quiet_standing") == [(ids[0], pytest.approx(got["Q1"][sway])),
                                              (ids[1], pytest.approx(got["Q2"][sway]))]
    assert [e for metric, e in lines if metric == sway] == ["quiet_standing"]
    # load share: walking and quiet standing, one line each
    share = "prosthetic_load_share_pct"
    assert values(share, "walking") == [(ids[0], pytest.approx(got["W1"][share])),
                                        (ids[1], pytest.approx(got["W2"][share]))]
    assert values(share, "quiet_standing") == [(ids[0], pytest.approx(got["Q1"][share])),
                                               (ids[1], pytest.approx(got["Q2"][share]))]
    assert {e for metric, e in lines if metric == share} == {"walking", "quiet_standing"}
    # bar reliance: every exercise, a line each, each from its own trials only
    bars = "bar_reliance_mean_pct_bw"
    assert values(bars, "sit_to_stand") == [(ids[0], pytest.approx(got["S1"][bars]))]
    assert values(bars, "weight_shift") == [(ids[0], pytest.approx(got["WS1"][bars]))]
    assert len({e for metric, e in lines if metric == bars}) == 5
    # PWB compliance: steps on target, as counted from the PWB trial's stored steps
    assert values("pwb_steps_on_target_pct", "partial_weight_bearing") == [
        (ids[1], pytest.approx(recorded.steps_on_target_pct))]
    # nothing but the declared pairs
    for metric, exercise in lines:
        assert exercise is None or exercise in BELONGS[metric], (metric, exercise)
    assert [p["trials"] for p in detail["progress"]] == [4, 3]

    guide = {g["key"]: g for g in client.get("/api/metric-guide").json()}
    assert guide[sway]["exercises"] == ["quiet_standing"]
    assert guide[cadence]["exercises"] == ["walking", "partial_weight_bearing"]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "") for page in reader.pages).split())


def test_the_progress_pdf_lists_each_metric_per_exercise(client: TestClient,
                                                         recorded: Recorded) -> None:
    answer = client.get(f"/api/patients/{recorded.patient_id}/report.pdf")
    assert answer.status_code == 200
    text = pdf_text(answer.content)
    got = recorded.metrics
    cadence = f"Cadence (steps/min) walking 2 2026-11-02: {got['W1']['cadence_steps_per_min']:.1f}"
    assert cadence + f"; 2026-11-09: {got['W2']['cadence_steps_per_min']:.1f}" in text
    assert (f"Cadence (steps/min) partial weight bearing 1 2026-11-09: "
            f"{got['P2']['cadence_steps_per_min']:.1f}") in text
    assert (f"Sway area (95 %) (mm²) quiet standing 2 2026-11-02: "
            f"{got['Q1']['sway_area_95_mm2']:.1f}") in text
    assert f"{got['WS1']['sway_area_95_mm2']:.1f}" not in text  # the weight shift's sway
    assert (f"partial weight bearing 1 2026-11-09: {recorded.steps_on_target_pct:.0f}") in text
    assert "Bar reliance (% BW) sit to stand 1" in text
    assert "quiet standing" in text and "Each metric is taken only from the exercises" in text

    # the session report shows a metric only for trials of its exercises
    text = pdf_text(client.get(f"/api/sessions/{recorded.session_ids[1]}/report.pdf").content)
    assert f"{got['W2']['cadence_steps_per_min']:.1f}" in text
    assert f"{got['Q2']['cadence_steps_per_min']:.1f}" not in text


@pytest.mark.browser
def test_the_patient_page_draws_a_line_per_exercise(
        recorded: Recorded, server_factory: Any, chromium_browser: Any, tmp_path: Path,
        artifacts: Path) -> None:
    url = restored(recorded, f"sqlite:///{tmp_path / 'page.sqlite3'}")
    live: LiveServer = server_factory(database_url=url, simulate_activity="off_rig")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        rig_api.goto(page, f"{live.url}/history/patients/{recorded.patient_id}")
        page.wait_for_selector("#patient-page[data-loaded='true']")

        def figure(metric: str) -> Any:
            return page.locator(f"figure[data-metric='{metric}']")

        cadence = figure("cadence_steps_per_min")
        assert cadence.get_attribute("data-exercises") == "walking,partial_weight_bearing"
        assert cadence.locator("[data-exercise='walking']").get_attribute("data-points") == "2"
        assert cadence.locator(
            "[data-exercise='partial_weight_bearing']").get_attribute("data-points") == "1"
        # uPlot drew both lines: a legend with one entry per exercise
        legend = cadence.locator(".u-legend .u-series")
        assert legend.count() == 3  # the x axis and two lines
        assert "walking" in legend.nth(1).inner_text()
        assert "partial weight bearing" in legend.nth(2).inner_text()
        sway = figure("sway_area_95_mm2")
        assert sway.get_attribute("data-exercises") == "quiet_standing"
        assert sway.get_attribute("data-points") == "2"
        assert sway.locator("canvas").count() >= 1
        bars = figure("bar_reliance_mean_pct_bw")
        assert len((bars.get_attribute("data-exercises") or "").split(",")) == 5
        assert figure("pwb_steps_on_target_pct").get_attribute(
            "data-exercises") == "partial_weight_bearing"
        assert figure("pain_score_max").get_attribute("data-points") == "0"
        assert "No measurements yet" in figure("pain_score_max").inner_text()
        assert page.locator("figure[data-metric]").count() == len(GUIDE)
        page.screenshot(path=str(artifacts / "history-progress-per-exercise.png"),
                        full_page=True)
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


# -- the amputation levels: one list for the console and the records ----------------------------


def level_enum(model: Any) -> list[str]:
    """The levels a request body's ``amputation_level`` accepts (its JSON schema's enum)."""
    schema = model.model_json_schema()["properties"]["amputation_level"]
    (choice,) = [c for c in schema.get("anyOf", [schema]) if "enum" in c]
    return list(choice["enum"])


def test_the_console_and_the_records_accept_the_same_levels() -> None:
    from gaitrig.web_ui.routers import console, patients

    assert level_enum(console.PatientIn) == list(m.AMPUTATION_LEVELS)
    assert level_enum(patients.PatientIn) == list(m.AMPUTATION_LEVELS)
    assert level_enum(patients.PatientPatch) == list(m.AMPUTATION_LEVELS)
    assert "knee_disarticulation" in m.AMPUTATION_LEVELS  # the records' finer levels


@pytest.mark.browser
def test_the_console_form_offers_the_records_levels(server_factory: Any, chromium_browser: Any,
                                                    artifacts: Path) -> None:
    live: LiveServer = server_factory(simulate_activity="off_rig", body_mass_kg=80.0)
    served = rig_api.get(live.url + "/api/amputation-levels").json()
    assert [level["key"] for level in served] == list(m.AMPUTATION_LEVELS)
    assert served[2] == {"key": "transtibial", "label": "Transtibial (below knee)"}
    patient = rig_api.post(live.url + "/api/patients", json={
        "identifier": "KD-1", "name": "Rui Lima", "amputation_side": "right",
        "amputation_level": "knee_disarticulation", "body_mass_kg": 70.0}).json()
    refused = rig_api.put(live.url + "/api/rig/patient", json={
        "display_name": "Rui", "body_mass_kg": 70.0, "prosthetic_side": "right",
        "amputation_level": "below_knee"})
    assert refused.status_code == 422 and "amputation_level" in refused.text

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    options = "(s) => [...s.options].map((o) => [o.value, o.textContent.trim()])"
    try:
        rig_api.goto(page, live.url + "/history")
        page.wait_for_function(
            "document.querySelectorAll('#add-level option').length > 1")
        records_levels = page.eval_on_selector("#add-level", options)
        rig_api.goto(page, live.url + "/console")
        page.wait_for_function(
            "document.querySelectorAll('#patient-level option').length > 1")
        console_levels = page.eval_on_selector("#patient-level", options)
        assert console_levels == [[level["key"], level["label"]] for level in served]
        assert records_levels[1:] == console_levels and records_levels[0][0] == ""
        # a patient of a level the console did not know before keeps it on the rig
        page.fill("#patient-search", "lima")
        page.click(f'#patient-results [data-patient-id="{patient["id"]}"]')
        page.wait_for_function(
            "document.getElementById('patient-level').value === 'knee_disarticulation'")
        page.fill("#patient-display-name", "Rui")
        page.click("#patient-apply")
        page.wait_for_function("document.getElementById('rig-patient-facts').textContent"
                               ".includes('knee disarticulation')")
        assert live.controller.patient.amputation_level == "knee_disarticulation"
        page.screenshot(path=str(artifacts / "console-amputation-levels.png"))
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"
