"""Issue 12, part 4, in real Chromium: the rig's state is shared by every console tab, and an
open console says plainly what a server restart did (the trial closed as interrupted, the login
still valid or "please log in again") instead of a stale "Recording".

The first test runs the app in this process (to read the controller); the restart tests run a
real ``rig serve --simulate`` process that is killed with SIGKILL and started again on the same
port and database, while the console stays open."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete

from gaitrig.db import models as m
from gaitrig.rig.records import Records
from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, free_port
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.integration.test_server_crash import start_server
from tests.screens import save_screenshot

pytestmark = pytest.mark.browser


def open_console(page: Page, url: str) -> None:
    page.set_default_timeout(15_000)
    rig_api.goto(page, url + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live",
                                                       timeout=30_000)


def test_a_change_in_one_tab_shows_in_the_other(server_factory: Any,
                                                open_page: PageFactory) -> None:  # noqa: F811
    rig: LiveServer = server_factory(simulate_activity="walking", body_mass_kg=80.0)
    tab_a, errors = open_page(1280, 900)
    tab_b = tab_a.context.new_page()  # a second tab of the same browser, same login
    tab_b.on("pageerror", lambda exc: errors.append(str(exc)))
    for tab in (tab_a, tab_b):
        open_console(tab, rig.url)
    expect(tab_b.locator("#targets-now")).to_contain_text("band 40\u201360 % BW")

    # targets in kg, set in tab A
    tab_a.locator("#target-unit span", has_text="kg").click()
    tab_a.fill("#band-low", "24")
    tab_a.fill("#band-high", "36")
    tab_a.fill("#limit", "44")
    tab_a.click("#targets-apply")
    expect(tab_a.locator("#targets-result")).to_contain_text("Targets set")
    assert rig.controller.monitor.targets.unit == "kg"
    expect(tab_b.locator("#targets-now")).to_contain_text(
        "band 30\u201345 % BW (24\u201336 kg) \u00b7 limit 55 % BW (44 kg)")
    expect(tab_b.locator('#target-unit input[value="kg"]')).to_be_checked()
    expect(tab_b.locator("#band-low")).to_have_value("24")

    # exercise and feedback from tab B show in tab A
    tab_b.click('#exercise-buttons [data-exercise="quiet_standing"]')
    expect(tab_a.locator('#exercise-buttons [data-exercise="quiet_standing"]')).to_have_attribute(
        "aria-checked", "true")
    tab_b.click("#fb-mute")
    expect(tab_a.locator("#fb-mute")).to_have_attribute("aria-pressed", "true")

    # a trial started in A runs in B; a mark made in A is in B's list; B pauses it
    tab_a.click('#exercise-buttons [data-exercise="walking"]')
    tab_a.click("#trial-start")
    expect(tab_b.locator("#trial-card")).to_have_attribute("data-state", "running")
    trial = rig.controller.trial
    assert trial is not None
    expect(tab_b.locator("#trial-state")).to_contain_text(f"trial {trial.trial_id}")
    tab_a.fill("#mark-note", "knee gave way")
    tab_a.click("#mark-button")
    expect(tab_a.locator("#mark-list li")).to_have_count(1)
    expect(tab_b.locator("#mark-list li")).to_have_count(1)
    expect(tab_b.locator("#mark-list li")).to_contain_text("knee gave way")
    assert [mark.note for mark in trial.marks] == ["knee gave way"]
    tab_b.fill("#mark-note", "left the bars")
    tab_b.click("#mark-button")
    expect(tab_a.locator("#mark-list li")).to_have_count(2)
    expect(tab_a.locator("#mark-list li").nth(1)).to_contain_text("left the bars")
    tab_b.click("#trial-pause")
    expect(tab_a.locator("#trial-card")).to_have_attribute("data-state", "paused")
    expect(tab_a.locator("#trial-pause")).to_have_text("Resume")
    save_screenshot(tab_a, "console-tabs-a.png")
    save_screenshot(tab_b, "console-tabs-b.png")

    tab_a.click("#trial-stop")
    expect(tab_b.locator("#trial-card")).to_have_attribute("data-state", "stopped")
    expect(tab_b.locator("#summary")).to_be_visible()  # B shows the summary A's stop made
    expect(tab_b.locator("#summary-marks")).to_contain_text("knee gave way")
    expect(tab_b.locator("#mark-list li")).to_have_count(2)  # the stopped trial's marks stay


def kill(process: Any) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


def test_a_killed_server_leaves_an_open_console_saying_what_happened(
        tmp_path: Path, open_page: PageFactory) -> None:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'gaitrig.sqlite3'}"
    port = free_port()
    process, base = start_server(tmp_path, url, port)
    processes = [process]
    try:
        page, _ = open_page(1280, 900)
        open_console(page, base)
        page.click("#trial-start")
        expect(page.locator("#trial-state")).to_contain_text("Recording")
        trial_id = int(rig_api.get(base + "/api/rig").json()["trial"]["id"])
        page.wait_for_timeout(1500)  # some recording stored

        # 1. killed and started again: the login holds, the trial was closed as interrupted
        kill(process)
        expect(page.locator("#connection-banner")).to_be_visible()
        process, _ = start_server(tmp_path, url, port)
        processes.append(process)
        banner = page.locator("#restart-banner")
        expect(banner).to_be_visible(timeout=30_000)
        expect(banner).to_have_attribute("data-login", "ok")
        expect(banner).to_have_attribute("data-trial-id", str(trial_id))
        expect(page.locator("#restart-text")).to_contain_text(
            f"Trial {trial_id} was closed as interrupted")
        expect(page.locator("#console")).to_have_attribute("data-connection", "live")
        expect(page.locator("#trial-state")).not_to_contain_text("Recording")
        expect(page.locator("#restart-login")).to_be_hidden()
        stored = rig_api.get(f"{base}/api/trials/{trial_id}").json()
        assert stored["recording_status"] == "interrupted"
        assert trial_id in rig_api.get(base + "/api/rig").json()["server"][
            "interrupted_trial_ids"]
        save_screenshot(page, "console-after-restart.png")
        page.click("#restart-dismiss")
        expect(banner).to_be_hidden()

        # 2. again mid-trial, and this time the login is gone when the server comes back
        page.click("#trial-start")
        expect(page.locator("#trial-state")).to_contain_text("Recording")
        second_id = int(rig_api.get(base + "/api/rig").json()["trial"]["id"])
        assert second_id != trial_id
        page.wait_for_timeout(1000)
        kill(process)
        records = Records.open(url)
        try:
            with records.sessions() as session:  # every login ends (as after 12 h away)
                session.execute(delete(m.LoginSessionRow))
                session.commit()
        finally:
            records.close()
        process, _ = start_server(tmp_path, url, port)
        processes.append(process)
        expect(banner).to_be_visible(timeout=30_000)
        expect(banner).to_have_attribute("data-login", "gone")
        expect(banner).to_have_attribute("data-trial-id", str(second_id))
        text = page.locator("#restart-text")
        expect(text).to_contain_text(f"Trial {second_id} was closed as interrupted")
        expect(text).to_contain_text("please log in again")
        expect(page.locator("#trial-state")).not_to_contain_text("Recording")
        expect(page.locator("#trial-card")).to_have_attribute("data-state", "interrupted")
        save_screenshot(page, "console-after-restart-logged-out.png")

        # logging in again brings the console back, and it still says what happened
        page.click("#restart-login")
        page.wait_for_url("**/login?next=%2Fconsole")
        page.fill("#username", rig_api.USERNAME)
        page.fill("#password", rig_api.PASSWORD)
        page.click("#login-button")
        page.wait_for_url(base + "/console")
        expect(banner).to_be_visible(timeout=30_000)
        expect(banner).to_have_attribute("data-login", "ok")
        expect(page.locator("#restart-text")).to_contain_text(
            f"Trial {second_id} was closed as interrupted")
        expect(page.locator("#trial-state")).not_to_contain_text("Recording")
        save_screenshot(page, "console-after-restart-logged-in-again.png")
    finally:
        rig_api.forget(base)
        for running in processes:
            if running.poll() is None:
                running.terminate()
                running.wait(30)
