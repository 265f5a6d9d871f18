"""The live hub: newest state only, a rate limit per client, urgent states past the limit."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.conftest import run_async
from web_ui import hub as hub_module
from web_ui.hub import LiveHub


def test_an_urgent_state_skips_the_rate_limit_and_a_normal_one_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep
    scenario_thread: list[int] = []

    async def recording_sleep(seconds: float) -> None:
        # asyncio is one module for every thread: a live server of another test may sleep too.
        if threading.get_ident() in scenario_thread:
            slept.append(seconds)
            seconds = 0
        await real_sleep(seconds)

    monkeypatch.setattr(hub_module.asyncio, "sleep", recording_sleep)

    async def scenario() -> list[tuple[int, str]]:
        scenario_thread.append(threading.get_ident())
        hub = LiveHub(max_rate_hz=10.0)  # 100 ms between states for one client
        got = []
        hub.publish("a")
        got.append(await hub.next_after(0, time.monotonic() - 1.0))  # long ago: no wait
        hub.publish("b")
        got.append(await hub.next_after(1, time.monotonic()))  # just sent: waits
        hub.publish("c")
        hub.publish("alarm!", urgent=True)
        got.append(await hub.next_after(2, time.monotonic()))  # urgent: at once
        return got

    got = run_async(scenario())
    assert [g[:2] for g in got] == [(1, "a"), (2, "b"), (4, "alarm!")]  # "c" skipped: newest only
    assert len(slept) == 1 and 0.05 < slept[0] <= 0.1
