"""The live hub: newest state only, a rate limit per client counted from publish times, urgent
states past the limit (also when they arrive while a client waits for it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from gaitrig.testing.server import run_async
from gaitrig.web_ui.live.hub import LiveHub

T = TypeVar("T")
#: The rate limit of these tests: far longer than any test waits, so "it waited" is unambiguous.
INTERVAL_S = 30.0


async def at_once(step: Awaitable[T]) -> T:
    """``step`` must finish without waiting for the rate limit (2 s is generous on any machine)."""
    async with asyncio.timeout(2.0):
        return await step


async def waits(step: Awaitable[object]) -> bool:
    """True when ``step`` is still waiting after 0.3 s."""
    try:
        async with asyncio.timeout(0.3):
            await step
    except TimeoutError:
        return True
    return False


def test_a_normal_state_waits_for_the_rate_limit() -> None:
    async def scenario() -> tuple[tuple[int, str, float], bool]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        hub.publish("a")
        first = await at_once(hub.next_after(0, time.monotonic() - 2 * INTERVAL_S))
        hub.publish("b")
        return first, await waits(hub.next_after(first[0], first[2]))

    (version, text, _), waited = run_async(scenario())
    assert (version, text) == (1, "a") and waited


def test_the_limit_counts_from_when_the_last_state_was_published() -> None:
    """A state published a full interval after the client's last one goes out at once."""
    async def scenario() -> tuple[int, str, float]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        hub.publish("a")
        hub.publish("b")
        return await at_once(hub.next_after(1, time.monotonic() - INTERVAL_S))

    assert run_async(scenario())[:2] == (2, "b")


def test_a_state_published_a_little_early_is_not_held_back() -> None:
    """The publisher's jitter: a state 10 % of an interval early (its predecessor was late) goes
    out at once; one published straight after the last waits."""
    async def scenario() -> tuple[tuple[int, str, float], bool]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        hub.publish("a")
        hub.publish("b")
        early = await at_once(hub.next_after(1, time.monotonic() - 0.9 * INTERVAL_S))
        hub.publish("c")
        return early, await waits(hub.next_after(early[0], early[2]))

    (version, text, _), waited = run_async(scenario())
    assert (version, text) == (2, "b") and waited


def test_an_urgent_state_published_while_a_client_waits_goes_out_at_once() -> None:
    async def scenario() -> tuple[int, str, float]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        hub.publish("a")
        hub.publish("b")
        client = asyncio.ensure_future(hub.next_after(1, time.monotonic()))
        await asyncio.sleep(0.05)  # the client is now waiting for its limit
        assert not client.done()
        hub.publish("alarm!", urgent=True)
        return await at_once(client)

    assert run_async(scenario())[:2] == (3, "alarm!")


def test_an_urgent_state_skips_the_limit_and_a_burst_is_conflated_to_the_newest() -> None:
    async def scenario() -> tuple[int, str, float]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        hub.publish("a")
        hub.publish("b")
        hub.publish("alarm!", urgent=True)
        hub.publish("c")
        return await at_once(hub.next_after(1, time.monotonic()))

    assert run_async(scenario())[:2] == (4, "c")  # "b" and "alarm!" skipped: newest only


def test_a_client_waits_for_a_newer_state_than_it_has() -> None:
    async def scenario() -> tuple[bool, tuple[int, str, float]]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        hub.publish("a")
        waited = await waits(hub.next_after(1, time.monotonic() - 2 * INTERVAL_S))
        client = asyncio.ensure_future(hub.next_after(1, time.monotonic() - 2 * INTERVAL_S))
        await asyncio.sleep(0)
        hub.publish("b")
        return waited, await at_once(client)

    waited, (version, text, _) = run_async(scenario())
    assert waited and (version, text) == (2, "b")


class Sink:
    """A direct client's end: keeps the frames written to it; ``behind`` makes it skip them."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.behind = False

    def send_frame(self, frame: bytes) -> bool:
        if self.behind:
            return False
        self.frames.append(frame)
        return True

    def texts(self) -> list[str]:
        """The frames decoded by the websockets library's own parser, as a client reads them."""
        texts = []
        for raw in self.frames:
            reader = StreamReader()
            reader.feed_data(raw)
            reader.feed_eof()
            parser = Frame.parse(reader.read_exact, mask=False)
            try:
                while True:
                    next(parser)
            except StopIteration as parsed:  # a whole frame, and nothing left over
                frame: Frame = parsed.value
            assert frame.opcode is Opcode.TEXT and frame.fin and not reader.buffer
            texts.append(frame.data.decode())
        return texts


def test_direct_clients_get_each_state_as_it_is_published_and_the_newest_when_they_join() -> None:
    async def scenario() -> tuple[Sink, Sink]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        early = Sink()
        hub.add_direct(early)  # nothing published yet: nothing written
        hub.publish("a", urgent=True)
        late = Sink()
        hub.add_direct(late)  # joins now: gets the newest at once
        hub.publish("alarm!", urgent=True)
        return early, late

    early, late = run_async(scenario())
    assert early.texts() == ["a", "alarm!"] and late.texts() == ["a", "alarm!"]


def test_a_direct_client_is_held_back_by_the_limit_and_while_behind_but_gets_the_newest() -> None:
    async def scenario() -> tuple[Sink, list[int]]:
        hub = LiveHub(max_rate_hz=1 / INTERVAL_S)
        sink = Sink()
        client = hub.add_direct(sink)
        hub.publish("a")  # its first state: at once
        hub.publish("b")  # straight after: inside the limit, held back
        sink.behind = True
        hub.publish("c", urgent=True)  # past the limit, but the client is behind: skipped
        sink.behind = False
        hub.publish("d", urgent=True)
        hub.remove_direct(client)
        hub.publish("e", urgent=True)  # gone: nothing more
        return sink, [len(hub.direct_clients)]

    sink, left = run_async(scenario())
    assert sink.texts() == ["a", "d"] and left == [0]


def test_a_held_back_direct_client_gets_the_newest_state_once_it_may() -> None:
    """No state is lost to the limit or to a moment behind: the newest goes out later (what a
    task-served client gets too); one it never got because a newer came is skipped."""
    async def scenario() -> list[str]:
        hub = LiveHub(max_rate_hz=10.0)  # 50 ms limit
        sink = Sink()
        hub.add_direct(sink)
        hub.publish("a")
        hub.publish("b")  # held back for the limit ...
        hub.publish("c")  # ... and replaced by a newer one meanwhile
        await asyncio.sleep(0.2)
        sink.behind = True
        hub.publish("d")  # the client is behind: not written
        await asyncio.sleep(0.02)
        sink.behind = False
        await asyncio.sleep(0.05)  # ... and written once it has caught up
        return sink.texts()

    assert run_async(scenario()) == ["a", "c", "d"]
