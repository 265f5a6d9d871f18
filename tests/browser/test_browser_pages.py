"""The patient display and the therapist console, driven in real Chromium through Playwright.

Fixtures (tests/conftest.py): ``live_server`` runs the real server with the virtual rig walking
and yields its base URL; ``chromium_browser`` is a session-wide Playwright browser on the Debian
Chromium (/usr/bin/chromium). Screenshots go to ``test-artifacts/`` at the repository root so that
CI can keep them.

What the pages expose for these tests (see gaitrig/web_ui/static/display.js and console.js):
  #display[data-connection]             connecting | live | reconnecting | stale | no-signal
  #display[data-seq]                    seq of the newest message the page applied
  #left-leg / #right-leg                data-value-pct-bw (last received), data-displayed-pct-bw
                                        (shown now, 1 decimal), data-band-state, data-prosthetic
  #left-bar-fill / #right-bar-fill      bar fill, scaled from the bottom of #<side>-bar-track
  #left-value-number / #right-value-number, #bars-pct-bw   the numbers on the screen
  #hands                                data-value-pct-bw, data-displayed-pct-bw (both bars)
  #device-rows tr[data-role][data-connected][data-state]   one row per board on the console
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from gaitrig.testing import rig_api

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LIVE_WS = re.compile(r"/ws/live$")
SIDES = ("left", "right")
SCALE_MAX_PCT_BW = 120.0  # top of each bar on the display

#: ``open_page(width, height, **context_options)`` -> (page, the errors of every page so far).
PageFactory = Callable[..., tuple[Page, list[str]]]


@pytest.fixture
def open_page(chromium_browser: Browser) -> Iterator[PageFactory]:
    """Open pages at a given viewport; fail the test on any uncaught error in a page."""
    contexts = []
    errors: list[str] = []

    def factory(width: int, height: int, **options: Any) -> tuple[Page, list[str]]:
        """A page of a new context (Playwright's ``new_context`` options, e.g.
        ``has_touch``, ``accept_downloads``)."""
        context = chromium_browser.new_context(viewport={"width": width, "height": height},
                                               **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page, errors

    yield factory
    for context in contexts:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def js_round(value: float) -> int:
    """Math.round as the page does it (halves go up), never below zero."""
    return max(0, math.floor(value + 0.5))


def expected_number(value: float | None) -> str:
    return "\u2013" if value is None else str(js_round(value))


def band_state(value: float | None, band: list[float] | None) -> str:
    """The cue the patient should see for a settled value: below, in or above the band."""
    if value is None or not band or band[0] is None or band[1] is None:
        return "none"
    low, high = band
    return "below" if value < low else "above" if value > high else "in"


def wait_until_live(page: Page) -> None:
    page.wait_for_selector('#display[data-connection="live"]')


# Samples both bars once per animation frame for `ms` milliseconds. Heights are read the way a
# person sees them: the fill's rendered box (transforms included) relative to its track.
SAMPLE_BARS_JS = """
async (ms) => {
  const out = {frames: 0, left: [], right: [], anchoredPx: 0};
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    out.frames += 1;
    for (const side of ["left", "right"]) {
      const fill = document.getElementById(side + "-bar-fill").getBoundingClientRect();
      const track = document.getElementById(side + "-bar-track").getBoundingClientRect();
      out[side].push(fill.height / track.height);
      if (fill.height > 1) {
        out.anchoredPx = Math.max(out.anchoredPx, Math.abs(fill.bottom - track.bottom));
      }
    }
  }
  return out;
}
"""

# Layout facts of the display, with the widest number ("120") put in for the measurement.
LAYOUT_JS = """
() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const doc = document.documentElement;
  const inside = (r) =>
    r.left >= -0.5 && r.top >= -0.5 && r.right <= vw + 0.5 && r.bottom <= vh + 0.5;
  const overlaps = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const out = {
    vw, vh,
    scroll: {sw: doc.scrollWidth, sh: doc.scrollHeight, bw: document.body.scrollWidth,
             bh: document.body.scrollHeight},
    fontPx: {}, outside: [], overlapsBar: [], badges: {},
  };
  for (const side of ["left", "right"]) {
    const number = document.getElementById(side + "-value-number");
    out.fontPx[side] = parseFloat(getComputedStyle(number).fontSize);
    const saved = number.textContent;
    number.textContent = "120";
    const leg = document.getElementById(side + "-leg");
    const track = document.getElementById(side + "-bar-track").getBoundingClientRect();
    const legBox = leg.getBoundingClientRect();
    for (const sel of [".leg-name", ".prosthesis-badge", ".value", ".value-caption",
                       ".feedback-main", ".feedback-hint", ".bar-track"]) {
      const r = leg.querySelector(sel).getBoundingClientRect();
      if (!inside(r) || r.left < legBox.left - 0.5 || r.right > legBox.right + 0.5) {
        out.outside.push(side + " " + sel);
      }
      if (sel !== ".bar-track" && overlaps(r, track)) out.overlapsBar.push(side + " " + sel);
    }
    number.textContent = saved;
    const badge = document.getElementById(side + "-prosthesis-badge");
    out.badges[side] = {prosthetic: leg.dataset.prosthetic,
                        visible: getComputedStyle(badge).visibility === "visible" && !badge.hidden};
  }
  for (const sel of ["#connection-status", "#hands"]) {
    if (!inside(document.querySelector(sel).getBoundingClientRect())) out.outside.push(sel);
  }
  const latest = window.gaitDisplay.live.latest;
  out.prostheticSide = latest && latest.patient ? latest.patient.prosthetic_side : null;
  return out;
}
"""


@pytest.mark.parametrize(
    ("width", "height"), [(1920, 1080), (1024, 768)], ids=["1920x1080", "1024x768"]
)
def test_display_follows_walking_and_fits_the_screen(
    live_server: str, open_page: PageFactory, width: int, height: int
) -> None:
    page, _ = open_page(width, height)
    rig_api.goto(page, f"{live_server}/display")
    wait_until_live(page)

    samples = page.evaluate(SAMPLE_BARS_JS, 3000)
    assert samples["frames"] >= 30, f"only {samples['frames']} animation frames in 3 s"
    for side in SIDES:
        heights = samples[side]
        swing = max(heights) - min(heights)
        # Walking loads each foot from 0 (swing) to around body weight (stance): the bar must
        # travel a good part of its height, i.e. more than 30 % of 120 % BW = 36 % BW.
        assert swing > 0.30, f"{side} bar moved only {swing:.0%} of its track while walking"
    assert samples["anchoredPx"] <= 2, "the bar fill does not grow from the bottom of its track"

    layout = page.evaluate(LAYOUT_JS)
    screenshot(page, f"display-{width}x{height}.png")

    for side in SIDES:
        assert layout["fontPx"][side] >= 0.15 * height, (
            f"{side} number is {layout['fontPx'][side]} px, under 15 % of {height} px"
        )
    scroll = layout["scroll"]
    assert scroll["sw"] <= width and scroll["sh"] <= height, f"page scrolls: {scroll}"
    assert scroll["bw"] <= width and scroll["bh"] <= height, f"body scrolls: {scroll}"
    assert layout["outside"] == [], f"cut off: {layout['outside']}"
    assert layout["overlapsBar"] == [], f"text over the bar: {layout['overlapsBar']}"

    side = layout["prostheticSide"]
    for leg in SIDES:
        marked = side in (leg, "both", "bilateral")
        assert layout["badges"][leg] == {
            "prosthetic": "true" if marked else "false",
            "visible": marked,
        }, f"prosthesis marker on the {leg} leg is wrong for prosthetic_side={side!r}"


def forward_and_record(page: Page) -> dict[str, Any]:
    """Route /ws/live through Playwright: forward the server's messages and remember them.

    Setting state["frozen"] stops forwarding, so the page keeps the last message it got.
    """
    state: dict[str, Any] = {"frozen": False, "messages": []}

    def handle(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if state["frozen"]:
                return
            state["messages"].append(message)
            route.send(message)

        server.on_message(from_server)
        route.on_message(lambda message: server.send(message))

    page.route_web_socket(LIVE_WS, handle)
    return state


READ_DISPLAY_JS = """
() => {
  const leg = (side) => {
    const el = document.getElementById(side + "-leg");
    return {value: el.dataset.valuePctBw, displayed: el.dataset.displayedPctBw,
            band: el.dataset.bandState,
            number: document.getElementById(side + "-value-number").textContent};
  };
  return {seq: document.getElementById("display").dataset.seq, left: leg("left"),
          right: leg("right"), hands: document.getElementById("hands").dataset.valuePctBw,
          handsNumber: document.getElementById("bars-pct-bw").textContent};
}
"""


def as_number(attribute: str) -> float | None:
    return None if attribute == "" else float(attribute)


def test_display_numbers_agree_with_the_websocket_stream(
    live_server: str, open_page: PageFactory
) -> None:
    page, _ = open_page(1920, 1080)
    recorder = forward_and_record(page)
    rig_api.goto(page, f"{live_server}/display")
    wait_until_live(page)
    page.wait_for_timeout(1000)

    # While streaming: the values on the page are those of the message it says it applied.
    shown = page.evaluate(READ_DISPLAY_JS)
    by_seq = {m["seq"]: m for m in map(json.loads, recorder["messages"])}
    message = by_seq[int(shown["seq"])]
    for side in SIDES:
        assert as_number(shown[side]["value"]) == message[f"{side}_foot_pct_bw"]
    assert as_number(shown["hands"]) == message["bars_pct_bw"]

    # Hold the stream: the smoothed display (both legs and the hands) must settle exactly on the
    # last values sent.
    recorder["frozen"] = True
    last = json.loads(recorder["messages"][-1])
    page.wait_for_function(
        """(seq) => {
          const shown = ["left-leg", "right-leg", "hands"]
            .map((id) => document.getElementById(id).dataset);
          const settled = (d) => d.valuePctBw === "" ||
            Math.abs(parseFloat(d.displayedPctBw) - parseFloat(d.valuePctBw)) < 0.051;
          return document.getElementById("display").dataset.seq === String(seq) &&
            shown.every(settled);
        }""",
        arg=last["seq"],
        timeout=5_000,
    )
    shown = page.evaluate(READ_DISPLAY_JS)
    for side in SIDES:
        sent = last[f"{side}_foot_pct_bw"]
        assert as_number(shown[side]["value"]) == sent
        if sent is None:
            assert shown[side]["displayed"] == ""
        else:
            assert float(shown[side]["displayed"]) == pytest.approx(sent, abs=0.051)
        assert shown[side]["number"] == expected_number(sent), f"{side} big number"
        # v2: the band is drawn on the leg it applies to (band_side); the other leg has none.
        assert shown[side]["band"] == band_state(sent, last[f"{side}_band_pct_bw"]), f"{side} cue"
    assert shown["handsNumber"] == expected_number(last["bars_pct_bw"])


def test_display_says_reconnecting_and_recovers(live_server: str, open_page: PageFactory) -> None:
    page, _ = open_page(1024, 768)
    state: dict[str, Any] = {"accept": True, "open": []}

    def handle(route: WebSocketRoute) -> None:
        if not state["accept"]:
            route.close()  # the server is "down": refuse the attempt
            return
        state["open"].append((route, route.connect_to_server()))

    page.route_web_socket(LIVE_WS, handle)
    rig_api.goto(page, f"{live_server}/display")
    wait_until_live(page)

    state["accept"] = False
    for route, server in state["open"]:
        route.close()
        server.close()
    status = page.locator("#connection-status")
    expect(status).to_have_text("Reconnecting…")
    expect(page.locator("#connection-overlay")).to_be_visible()
    page.wait_for_timeout(2500)  # several refused attempts: the backoff grows to its cap
    expect(status).to_have_text("Reconnecting…")

    state["accept"] = True
    started = time.monotonic()
    wait_until_live(page)
    waited_s = time.monotonic() - started
    assert waited_s < 4.0, f"reconnect took {waited_s:.1f} s; the backoff is capped at 2 s"
    expect(status).to_have_text("Live")
    expect(page.locator("#connection-overlay")).to_be_hidden()


def test_console_lists_three_connected_boards(live_server: str, open_page: PageFactory) -> None:
    page, _ = open_page(1024, 768)
    rig_api.goto(page, f"{live_server}/console")
    rows = page.locator("#device-rows tr[data-role]")
    expect(rows).to_have_count(3)
    expect(page.locator('#device-rows tr[data-connected="true"]')).to_have_count(3)
    expect(page.locator("#device-warning")).to_be_hidden()
    roles = sorted(rows.evaluate_all("(trs) => trs.map((tr) => tr.dataset.role)"))
    assert roles == ["bars", "insole_left", "insole_right"]

    for side in SIDES:
        expect(page.locator(f"#{side}-foot-pct")).to_have_text(re.compile(r"^\d+$"))
    link = page.locator("#open-display")
    expect(link).to_have_attribute("href", "/rigs/rig-1/display")  # the rig's display link
    box = link.bounding_box()
    assert box is not None and box["height"] >= 44, "touch target too small"

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 1024, "console scrolls sideways on a 1024 px tablet"
    screenshot(page, "console-1024x768.png")
