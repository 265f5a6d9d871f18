"""The clinic-records pages in real Chromium against the real server: the patient list search,
the progress charts, the compare view, a session's replay, notes and downloads. The records are
seeded through the db query layer before the server starts (SQLite file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gaitrig.db import clinic
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer
from tests import clinic_seed

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded_server(server_factory: Callable[..., LiveServer], tmp_path: Path
                  ) -> Iterator[tuple[LiveServer, int, list[int], list[clinic_seed.SeededTrial]]]:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    with clinic_seed.open_session(url) as session:
        patient_id, session_ids, trials = clinic_seed.seed_patient_history(session)
        for number, name in enumerate(["Lars Lopes", "Ana Silva", "Bruno Costa", "Chen Wei"]):
            clinic.add_patient(session, f"OTHER-{number}", name)
    live = server_factory(database_url=url, simulate_activity="off_rig")
    yield live, patient_id, session_ids, trials


@pytest.fixture
def page(chromium_browser: Any) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1000},
                                           accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_patient_list_search_finds_the_seeded_patient(seeded_server: Any, page: Any,
                                                      artifacts: Path) -> None:
    live, patient_id, _, _ = seeded_server
    rig_api.goto(page, live.url + "/history")
    rows = page.locator("#patient-table tbody tr[data-patient-id]")
    rows.first.wait_for()
    assert rows.count() == 5
    page.fill("#patient-search", "lopez")
    page.wait_for_function("document.querySelectorAll('#patient-table tbody tr').length === 1")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-patient-id") == str(patient_id)
    assert "Maria Lopez" in rows.first.inner_text() and "MRN-0042" in rows.first.inner_text()
    assert "4" in rows.first.locator("td").nth(4).inner_text()  # four sessions
    page.screenshot(path=str(artifacts / "history-patient-search.png"), full_page=True)
    page.fill("#patient-search", "nobody-like-this")
    page.wait_for_selector("#patient-table tbody tr.empty")
    page.fill("#patient-search", "mrn-0042")
    page.wait_for_function("document.querySelectorAll('#patient-table tbody tr[data-patient-id]')"
                           ".length === 1")
    rows.first.click()
    page.wait_for_url(f"**/history/patients/{patient_id}")

    # registering: a taken record number is refused, and why
    rig_api.goto(page, live.url + "/history")
    page.fill("#add-patient input[name='identifier']", "MRN-0042")
    page.fill("#add-patient input[name='name']", "Someone Else")
    page.click("#add-patient button[type='submit']")
    page.wait_for_selector("#add-error:not(:empty)")
    assert "already" in page.inner_text("#add-error")
    page.fill("#add-patient input[name='identifier']", "MRN-0100")
    page.fill("#add-patient input[name='body_mass_kg']", "64.5")
    page.click("#add-patient button[type='submit']")
    page.wait_for_selector("#patient-page[data-loaded='true']")
    assert page.inner_text("#patient-name") == "Someone Else"
    assert "64.5 kg" in page.inner_text("#patient-facts")


def test_patient_page_charts_a_point_per_session(seeded_server: Any, page: Any,
                                                 artifacts: Path) -> None:
    live, patient_id, session_ids, _ = seeded_server
    rig_api.goto(page, f"{live.url}/history/patients/{patient_id}")
    page.wait_for_selector("#patient-page[data-loaded='true']")
    assert page.inner_text("#patient-name") == "Maria Lopez"
    for metric in ("prosthetic_load_share_pct", "stance_time_symmetry_index_pct",
                   "bar_reliance_mean_pct_bw", "cadence_steps_per_min", "pain_score_max"):
        figure = page.locator(f"figure[data-metric='{metric}']")
        assert figure.get_attribute("data-points") == str(len(session_ids)), metric
        assert figure.locator("canvas").count() >= 1, metric  # uPlot drew it
    sway = page.locator("figure[data-metric='sway_area_95_mm2']")  # walking only: no sway
    assert sway.get_attribute("data-points") == "0"
    assert "No measurements yet" in sway.inner_text()
    assert "50 is even" in page.inner_text("figure[data-metric='prosthetic_load_share_pct']")
    assert page.locator("#session-table tbody tr[data-session-id]").count() == len(session_ids)
    assert "residual limb" in page.inner_text("#patient-notes")
    page.screenshot(path=str(artifacts / "history-patient-progress.png"), full_page=True)

    page.fill("#mass-form input[name='mass_kg']", "78.5")
    page.fill("#mass-form input[name='measured_on']", "2026-11-02")
    page.click("#mass-save")
    page.wait_for_selector("#mass-table tbody tr:nth-child(2)")
    assert page.locator("#mass-table tbody tr").first.inner_text().split() == ["2026-11-02",
                                                                              "78.5"]
    assert "78.5 kg" in page.inner_text("#patient-facts")
    page.select_option("#component-form select[name='kind']", "foot")
    page.fill("#component-form input[name='description']", "Ottobock Taleo")
    page.fill("#component-form input[name='fitted_on']", "2026-10-20")
    page.click("#component-save")
    page.wait_for_selector("#component-table tbody tr:has-text('Ottobock Taleo')")
    assert "foot: Ottobock Taleo" in page.inner_text("#patient-facts")


def test_compare_view_shows_both_trials_metrics_and_steps(seeded_server: Any, page: Any,
                                                          artifacts: Path) -> None:
    live, patient_id, _, trials = seeded_server
    first, last = trials[0], trials[-1]
    rig_api.goto(page, f"{live.url}/history/patients/{patient_id}")
    page.wait_for_selector("#patient-page[data-loaded='true']")
    page.select_option("#compare-a", str(first.id))
    page.select_option("#compare-b", str(last.id))
    page.click("#compare-go")
    page.wait_for_url(f"**/history/compare?a={first.id}&b={last.id}")
    page.wait_for_selector("#compare-page[data-loaded='true']")
    share = page.locator("#compare-table tr[data-metric='prosthetic_load_share_pct']")
    assert share.locator("[data-trial='a']").inner_text() == "30.0"
    assert share.locator("[data-trial='b']").inner_text() == "48.0"
    change = share.locator("td").nth(3)
    assert "+18.0" in change.inner_text() and "better" in (change.get_attribute("class") or "")
    steps = page.locator("#compare-table tr[data-metric='step_count']")
    assert steps.locator("[data-trial='a']").inner_text() == str(len(first.steps))
    prosthetic_steps = [sum(s["foot"] == "left" for s in t.steps) for t in (first, last)]
    overlay = page.locator("#overlay-prosthetic")
    assert overlay.get_attribute("data-steps") == ",".join(map(str, prosthetic_steps))
    assert overlay.locator("canvas").count() >= 1
    page.screenshot(path=str(artifacts / "history-compare.png"), full_page=True)


def test_session_page_replay_notes_and_downloads(seeded_server: Any, page: Any,
                                                 artifacts: Path) -> None:
    live, _, session_ids, trials = seeded_server
    rig_api.goto(page, f"{live.url}/history/sessions/{session_ids[0]}")
    page.wait_for_selector("#session-page[data-loaded='true']")
    assert "Maria Lopez" in page.inner_text("#session-title")
    row = page.locator(f"#trial-table tr[data-trial-id='{trials[0].id}']")
    assert "30.0" in row.inner_text()

    with page.expect_download() as caught:
        page.click("#download-session-report")
    report = Path(caught.value.path())
    assert report.read_bytes().startswith(b"%PDF") and report.stat().st_size > 2000
    assert caught.value.suggested_filename == f"session-{session_ids[0]}.pdf"
    with page.expect_download() as caught:
        page.click(f"#download-steps-{trials[0].id}")
    lines = Path(caught.value.path()).read_text().splitlines()
    assert lines[0].startswith("step_index,foot,prosthetic") and len(lines) == \
        len(trials[0].steps) + 1

    row.locator("text=Replay").click()
    page.wait_for_selector(f"#replay-card[data-trial-id='{trials[0].id}']")
    page.locator("#replay-time").fill("1.5")  # mid-stance of the right foot, left in swing
    readout = page.inner_text("#replay-readout")
    assert "left:" in readout and "right:" in readout
    page.click("#replay-play")
    page.wait_for_function("parseFloat(document.getElementById('replay-clock').textContent) > 2")
    page.click("#replay-play")  # pause

    page.select_option("#note-form select[name='pain_score']", "3")
    page.fill("#note-form input[name='pain_location']", "knee, medial")
    page.fill("#note-form textarea[name='text']", "tired after the replay test")
    page.click("#note-save")
    page.wait_for_selector("#session-notes li:has-text('tired after the replay test')")
    assert "pain 3/10 · knee, medial" in page.inner_text("#session-notes")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "history-session.png"), full_page=True)
    page.click("#note-save")  # an empty note is refused with the reason
    page.wait_for_selector("#note-error:not(:empty)")
    assert "pain_score" in page.inner_text("#note-error")
