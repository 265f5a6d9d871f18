"""A websocket client that stops reading must not slow the others nor make the server buffer.

The stalled client is a raw TCP socket with a tiny receive buffer that does the websocket
handshake and then never reads again (a tablet gone to sleep, a frozen browser tab, or someone
doing it on purpose). A normal client keeps receiving next to it.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import os
import socket
import struct
import termios
import time
from typing import Any

import websockets

from gaitrig.testing.server import LiveServer, run_async

#: Most bytes the server may hold for one client that reads nothing: the transport's write
#: buffer (asyncio pauses the sender at its 64 KiB high-water mark, plus the one message that
#: crossed it) and the kernel's unsent send queue (gaitrig.web_ui.live.connection fixes its size).
#: The live stream is about 130 KB/s (2.7 KB x 50 Hz): a per-client backlog, or a send buffer left
#: to grow, passes this bound within 4 s of the 10 s measured (measured: 1.3 MB at 10 s).
MAX_PENDING_BYTES = 512 * 1024
SEND_TIMEOUT_S = 2.0


def open_stalled_client(live: LiveServer) -> socket.socket:
    """Handshake on /ws/live over a raw socket with a 4 KiB receive buffer, then read nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", live.settings.port))
    key = base64.b64encode(os.urandom(16)).decode()
    path = live.ws_url.split(str(live.settings.port), 1)[1]  # /ws/live?token=...
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{live.settings.port}\r\n"
                 f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # byte by byte: nothing past the handshake is read
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def pending_bytes(live: LiveServer, client: tuple[str, int]) -> int | None:
    """Bytes the server holds for ``client``: transport write buffer + kernel send queue.

    None once the server has closed the connection and let go of it.
    """
    for connection in list(live.server.server_state.connections):
        if tuple(getattr(connection, "client", None) or ()) != client:
            continue
        transport: Any = connection.transport  # type: ignore[union-attr]
        user_space = transport.get_write_buffer_size()
        sock = transport.get_extra_info("socket")
        kernel = 0
        if sock is not None and sock.fileno() >= 0:
            queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
            kernel = struct.unpack("i", queued)[0]
        return int(user_space) + kernel
    return None


async def receive_for(ws: Any, seconds: float, on_tick: Any = None) -> int:
    """How many messages ``ws`` receives in ``seconds``; calls ``on_tick`` every 0.25 s."""
    count, deadline, next_tick = 0, time.monotonic() + seconds, 0.0
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(ws.recv(), min(remaining, 0.25))
            count += 1
        except TimeoutError:
            pass
        if on_tick is not None and time.monotonic() >= next_tick:
            on_tick()
            next_tick = time.monotonic() + 0.25
    return count


def test_stalled_client_is_dropped_and_never_slows_the_others(server_factory: Any) -> None:
    live: LiveServer = server_factory(live_send_timeout_s=SEND_TIMEOUT_S)
    hub = live.server.config.loaded_app.app.state.hub  # type: ignore[attr-defined]
    pending: list[int] = []
    clients_seen: list[int] = []
    held_at_end: list[int | None] = []

    async def scenario() -> tuple[float, float]:
        async with websockets.connect(live.ws_url) as normal:
            before_hz = await receive_for(normal, 3.0) / 3.0
            stalled = open_stalled_client(live)
            address = stalled.getsockname()

            def sample() -> None:
                held = pending_bytes(live, address)
                if held is not None:
                    pending.append(held)
                clients_seen.append(hub.clients)

            try:
                during_hz = await receive_for(normal, 10.0, sample) / 10.0
                held_at_end.append(pending_bytes(live, address))
            finally:
                stalled.close()
            return before_hz, during_hz

    before_hz, during_hz = run_async(scenario())
    assert before_hz > 10, f"the normal client got only {before_hz:.1f} messages/s on its own"
    assert during_hz >= 0.5 * before_hz, (
        f"normal client fell from {before_hz:.1f} to {during_hz:.1f} messages/s beside a "
        "stalled one")
    assert pending, "the stalled connection was never seen on the server"
    assert max(pending) <= MAX_PENDING_BYTES, (
        f"the server held {max(pending)} bytes for a client that reads nothing")
    # Both clients were counted, then the stalled one was dropped by the send timeout.
    assert max(clients_seen) == 2
    assert clients_seen[-1] == 1, f"stalled client still served: clients {clients_seen[-8:]}"
    assert hub.dropped_clients == 1
    # ... and its connection reset, so that nothing stays queued for it.
    assert held_at_end == [None], f"the server still holds {held_at_end[0]} bytes for it"
