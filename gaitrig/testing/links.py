"""A thread that polls board links and hands every message to a handler, for tests that watch
a link as it streams (the product polls its links itself, ``gaitrig.rig.live.controller``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType

from gaitrig.drivers import protocol as p
from gaitrig.drivers.serial_link import BoardLink, readable

#: What a handler is given: the link, the message, its host time (s; for DATA the sample's).
Handler = Callable[[BoardLink, p.Message, float], None]


class LinkReader:
    """Polls ``links`` until stopped, ``handler`` called on this reader's thread in order."""

    def __init__(self, links: Iterable[BoardLink], handler: Handler,
                 wait_s: float = 0.005) -> None:
        self.links = list(links)
        self.handler = handler
        self.wait_s = wait_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="link-reader")

    def start(self) -> LinkReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> LinkReader:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            readable(self.links, self.wait_s)
            for link in self.links:
                for message, host_time_s in link.poll():
                    self.handler(link, message, host_time_s)
