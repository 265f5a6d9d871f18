"""Fan-out of the live state to websocket clients: every client always gets the newest state.

The hub keeps one message, the newest, and hands it to the clients at the publisher's rate up to
``max_rate_hz`` a second, except an *urgent* state (an alarm starting or ending, a control
changing), which goes out at once. A client that reads slowly simply skips states: nothing
queues up for it, and its slowness never delays the others. Two kinds of client:

* a *direct* client (:meth:`LiveHub.add_direct`, what ``rig serve``'s connections are): the hub
  frames each state once and writes it to every such client as it is published, on the event
  loop, with no task to wake per client (``gaitrig.web_ui.live.connection.DirectSender``). A client
  the limit holds back, or whose previous state has not left yet, gets the newest state as soon
  as it may (one timer for all of them), as a task-served client would;
* any other ASGI connection (a compressed one, a test client): a task per client waits in
  :meth:`LiveHub.next_after` and sends the newest state through the ASGI layers, also one that
  waited for its limit.

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
from dataclasses import dataclass
from typing import Protocol

from websockets.frames import Frame, Opcode

#: Share of the interval a state may come early (publisher's jitter) and still go out at once: a
#: client gets at most ``max_rate_hz / (1 - JITTER_ALLOWANCE)`` states a second from a bursty
#: publisher, and a publisher keeping ``max_rate_hz`` is never held back.
JITTER_ALLOWANCE = 0.5


class FrameSink(Protocol):
    def send_frame(self, frame: bytes) -> bool:
        """Write one whole websocket frame to the client; False if it was skipped."""


#: How soon a direct client whose previous state has not left yet is offered the newest again (s).
BEHIND_RETRY_S = 0.005


@dataclass(eq=False)
class DirectClient:
    sink: FrameSink
    version: int = 0  # the newest state it got
    last_published_s: float = float("-inf")  # when that state was published (s)


def text_frame(text: str) -> bytes:
    """``text`` as one websocket text frame as a server sends it (unmasked, uncompressed)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class LiveHub:
    def __init__(self, max_rate_hz: float = 60.0) -> None:
        self.min_interval_s = (1.0 - JITTER_ALLOWANCE) / max_rate_hz
        self.latest = ""
        self.version = 0
        self.urgent_version = 0  # the newest state that must not wait for the rate limit
        self.published_s = 0.0  # host monotonic time (s) the newest state was published
        self._changed = asyncio.Event()
        self.clients = 0
        self.direct_clients: list[DirectClient] = []
        self._retry: asyncio.TimerHandle | None = None  # the next offer to held-back clients
        self._frame: tuple[int, bytes] = (0, b"")  # (version, the newest state framed), lazily
        #: Clients dropped because they stopped reading (gaitrig.web_ui.live.route).
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
        if self._retry is not None:
            self._retry.cancel()
        self._offer_newest()

    def add_direct(self, sink: FrameSink) -> DirectClient:
        """A direct client from now on; it gets the newest state at once. Event loop only."""
        client = DirectClient(sink)
        self.direct_clients.append(client)
        if self.version:
            self._offer_newest()
        return client

    def remove_direct(self, client: DirectClient) -> None:
        self.direct_clients.remove(client)

    def _offer_newest(self) -> None:
        """Write the newest state to every direct client that lacks it and may have it now (the
        same rule as :meth:`next_after`); a timer comes back for the ones held back."""
        self._retry = None
        now = time.monotonic()
        retry_in_s = None
        for client in self.direct_clients:
            if client.version >= self.version:
                continue
            wait_s = (0.0 if self.urgent_version > client.version
                      else client.last_published_s + self.min_interval_s - now)
            if wait_s <= 0:
                if client.sink.send_frame(self._newest_frame()):
                    client.version, client.last_published_s = self.version, self.published_s
                    continue
                wait_s = BEHIND_RETRY_S
            retry_in_s = wait_s if retry_in_s is None else min(retry_in_s, wait_s)
        if retry_in_s is not None:
            self._retry = asyncio.get_running_loop().call_later(retry_in_s, self._offer_newest)

    def _newest_frame(self) -> bytes:
        """The newest state as a websocket frame, framed once however often it is offered."""
        if self._frame[0] != self.version:
            self._frame = (self.version, text_frame(self.latest))
        return self._frame[1]

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
