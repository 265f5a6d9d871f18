"""The live hub's rate limit counts from publish times, so a client does not lag the publishes."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import run_async
from web_ui import hub as hub_module
from web_ui.hub import LiveHub


def test_states_published_at_the_rate_are_sent_without_waiting_and_bursts_are_capped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(seconds)

    monkeypatch.setattr(hub_module.asyncio, "sleep", recording_sleep)

    async def scenario() -> list[tuple[int, str]]:
        hub = LiveHub(max_rate_hz=100.0)  # at most one state per 10 ms
        got = []
        hub.publish("a")
        version, text, published_s = await hub.next_after(0, 0.0)
        got.append((version, text))
        await real_sleep(0.015)  # the next state comes a full interval after the first
        hub.publish("b")
        version, text, published_s = await hub.next_after(version, published_s)
        got.append((version, text))
        assert waits == [], "a state published at the rate must not wait for the cap"
        hub.publish("c")  # a burst: two more states right after "b"
        hub.publish("d")
        version, text, published_s = await hub.next_after(version, published_s)
        got.append((version, text))
        return got

    got = run_async(scenario())
    assert got == [(1, "a"), (2, "b"), (4, "d")]  # "c" was conflated away: newest state only
    assert len(waits) == 1 and 0 < waits[0] <= 0.010  # the burst waited for the cap
