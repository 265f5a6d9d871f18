"""The server side of a websocket connection, bounded for clients that stop reading.

uvicorn's websocket protocol (``websockets-sansio``) with two limits added, so that a client
that stops reading (a sleeping tablet, a frozen tab, or someone doing it on purpose) costs the
server a fixed, small amount of memory:

* the kernel's send buffer of the connection is fixed at ``SEND_BUFFER_BYTES``. Left to itself,
  Linux grows a socket's send buffer up to ``net.ipv4.tcp_wmem`` (4 MiB by default) and keeps
  accepting live messages that nobody reads; fixed, the buffer fills within a second or two, the
  transport pauses, and the live route's send timeout (``live_send_timeout_s``) drops the client;
* a connection whose application has finished while the client was not reading is reset, not
  left waiting forever to flush the bytes already queued for it.

It also offers the live route a :class:`DirectSender` (ASGI scope extension
:data:`DIRECT_SEND`): the hub writes each live state, framed once for all clients, straight to
every connection's transport, instead of waking one task per client to send it through the ASGI
layers (docs/benchmarks.md: with 50 clients that wake-up chain, not the send, was most of the
fan-out's time).

The subclass relies on parts of uvicorn that are not its public API (the attributes below), so
uvicorn is pinned to the minor versions it was tested with (pyproject.toml), and
:func:`websocket_options` checks at start-up that those parts are there: when they are not, the
server runs uvicorn's own protocol instead, with one warning, and the live route sends through
its per-task sender (slower with many clients, never broken).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import socket
import time
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

log = logging.getLogger(__name__)

#: Kernel send buffer of one websocket connection, bytes (Linux books twice this). About one
#: second of the live stream; plenty for a LAN, where the round trip is well under 10 ms.
SEND_BUFFER_BYTES = 64 * 1024
#: The ASGI scope extension under which the live route finds the connection's DirectSender.
DIRECT_SEND = "gaitrig.direct_send"


#: What :class:`LiveWebSocketProtocol` uses of uvicorn's protocol: the methods it extends and
#: the attributes it reads (set in uvicorn's ``__init__`` or handshake).
USED_METHODS = ("connection_made", "handle_connect", "run_asgi")
USED_ATTRIBUTES = ("conn", "transport", "scope", "writable", "disconnected", "close_sent")


def adapter_problem(protocol: type = WebSocketsSansIOProtocol) -> str | None:
    """Why :class:`LiveWebSocketProtocol` cannot sit on ``protocol`` (uvicorn's), or None when
    every part it uses is there."""
    missing = [name for name in USED_METHODS if not callable(getattr(protocol, name, None))]
    try:
        source = inspect.getsource(protocol)
    except (OSError, TypeError):
        source = ""
    missing += [name for name in USED_ATTRIBUTES if f"self.{name}" not in source]
    if missing:
        return f"uvicorn's websocket protocol has no {', '.join(missing)}"
    return None


@functools.cache
def _adapter_fits() -> bool:
    problem = adapter_problem()
    if problem is not None:
        log.warning("%s: the live websocket runs uvicorn's own protocol, each client sent to "
                    "by a task of its own (install the uvicorn version pyproject.toml names "
                    "for the direct sender)", problem)
    return problem is None


def websocket_options(live_compression: bool) -> dict[str, Any]:
    """uvicorn's websocket options as ``rig serve`` (and the tests' server) runs them:
    this protocol (uvicorn's own when the start-up check :func:`adapter_problem` fails),
    keepalive pings, and permessage-deflate only when asked for."""
    protocol = LiveWebSocketProtocol if _adapter_fits() else "websockets-sansio"
    return {"ws": protocol, "ws_per_message_deflate": live_compression,
            "ws_ping_interval": 5.0, "ws_ping_timeout": 10.0}


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``ws=`` (:func:`websocket_options`, which ``rig serve`` and the tests use)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = self.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][DIRECT_SEND] = DirectSender(self)

    async def run_asgi(self) -> None:
        await super().run_asgi()
        if not self.writable.is_set() and not self.disconnected:
            self.transport.abort()  # the client stopped reading: drop what is queued for it


class DirectSender:
    """Writes ready-made websocket frames to one connection, past the ASGI layers.

    A state is written only when everything written before has left for the kernel; a client
    that is behind skips states (it gets a newer one once it has caught up), so nothing queues
    up for it. :attr:`behind_since_s` says since when it has been skipping.
    """

    def __init__(self, protocol: LiveWebSocketProtocol) -> None:
        self._protocol = protocol
        #: Host monotonic time (s) since which every state was skipped; None: keeping up.
        self.behind_since_s: float | None = None

    @property
    def usable(self) -> bool:
        """Open, and no extension negotiated (a compressed connection needs its own frames)."""
        conn = self._protocol.conn
        return conn.state is State.OPEN and not conn.extensions

    def send_frame(self, frame: bytes) -> bool:
        """Write ``frame`` (a whole server-to-client websocket frame); False if skipped."""
        protocol = self._protocol
        if protocol.disconnected or protocol.close_sent or protocol.transport.is_closing():
            return False
        if protocol.transport.get_write_buffer_size():  # the last state is still waiting
            if self.behind_since_s is None:
                self.behind_since_s = time.monotonic()
            return False
        protocol.transport.write(frame)
        self.behind_since_s = None
        return True

    def abort(self) -> None:
        """Reset the connection, dropping whatever is still queued for it."""
        self._protocol.transport.abort()
