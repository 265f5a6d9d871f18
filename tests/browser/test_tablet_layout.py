"""Tablet and phone layout (issue 12, part 6), in real Chromium against the real server.

On a 1024x768 landscape tablet the trial controls (start, pause, stop) and the mark control are
on the first screen, and the targets form ends within two screens; each is a touch target of at
least 44x44 CSS px. At 768x1024 (portrait tablet) and 390x844 (phone) no page is wider than the
viewport: the console, the patient display and the clinic-records pages (patients, patient,
session, compare). The boards table fits its card (reflowed into one card per board where the
card is narrow) and so do the records tables (one card per row on a phone), none hidden in a
sideways scroller. Screenshots of every page and viewport go to test-artifacts/.

The records are seeded through the db query layer (tests/clinic_seed.py) before the server
starts: a patient with two weekly sessions, each with a recorded walking trial.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, start_server
from tests import clinic_seed
from tests.browser.test_browser_pages import PageFactory, open_page  # noqa: F401  (fixture)
from tests.screens import save_screenshot

pytestmark = pytest.mark.browser

LANDSCAPE = (1024, 768)
NARROW = [(768, 1024), (390, 844)]
MIN_TOUCH_PX = 44
#: On the first screen of a 1024x768 tablet, with no scrolling.
FIRST_SCREEN_IDS = ["trial-start", "trial-pause", "trial-stop", "mark-button", "mark-note"]
#: Within the first screen plus one more (the bottom at most 2 x 768 px from the page's top).
TWO_SCREEN_IDS = ["targets-form", "band-low", "band-high", "limit", "max-hand", "targets-apply"]
TOUCH_IDS = ["trial-start", "trial-pause", "trial-stop", "mark-button", "mark-note",
             "band-low", "band-high", "limit", "max-hand", "targets-apply"]

#: Where each of the controls is, in page coordinates (the page scrolled to the top).
BOXES_JS = """
(ids) => ids.map((id) => {
  const el = document.getElementById(id);
  if (!el) return {id, missing: true};
  const box = el.getBoundingClientRect();
  return {id, top: box.top + window.scrollY, bottom: box.bottom + window.scrollY,
          left: box.left, right: box.right, width: box.width, height: box.height,
          shown: box.width > 0 && box.height > 0};
})
"""

#: Every rendered element whose box pokes past the viewport's left or right edge, except inside
#: a container that scrolls (or clips) sideways on purpose; the page's scroll width.
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim())
      name += "." + el.className.trim().split(/\\s+/).join(".");
    const parent = el.parentElement;
    const where = parent && parent !== document.body ? " in " + (parent.id ? "#" + parent.id
      : parent.tagName.toLowerCase() + (parent.className && typeof parent.className === "string"
        ? "." + parent.className.trim().split(/\\s+/).join(".") : "")) : "";
    return name + where;
  };
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x !== "visible") return true;
    }
    return false;
  };
  const offenders = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right <= width + 0.5 && box.left >= -0.5) continue;
    if (scrolls(el)) continue;
    offenders.push(`${describe(el)}: left ${Math.round(box.left)}, right ${Math.round(box.right)}`);
  }
  const scrollers = [];
  for (const el of document.body.querySelectorAll("*")) {
    const x = getComputedStyle(el).overflowX;
    if ((x === "auto" || x === "scroll") && el.scrollWidth > el.clientWidth + 1)
      scrollers.push(`${describe(el)}: ${el.scrollWidth} px in ${el.clientWidth} px`);
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
          clientWidth: width, offenders: offenders.slice(0, 12), count: offenders.length,
          scrollers};
}
"""


@pytest.fixture(scope="module")
def records_server(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[LiveServer, int, list[int], list[int]]]:
    """The real server, the virtual patient walking, a patient with two sessions of trials."""
    directory = tmp_path_factory.mktemp("tablet")
    url = f"sqlite:///{directory / 'clinic.sqlite3'}"
    with clinic_seed.open_session(url) as session:
        patient_id, session_ids, trials = clinic_seed.seed_patient_history(session, weeks=2)
    live = start_server(directory, database_url=url, simulate_activity="walking")
    yield live, patient_id, session_ids, [t.id for t in trials]
    live.stop()


def boxes(page: Page, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(BOXES_JS, ids)
    for box in found:
        assert not box.get("missing"), f"#{box['id']} is not on the console"
        assert box["shown"], f"#{box['id']} is not shown"
    return {box["id"]: box for box in found}


def open_console(page: Page, live: LiveServer) -> None:
    rig_api.goto(page, live.url + "/console")
    expect(page.locator("#console")).to_have_attribute("data-connection", "live")
    expect(page.locator("#device-rows tr[data-role]")).to_have_count(3)
    page.wait_for_timeout(500)  # the plots and the steps table settle


def test_console_controls_within_reach_on_a_landscape_tablet(
        records_server: Any, open_page: PageFactory) -> None:  # noqa: F811
    live = records_server[0]
    width, height = LANDSCAPE
    page, _ = open_page(width, height, has_touch=True)
    open_console(page, live)
    page.evaluate("window.scrollTo(0, 0)")
    found = boxes(page, sorted({*FIRST_SCREEN_IDS, *TWO_SCREEN_IDS, *TOUCH_IDS}))
    print("\n1024x768, page coordinates (px):")
    for key, box in found.items():
        print(f"  #{key:14} top {box['top']:6.0f} bottom {box['bottom']:6.0f} "
              f"left {box['left']:5.0f} right {box['right']:5.0f} "
              f"size {box['width']:4.0f}x{box['height']:.0f}")
    for key in FIRST_SCREEN_IDS:
        assert found[key]["bottom"] <= height, (
            f"#{key} ends at y={found[key]['bottom']:.0f}, below the first {height} px screen")
        assert found[key]["right"] <= width, f"#{key} is past the right edge"
    for key in TWO_SCREEN_IDS:
        assert found[key]["bottom"] <= 2 * height, (
            f"#{key} ends at y={found[key]['bottom']:.0f}, more than one screen down")
    for key in TOUCH_IDS:
        box = found[key]
        assert box["width"] >= MIN_TOUCH_PX and box["height"] >= MIN_TOUCH_PX, (
            f"#{key} is {box['width']:.0f}x{box['height']:.0f} px, under {MIN_TOUCH_PX} px")
    save_screenshot(page, "tablet-console-1024x768.png")

    # Nothing covers them on the first screen (not the sticky header, not a banner).
    covered = page.evaluate("""(ids) => ids.filter((id) => {
      const el = document.getElementById(id);
      const box = el.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      return !(hit && (hit === el || el.contains(hit)));
    })""", FIRST_SCREEN_IDS)
    assert not covered, f"covered on the first screen: {covered}"
    page.locator("#targets-apply").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    save_screenshot(page, "tablet-console-1024x768-targets.png")

    overflow = page.evaluate(OVERFLOW_JS)
    assert overflow["scrollWidth"] <= width and not overflow["offenders"], overflow


def records_pages(server: tuple[LiveServer, int, list[int], list[int]]
                  ) -> list[tuple[str, str, str | None]]:
    _, patient_id, session_ids, trial_ids = server
    return [
        ("patients", "/history", "#patient-table tbody tr[data-patient-id]"),
        ("patient", f"/history/patients/{patient_id}", "#patient-page[data-loaded='true']"),
        ("session", f"/history/sessions/{session_ids[0]}", "#session-page[data-loaded='true']"),
        ("compare", f"/history/compare?a={trial_ids[0]}&b={trial_ids[-1]}",
         "#compare-page[data-loaded='true']"),
    ]


def assert_fits(page: Page, name: str, width: int, height: int) -> dict[str, Any]:
    overflow: dict[str, Any] = page.evaluate(OVERFLOW_JS)
    print(f"\n{name} {width}x{height}: scrollWidth {overflow['scrollWidth']} "
          f"(innerWidth {overflow['innerWidth']}), scrollers {overflow['scrollers']}")
    assert overflow["scrollWidth"] <= overflow["innerWidth"], (
        f"{name} at {width}x{height} is {overflow['scrollWidth']} px wide; past the right edge: "
        f"{overflow['offenders']}")
    assert not overflow["offenders"], (
        f"{name} at {width}x{height}: {overflow['count']} elements past the edge: "
        f"{overflow['offenders']}")
    return overflow


def assert_touch_targets(page: Page, name: str, selector: str) -> None:
    small = page.evaluate("""([selector, min]) => [...document.querySelectorAll(selector)]
      .map((el) => ({el, box: el.getBoundingClientRect()}))
      .filter(({box}) => box.width > 0 && box.height > 0 && (box.width < min || box.height < min))
      .map(({el, box}) => `${el.id || el.textContent.trim().slice(0, 30)}: `
                          + `${Math.round(box.width)}x${Math.round(box.height)}`)""",
                          [selector, MIN_TOUCH_PX])
    assert not small, f"{name}: touch targets under {MIN_TOUCH_PX} px: {small}"


@pytest.mark.parametrize(("width", "height"), NARROW, ids=["768x1024", "390x844"])
def test_console_and_display_fit_portrait_tablet_and_phone(
        records_server: Any, open_page: PageFactory, width: int, height: int  # noqa: F811
) -> None:
    live = records_server[0]
    page, _ = open_page(width, height, has_touch=True)
    open_console(page, live)
    console = assert_fits(page, "console", width, height)
    # The boards table fits its card: no sideways scroller for it either.
    assert not [s for s in console["scrollers"] if "device" in s or "table-wrap" in s], (
        f"the boards table scrolls sideways at {width}x{height}: {console['scrollers']}")
    table = page.evaluate("""() => {
      const t = document.getElementById('device-table').getBoundingClientRect();
      const card = document.querySelector('.card-devices').getBoundingClientRect();
      return {table: [t.left, t.right], card: [card.left, card.right]};
    }""")
    assert table["table"][1] <= table["card"][1] + 0.5, table
    for side in ("left", "right"):
        expect(page.locator(f"#{side}-foot-pct")).to_be_visible()
    assert_touch_targets(page, f"console {width}x{height}",
                         ", ".join(f"#{key}" for key in TOUCH_IDS))
    save_screenshot(page, f"tablet-console-{width}x{height}.png", full_page=True)

    rig_api.goto(page, live.url + "/display")
    expect(page.locator("#display")).to_have_attribute("data-connection", "live")
    page.wait_for_timeout(500)
    assert_fits(page, "display", width, height)
    save_screenshot(page, f"tablet-display-{width}x{height}.png", full_page=True)


@pytest.mark.parametrize(("width", "height"), NARROW, ids=["768x1024", "390x844"])
def test_records_pages_fit_portrait_tablet_and_phone(
        records_server: Any, open_page: PageFactory, width: int, height: int  # noqa: F811
) -> None:
    live = records_server[0]
    page, _ = open_page(width, height, has_touch=True)
    for name, path, ready in records_pages(records_server):
        rig_api.goto(page, live.url + path)
        if ready:
            page.wait_for_selector(ready)
        page.wait_for_timeout(300)  # the charts size themselves to their cards
        fitted = assert_fits(page, name, width, height)
        # The records tables fit too (one card per row on a phone), no sideways scroller.
        assert not fitted["scrollers"], f"{name} at {width}x{height}: {fitted['scrollers']}"
        assert_touch_targets(page, f"{name} {width}x{height}", ".button, .topbar nav a")
        save_screenshot(page, f"tablet-history-{name}-{width}x{height}.png", full_page=True)

