"""The live hub: newest state only, a rate limit per client counted from publish times, urgent
states past the limit."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import pytest

from tests.conftest import run_async
from web_ui import hub as hub_module
from web_ui.hub import LiveHub


@dataclass
class HubSleeps:
    """The hub's ``asyncio.sleep`` calls (s) on the scenario's thread, which calls ``watch()``.

    asyncio is one module for every thread: a live server of another test may sleep too, so only
    the watched thread's sleeps are recorded. ``skip`` makes those sleeps return at once.
    """

    skip: bool = False
    seconds: list[float] = field(default_factory=list)
    threads: set[int] = field(default_factory=set)

    def watch(self) -> None:
        self.threads.add(threading.get_ident())


def recorded_sleeps(monkeypatch: pytest.MonkeyPatch, *, skip: bool) -> HubSleeps:
    sleeps = HubSleeps(skip=skip)
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        if threading.get_ident() in sleeps.threads:
            sleeps.seconds.append(seconds)
            if sleeps.skip:
                seconds = 0
        await real_sleep(seconds)

    monkeypatch.setattr(hub_module.asyncio, "sleep", recording_sleep)
    return sleeps


def test_an_urgent_state_skips_the_rate_limit_and_a_normal_one_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = recorded_sleeps(monkeypatch, skip=True)

    async def scenario() -> list[tuple[int, str]]:
        sleeps.watch()
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
    assert len(sleeps.seconds) == 1 and 0.05 < sleeps.seconds[0] <= 0.1


def test_states_published_at_the_rate_are_sent_without_waiting_and_bursts_are_capped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_sleep = asyncio.sleep  # before the hub's is recorded
    sleeps = recorded_sleeps(monkeypatch, skip=False)

    async def scenario() -> list[tuple[int, str]]:
        sleeps.watch()
        hub = LiveHub(max_rate_hz=100.0)  # at most one state per 10 ms
        got = []
        hub.publish("a")
        version, text, published_s = await hub.next_after(0, 0.0)
        got.append((version, text))
        await real_sleep(0.015)  # the next state comes a full interval after the first
        hub.publish("b")
        version, text, published_s = await hub.next_after(version, published_s)
        got.append((version, text))
        assert sleeps.seconds == [], "a state published at the rate must not wait for the cap"
        hub.publish("c")  # a burst: two more states right after "b"
        hub.publish("d")
        version, text, published_s = await hub.next_after(version, published_s)
        got.append((version, text))
        return got

    got = run_async(scenario())
    assert got == [(1, "a"), (2, "b"), (4, "d")]  # "c" was conflated away: newest state only
    assert len(sleeps.seconds) == 1 and 0 < sleeps.seconds[0] <= 0.010  # the burst waited
