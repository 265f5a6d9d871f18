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


def test_pages_carry_a_policy_that_blocks_framing_and_inline_script(
        live_server: str, chromium_browser: Any) -> None:
    """Issue 15, part 5: a page on another port framed a working, logged-in console. Every
    answer now carries a Content-Security-Policy (no inline script, frame-ancestors 'none'),
    nosniff and no-referrer, and no server banner; the pages run under it without a single
    violation."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900},
                                           bypass_csp=False)
    violations: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.goto(f"{live_server}/login?next=/console")
        page.fill("#username", rig_api.USERNAME)
        page.fill("#password", rig_api.PASSWORD)
        page.click("#login-button")
        page.wait_for_url("**/console")
        page.wait_for_selector('#console[data-connection="live"]', timeout=20_000)
        for path in ("/console", "/history", "/api/rig", "/static/console.js"):
            answer = page.request.get(live_server + path)
            assert answer.status == 200, path
            headers = answer.headers
            policy = headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
            assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0], path
            assert headers.get("x-content-type-options") == "nosniff", path
            assert headers.get("referrer-policy") == "no-referrer", path
            assert "server" not in headers, (path, headers.get("server"))
        page.goto(f"{live_server}/history")
        page.wait_for_load_state("networkidle")
        display = context.new_page()  # the patient's screen, with its link
        display.on("console", lambda message: violations.append(message.text)
                   if "Content Security Policy" in message.text else None)
        display.goto(rig_api.display_url(live_server))
        display.wait_for_selector('#display[data-connection="live"]', timeout=20_000)
        assert violations == [], violations
        # A page of another origin that frames the console gets nothing in its frame.
        attacker = context.new_page()
        attacker.set_content(f'<iframe id="f" src="{live_server}/console"></iframe>')
        attacker.wait_for_timeout(1500)
        framed = [f for f in attacker.frames if f.url.startswith(live_server)]
        assert all(f.query_selector("body *") is None for f in framed), [f.url for f in framed]
    finally:
        context.close()
