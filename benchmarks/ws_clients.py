"""Websocket clients for the end-to-end benchmark, run as their own process.

    python -m benchmarks.ws_clients URL CLIENTS DURATION_S

Opens ``CLIENTS`` connections to the live websocket (``websockets`` library, one asyncio task
each), and for every update a client receives records the host monotonic time (s) it arrived and
the newest insole frame sequence numbers it names (``frame_seq``). CLOCK_MONOTONIC is shared by
all processes on Linux, so these times compare directly with the virtual boards' write times.
Prints one JSON object: ``{"clients": [[[arrival_s, seq_left, seq_right, server_time_s,
update_seq], ...], ...]}`` (``server_time_s``: when the server built the update; ``update_seq``:
the update's own ``seq``, one per state the server published, so a gap is an update not received).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import websockets

INSOLES = ("insole_left", "insole_right")
#: (arrival_s, newest seq insole_left, newest seq insole_right, server_time_s, update seq);
#: -1: none yet.
Row = tuple[float, int, int, float, int]


async def one_client(url: str, stop_at_s: float, rows: list[Row]) -> None:
    # Like a browser, the client offers permessage-deflate; the server decides.
    async with websockets.connect(url, max_size=None, compression="deflate") as socket:
        while (left_s := stop_at_s - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(socket.recv(), timeout=left_s)
            except TimeoutError:
                return
            arrived_s = time.monotonic()
            message = json.loads(data)
            frame_seq = message.get("frame_seq", {})
            rows.append((arrived_s, frame_seq.get(INSOLES[0], -1), frame_seq.get(INSOLES[1], -1),
                         message.get("server_time_s", -1.0), message.get("seq", -1)))


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
