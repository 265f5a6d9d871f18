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
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

#: Kernel send buffer of one websocket connection, bytes (Linux books twice this). About one
#: second of the live stream; plenty for a LAN, where the round trip is well under 10 ms.
SEND_BUFFER_BYTES = 64 * 1024


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass as ``ws=`` to uvicorn (``rig serve`` and the tests' server do)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = self.transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)

    async def run_asgi(self) -> None:
        await super().run_asgi()
        if not self.writable.is_set() and not self.disconnected:
            self.transport.abort()  # the client stopped reading: drop what is queued for it
