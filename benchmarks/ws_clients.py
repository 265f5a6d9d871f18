"""Websocket clients for the end-to-end benchmark, run as their own process.

    python -m benchmarks.ws_clients URL CLIENTS DURATION_S

Opens ``CLIENTS`` connections to the live websocket and for every update a client receives
records the host monotonic time (s) it arrived and the newest insole frame sequence numbers it
names (``frame_seq``). CLOCK_MONOTONIC is shared by all processes on Linux, so these times
compare directly with the virtual boards' write times.

*Arrival* is when the update's last bytes were read from the client's socket. The connections
are the ``websockets`` library's own protocol (sans-I/O: handshake, framing, pings, and
permessage-deflate offered, like a browser), but on a plain asyncio protocol that only stamps
and keeps the bytes as they are read; the websocket and JSON parsing happen afterwards, on the
same event loop. Parsing as they arrive, ten connections in one process would each wait for the
others' parsing (about 0.1 ms a message), which a screen with a process of its own never does.

Prints one JSON object: ``{"clients": [[[arrival_s, seq_left, seq_right, server_time_s,
update_seq], ...], ...]}`` (``server_time_s``: when the server built the update; ``update_seq``:
the update's own ``seq``, one per state the server published, so a gap is an update not received).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

INSOLES = ("insole_left", "insole_right")
#: (arrival_s, newest seq insole_left, newest seq insole_right, server_time_s, update seq);
#: -1: none yet.
Row = tuple[float, int, int, float, int]


class LiveClient(asyncio.Protocol):
    """One connection: stamps each read, parses when the loop is free, keeps a row per update."""

    def __init__(self, url: str, rows: list[Row]) -> None:
        self.websocket = ClientProtocol(parse_uri(url), max_size=None,
                                        extensions=[ClientPerMessageDeflateFactory()])
        self.rows = rows
        self.reads: list[tuple[float, bytes]] = []  # (read at, bytes), not parsed yet
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.websocket.send_request(self.websocket.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        if not self.reads:
            asyncio.get_running_loop().call_soon(self._parse)
        self.reads.append((time.monotonic(), data))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def _parse(self) -> None:
        reads, self.reads = self.reads, []
        for arrived_s, data in reads:
            self.websocket.receive_data(data)
            for event in self.websocket.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    self._record(arrived_s, json.loads(bytes(event.data)))
        self._flush()  # answers to pings, and the close handshake

    def _record(self, arrived_s: float, message: dict[str, object]) -> None:
        frame_seq = message.get("frame_seq") or {}
        assert isinstance(frame_seq, dict)
        server_time_s, seq = message.get("server_time_s", -1.0), message.get("seq", -1)
        assert isinstance(server_time_s, float | int) and isinstance(seq, int)
        self.rows.append((arrived_s, frame_seq.get(INSOLES[0], -1),
                          frame_seq.get(INSOLES[1], -1), float(server_time_s), seq))

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.websocket.data_to_send():
            if data:
                self.transport.write(data)
            else:  # the protocol asks for the connection to be closed
                self.transport.close()

    def close(self) -> None:
        self.websocket.send_close()
        self._flush()


async def one_client(url: str, stop_at_s: float, rows: list[Row]) -> None:
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: LiveClient(url, rows), uri.host, uri.port)
    await asyncio.sleep(max(0.0, stop_at_s - time.monotonic()))
    client.close()
    try:
        async with asyncio.timeout(2.0):
            await client.closed
    except TimeoutError:
        if client.transport is not None:
            client.transport.abort()


async def run(url: str, clients: int, duration_s: float) -> list[list[Row]]:
    stop_at_s = time.monotonic() + duration_s
    rows: list[list[Row]] = [[] for _ in range(clients)]
    await asyncio.gather(*(one_client(url, stop_at_s, r) for r in rows))
    return rows


def main(argv: list[str]) -> int:
    url, clients, duration_s = argv[0], int(argv[1]), float(argv[2])
    rows = asyncio.run(run(url, clients, duration_s))
    json.dump({"clients": rows}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
