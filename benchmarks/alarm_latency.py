"""End-to-end latency of the safety-limit alarm: the load crosses the limit -> the patient sees it.

The virtual patient walks with a partial-weight-bearing limit just under its prosthetic peak
load, so the load crosses the limit once per prosthetic stance. For every crossing:

* **start**: the ground-truth time at which the virtual patient's prosthetic-foot load first
  exceeds the limit (``PatientModel.sample`` on a 0.5 ms grid), on the host monotonic clock: the
  same clock the virtual boards sample their sensors on;
* **end**: the moment the patient display (real Chromium, headless) puts the alarm banner on
  the page: it stamps ``performance.timeOrigin + performance.now()`` in the
  requestAnimationFrame callback that unhides the banner, just before that frame is painted.
  The page's clock is mapped onto the host monotonic clock by bracketing a
  ``page.evaluate`` of that expression with ``time.monotonic()`` (the shortest of 20 round
  trips; its half-width is the mapping's uncertainty, reported).

It also reports the latency from the *sample stamp* of the crossing (the host arrival time the
server attaches to the sample that started the alarm, ``alarm.since_s``), which leaves out the
board's sampling and serial transport.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.end_to_end import percentiles_ms
from gaitrig.testing import rig_api

#: Walking with this band and limit, the virtual patient (80 kg, left prosthesis, peak ~63 % BW)
#: crosses the limit on most prosthetic stances.
BAND_PCT_BW = (35.0, 50.0)
LIMIT_PCT_BW = 55.0
BODY_MASS_KG = 80.0
TRUTH_STEP_S = 0.0005
#: A rendered alarm belongs to a crossing when its sample stamp is this close to it (s).
MATCH_WINDOW_S = (-0.05, 0.15)

PAGE_CLOCK_JS = "performance.timeOrigin + performance.now()"


def page_clock_offset_s(page: Any, tries: int = 20) -> tuple[float, float]:
    """(offset, uncertainty): host monotonic s = page wall-clock ms / 1000 - offset."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        before = time.monotonic()
        wall_ms = float(page.evaluate(PAGE_CLOCK_JS))
        after = time.monotonic()
        half = (after - before) / 2
        if best is None or half < best[1]:
            best = (wall_ms / 1000 - (before + after) / 2, half)
    assert best is not None
    return best


def truth_crossings_s(rig: Any, side: str, limit_pct_bw: float, start_s: float,
                      end_s: float) -> list[float]:
    """Ground-truth times (host monotonic s) at which the foot's load rises over the limit."""
    t = np.arange(start_s, end_s, TRUTH_STEP_S)
    truth = rig.ground_truth(t)
    load_pct_bw = 100.0 * truth.foot_n(side) / truth.body_weight_n
    over = load_pct_bw > limit_pct_bw
    rising = np.flatnonzero(~over[:-1] & over[1:]) + 1
    return [float(t[i]) for i in rising]


def configure(url: str) -> None:
    """Walking trial with the partial-weight-bearing limit (through the console's REST API)."""

    low, high = BAND_PCT_BW
    answer = rig_api.put(url + "/api/rig/targets",
                       json={"band_low": low, "band_high": high, "limit": LIMIT_PCT_BW})
    answer.raise_for_status()
    rig_api.post(url + "/api/rig/trial",
               json={"exercise": "partial_weight_bearing"}).raise_for_status()


def measure(page: Any, controller: Any, seconds: float) -> dict[str, Any]:
    """Watch the open display for ``seconds``; match rendered alarms to ground-truth crossings."""
    rig = controller.virtual_rig
    side = controller.patient.prosthetic_side
    page.evaluate("window.gaitDisplay.alarmLog.length = 0")
    start_s = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    end_s = time.monotonic() - 0.3  # crossings in the last 0.3 s may not be shown yet
    log = page.evaluate("window.gaitDisplay.alarmLog.slice()")
    offset_s, uncertainty_s = page_clock_offset_s(page)
    shown = [e for e in log if e.get("shown_ms") is not None and e.get("since_s") is not None]
    crossings = truth_crossings_s(rig, side, LIMIT_PCT_BW, start_s, end_s)
    parts: dict[str, list[float]] = {key: [] for key in (
        "from_truth_s", "from_sample_s", "sample_to_message_s", "message_to_page_s",
        "page_to_screen_s")}
    missed = 0
    for crossing in crossings:
        match = [e for e in shown
                 if MATCH_WINDOW_S[0] <= e["since_s"] - crossing <= MATCH_WINDOW_S[1]]
        if not match:
            missed += 1
            continue
        entry = match[0]
        at = entry["shown_ms"] / 1000 - offset_s
        received = entry["received_ms"] / 1000 - offset_s
        parts["from_truth_s"].append(at - crossing)
        parts["from_sample_s"].append(at - entry["since_s"])
        parts["sample_to_message_s"].append(entry["server_time_s"] - entry["since_s"])
        parts["message_to_page_s"].append(received - entry["server_time_s"])
        parts["page_to_screen_s"].append(at - received)
    return {"seconds": seconds, "crossings": len(crossings), "missed": missed,
            "rendered_alarms": len(shown), "clock_uncertainty_s": uncertainty_s,
            "load_average_1min": os.getloadavg()[0], **parts}


def run(seconds: float = 90.0) -> dict[str, Any]:
    """Start the server with the virtual rig and Chromium, and measure for ``seconds``."""
    from playwright.sync_api import sync_playwright

    from gaitrig.testing.server import CHROMIUM, CHROMIUM_ARGS, start_server

    live = start_server(Path(tempfile.mkdtemp(prefix="gaitrig-bench-")),
                        simulate_activity="walking", body_mass_kg=BODY_MASS_KG)
    try:
        configure(live.url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(rig_api.display_url(live.url, f"/rigs/{live.settings.rig_id}/display"))
            page.wait_for_selector('#display[data-connection="live"]')
            page.wait_for_timeout(1000)
            result = measure(page, live.controller, seconds)
            browser.close()
    finally:
        live.stop()
    return result


def markdown(result: dict[str, Any]) -> str:
    rows = ["| from | crossings | p50 (ms) | p99 (ms) | max (ms) | mean (ms) |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, key in (("**ground-truth crossing -> alarm on screen**", "from_truth_s"),
                      ("sample stamp (host arrival) -> alarm on screen", "from_sample_s"),
                      ("part: sample stamp -> message built (server)", "sample_to_message_s"),
                      ("part: message built -> page received it (hub, websocket)",
                       "message_to_page_s"),
                      ("part: page received -> frame with the banner (rAF)",
                       "page_to_screen_s")):
        values = result[key]
        if not values:
            rows.append(f"| {name} | 0 | | | | |")
            continue
        p = percentiles_ms(values)
        rows.append(f"| {name} | {len(values)} | {p['p50']:.1f} | {p['p99']:.1f} | "
                    f"{p['max']:.1f} | {p['mean']:.1f} |")
    rows.append("")
    rows.append(f"{result['crossings']} ground-truth crossings in {result['seconds']:.0f} s, "
                f"{result['missed']} without a rendered alarm; page clock mapped to "
                f"\u00b1{result['clock_uncertainty_s'] * 1000:.2f} ms; machine load average "
                f"(1 min) {result['load_average_1min']:.1f} on {os.cpu_count()} cores.")
    return "\n".join(rows)
