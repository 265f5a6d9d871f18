"""Fan-out of the live state to websocket clients: every client always gets the newest state.

The hub keeps one message, the newest. A client task sends it when it is newer than what that
client last got, at the publisher's rate up to ``max_rate_hz`` a second, except an *urgent*
state (an alarm starting or ending, a control changing), which goes out at once, also to a
client already waiting for its limit. A client that reads slowly
simply skips states: nothing queues up for it, and its slowness never delays the others.

The rate limit counts from when the client's previous state was *published*, not from when it
was sent: counted from the send, a client settles into sending at a fixed phase behind the
publishes, anywhere in the interval (8 ms late on average at 60 updates/s, docs/benchmarks.md).
It also leaves room for the publisher's jitter (:data:`JITTER_ALLOWANCE`): the controller
publishes on a 1/60 s grid, but a state published 1 ms late makes the next gap 1 ms short, and a
limit of exactly 1/60 s would hold that next state back for the missing millisecond.
"""

from __future__ import annotations

import asyncio
import time

#: Share of the interval a state may come early (publisher's jitter) and still go out at once: a
#: client gets at most ``max_rate_hz / (1 - JITTER_ALLOWANCE)`` states a second from a bursty
#: publisher, and a publisher keeping ``max_rate_hz`` is never held back.
JITTER_ALLOWANCE = 0.5


class LiveHub:
    def __init__(self, max_rate_hz: float = 60.0) -> None:
        self.min_interval_s = (1.0 - JITTER_ALLOWANCE) / max_rate_hz
        self.latest = ""
        self.version = 0
        self.urgent_version = 0  # the newest state that must not wait for the rate limit
        self.published_s = 0.0  # host monotonic time (s) the newest state was published
        self._changed = asyncio.Event()
        self.clients = 0
        #: Clients dropped because they stopped reading (web_ui.routers.live).
        self.dropped_clients = 0

    def publish(self, text: str, urgent: bool = False) -> None:
        """Make ``text`` the newest state. Must run on the event loop's thread."""
        self.latest = text
        self.version += 1
        if urgent:
            self.urgent_version = self.version
        self.published_s = time.monotonic()
        self._changed.set()
        self._changed = asyncio.Event()

    async def next_after(self, version: int, last_published_s: float
                         ) -> tuple[int, str, float]:
        """Wait for a state newer than ``version`` and for the client's rate limit (counted from
        ``last_published_s``, when the state it last got was published); return the newest
        state's version, text and publish time (s)."""
        while self.version <= version:
            await self._changed.wait()
        while self.urgent_version <= version:  # an urgent state ends the wait when it comes
            wait_s = self.min_interval_s - (time.monotonic() - last_published_s)
            if wait_s <= 0:
                break
            try:
                async with asyncio.timeout(wait_s):
                    await self._changed.wait()
            except TimeoutError:
                break
        return self.version, self.latest, self.published_s
