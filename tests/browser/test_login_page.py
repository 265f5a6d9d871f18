"""The login page in a real Chromium: a console request goes to /login and back after the
login; a wrong password says why; the console makes a display link that opens the patient
screen without a login; logging out ends the session."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer

pytestmark = pytest.mark.browser


def test_login_console_display_link_and_logout(server_factory: Any, chromium_browser: Any
                                               ) -> None:
    live: LiveServer = server_factory(simulate_activity="walking")
    errors: list[str] = []
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    display_context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live.url + "/console")
        page.wait_for_url("**/login?next=%2Fconsole")
        page.fill("#username", rig_api.USERNAME)
        page.fill("#password", "not the password")
        page.click("#login-button")
        expect(page.locator("#login-error")).to_have_text("wrong user name or password")
        page.fill("#password", rig_api.PASSWORD)
        page.click("#login-button")
        page.wait_for_url(live.url + "/console")
        expect(page.locator("#console")).to_have_attribute("data-connection", "live",
                                                           timeout=20_000)
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["gaitrig_session"]["httpOnly"] and cookies["gaitrig_session"]["sameSite"] \
            == "Strict"
        assert page.evaluate("document.cookie").count("gaitrig_session") == 0  # HttpOnly

        page.click("#display-link-toggle")
        shown = page.locator("#display-link-url")
        expect(shown).to_contain_text("/display?token=")  # the link the server has (the harness's)
        old_link = shown.inner_text()
        page.click("#display-link-new")  # a state-changing call: rest.js sends the CSRF token
        expect(shown).not_to_have_text(old_link)
        link = shown.inner_text()
        assert link.startswith(live.url + "/display?token=")
        display = display_context.new_page()
        assert display.goto(old_link).status == 403  # type: ignore[union-attr]  # renewed: revoked
        answer = display.goto(link)
        assert answer is not None and answer.status == 200, (link, answer and answer.status)
        display.wait_for_selector('#display[data-connection="live"]', timeout=20_000)

        page.click("#logout")
        page.wait_for_url("**/login")
        page.goto(live.url + "/history")
        page.wait_for_url("**/login?next=%2Fhistory")
        assert "gaitrig_session" not in {c["name"] for c in context.cookies()}
    finally:
        context.close()
        display_context.close()
    assert errors == []


@pytest.mark.parametrize("next_path", ["/%09/example.org/", "/%0A/example.org", "/%5C/example.org",
                                       "//example.org", "https://example.org/", "/ /example.org",
                                       "javascript:alert(1)"])
def test_after_the_login_the_console_never_leaves_for_another_site(
        live_server: str, chromium_browser: Any, next_path: str) -> None:
    """``/login?next=/%09/host`` went off-site: the browser drops the tab and reads ``//host``
    (issue 15, part 5). Whatever ``next`` says, a login lands on this server."""
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.abort()
                   if urlsplit(route.request.url).hostname == "example.org" else route.continue_())
        page.goto(f"{live_server}/login?next={next_path}")
        page.fill("#username", rig_api.USERNAME)
        page.fill("#password", rig_api.PASSWORD)
        page.click("#login-button")
        page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
        assert page.url.startswith(live_server + "/"), page.url
        assert urlsplit(page.url).hostname == "127.0.0.1", page.url
    finally:
        context.close()
